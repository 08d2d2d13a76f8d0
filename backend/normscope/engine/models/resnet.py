"""He et al. 2016's CIFAR ResNets (depth 6n+2): a stem conv, three stages of n basic blocks at widths w, 2w,
4w with the parameter-free shortcut of the paper's CIFAR runs (subsample, zero-pad the new channels)."""

import torch
import torch.nn.functional as F
from torch import nn

from normscope.engine.models.base import Block, Input, InputShape, LayerFactory, ProbedNet
from normscope.schemas.architectures import RESNET_WIDTH_FACTORS, resnet_blocks


class BasicBlock(nn.Module):
    """conv1 → norm → act, conv2 → norm, plus the shortcut, then act: two probed layers. With SkipInit the
    branch is scaled by a learnable scalar that starts at 0, so the block starts as the identity."""

    def __init__(self, conv1: Block, conv2: Block, stride: int, extra_channels: int, skip_init: bool) -> None:
        super().__init__()
        self.conv1, self.conv2 = conv1, conv2
        self.stride, self.extra_channels = stride, extra_channels
        self.scale = nn.Parameter(torch.zeros(())) if skip_init else None

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.extra_channels:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x), residual=self.shortcut(x), scale=self.scale)


class ResNet(ProbedNet):
    def __init__(self, input: Input, stem: Block, stages: list[list[BasicBlock]], head: Block) -> None:
        super().__init__()
        self.input = input
        self.stem = stem
        self.stages = nn.ModuleList(nn.ModuleList(blocks) for blocks in stages)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(self.input(x))
        for stage in self.stages:
            for block in stage:
                x = block(x)
        return self.head(x.mean(dim=(2, 3)))

    def layers(self) -> dict[str, Block]:
        named = {"stem": self.stem}
        for s, stage in enumerate(self.stages):
            for b, block in enumerate(stage):
                named[f"stage{s + 1}.block{b + 1}.conv1"] = block.conv1
                named[f"stage{s + 1}.block{b + 1}.conv2"] = block.conv2
        named["output"] = self.head
        return named


def build_resnet(
    depth: int, width: int, input: Input, shape: InputShape, make: LayerFactory, skip_init: bool
) -> ResNet:
    assert shape.image is not None
    stem = make.hidden(shape.image[0], width, conv=True)
    c_in = width
    stages = []
    for s, factor in enumerate(RESNET_WIDTH_FACTORS):
        c = width * factor
        blocks = []
        for b in range(resnet_blocks(depth)):
            stride = 2 if s > 0 and b == 0 else 1
            conv1 = make.hidden(c_in, c, conv=True, stride=stride)
            conv2 = make.hidden(c, c, conv=True)
            blocks.append(BasicBlock(conv1, conv2, stride, c - c_in, skip_init))
            c_in = c
        stages.append(blocks)
    return ResNet(input, stem, stages, make.output(c_in, shape.classes))
