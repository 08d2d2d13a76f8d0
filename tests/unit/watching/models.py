"""A user's own model, written the way people write them (not from normscope.engine): residual blocks with
an in-place join, module and functional activations, BatchNorm2d and GroupNorm, a GELU stem."""

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, c: int, bn: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=not bn)
        self.bn1 = nn.BatchNorm2d(c) if bn else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=not bn)
        self.bn2 = nn.BatchNorm2d(c) if bn else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x  # in place, as torchvision's BasicBlock does
        return F.relu(out)  # functional: no module hook can see it


class UserNet(nn.Module):
    def __init__(self, bn: bool, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.gn = nn.GroupNorm(2, width)
        self.act = nn.GELU()
        self.layer1 = nn.Sequential(Block(width, bn), Block(width, bn))
        self.head = nn.Linear(width, 10)
        self.out_act = nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.gn(self.stem(x)))
        x = self.layer1(x)
        return self.out_act(self.head(x.mean((2, 3)))) * 3


def batches(n: int, seed: int = 0, size: int = 16) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(size, 3, 8, 8, generator=g), torch.randint(0, 10, (size,), generator=g))
        for _ in range(n)
    ]


def train_step(
    model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss
