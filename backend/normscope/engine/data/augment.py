"""CIFAR's standard augmentation for a whole batch on the device: a random 32x32 crop of the image padded by
4 zero pixels, and a horizontal flip half the time. Parameters come drawn per epoch (see BatchSampler)."""

import torch
import torch.nn.functional as F

PAD = 4


def draw_crops(n: int, gen: torch.Generator) -> torch.Tensor:
    """(n, 3): row shift and column shift in [0, 2·PAD], and flip in {0, 1}."""
    shifts = torch.randint(0, 2 * PAD + 1, (n, 2), generator=gen)
    flips = torch.randint(0, 2, (n, 1), generator=gen)
    return torch.cat([shifts, flips], dim=1)


def crop_flip(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """x (B, C, H, W) of any dtype, params (B, 3) on x's device: one gather for the whole batch, no loop."""
    b, _, h, w = x.shape
    padded = F.pad(x, (PAD, PAD, PAD, PAD))
    rows = params[:, 0:1] + torch.arange(h, device=x.device)
    cols = params[:, 1:2] + torch.arange(w, device=x.device)
    cols = torch.where(params[:, 2:3].bool(), cols.flip(1), cols)  # a flip reads the window right to left
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C): the indexed dims come first
    return out.permute(0, 3, 1, 2)
