"""Folding BatchNorm into the neighbouring linear layer for inference, and checking the folded net agrees.

In eval mode BN is an affine map per channel, y = s·x + t with s = γ/√(running_var + ε) and
t = β − running_mean·s. Before the activation it folds into the preceding layer (W' = s·W, b' = s·b + t);
after the activation it folds into the next one (W' = W·s, b' = b + W·t), which is exact for a linear next
layer and for global average pooling, but not for a padded convolution (the zero padding is not shifted
by t), nor across a max pool or a residual join (VGG, ResNet), so such a BN is kept."""

import copy

import torch
from torch import nn

from normscope.engine.models import BatchNorm, Block, ProbedNet, batchnorm_layers
from normscope.schemas import FoldResult


def _affine(bn: BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    assert bn.running_var is not None and bn.running_mean is not None
    s = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        s = s * bn.weight
    t = -bn.running_mean * s
    if bn.bias is not None:
        t = t + bn.bias
    return s, t


def _with_bias(layer: nn.Linear | nn.Conv2d) -> torch.Tensor:
    if layer.bias is None:  # BN before the activation replaced the bias; folding brings it back
        w = layer.weight
        layer.bias = nn.Parameter(torch.zeros(w.shape[0], device=w.device, dtype=w.dtype))
    return layer.bias


@torch.no_grad()
def fold_batchnorm(model: ProbedNet) -> tuple[ProbedNet, int]:
    """An eval-mode copy of the model with its BN layers folded away; also how many BN layers were kept."""
    folded = copy.deepcopy(model).eval()
    blocks: list[Block] = list(folded.layers().values())
    kept = 0
    for i, block in enumerate(blocks):
        if not isinstance(block.norm, BatchNorm):
            continue
        s, t = _affine(block.norm)
        w = block.linear.weight
        if block.placement == "before":
            shape = (-1,) + (1,) * (w.dim() - 1)
            bias = _with_bias(block.linear)
            w.mul_(s.view(shape))
            bias.copy_(bias * s + t)
        else:
            nxt = blocks[i + 1].linear
            if not folded.sequential or isinstance(nxt, nn.Conv2d):
                kept += 1  # the next conv's zero padding would not see the shift: not exact, so not folded
                continue
            bias = _with_bias(nxt)
            bias.add_(nxt.weight @ t)
            nxt.weight.mul_(s.view(1, -1))
        block.norm = None
    return folded, kept


def count_layers(model: nn.Module) -> int:
    """Layers that hold parameters or statistics: linear/conv and normalization layers."""
    kinds = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)
    return sum(isinstance(m, kinds) for m in model.modules())


@torch.no_grad()
def fold_report(index: int, label: str, model: ProbedNet, x: torch.Tensor) -> FoldResult:
    """Fold a run's model and compare it with the original in eval mode on the given inputs."""
    was_training = model.training
    model.eval()
    try:
        folded, kept = fold_batchnorm(model)
        before, after = model(x), folded(x)
    finally:
        model.train(was_training)
    return FoldResult(
        index=index,
        label=label,
        layers_before=count_layers(model),
        layers_after=count_layers(folded),
        bn_folded=len(batchnorm_layers(model)) - kept,
        bn_kept=kept,
        max_abs_diff=float((before - after).abs().max()),
        same_predictions=float((before.argmax(1) == after.argmax(1)).double().mean()),
        samples=len(x),
    )
