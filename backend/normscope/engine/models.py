"""MLP and small CNN with optional batch/layer norm before or after each activation, built so that layers of
the same shape start from identical weights in every variant of an experiment."""

import math

import torch
from torch import nn

from normscope.schemas import ExperimentSpec
from normscope.schemas.spec import Activation, Init, Norm, Placement

ACTIVATIONS: dict[Activation, type[nn.Module]] = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class Block(nn.Module):
    """One probed layer: a linear map (or 3x3 conv), then norm and activation in the chosen order."""

    def __init__(
        self,
        weight_layer: nn.Linear | nn.Conv2d,
        norm: nn.Module | None,
        act: nn.Module | None,
        placement: Placement,
    ) -> None:
        super().__init__()
        self.linear = weight_layer
        self.norm = norm
        self.act = act
        self.placement = placement

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x)
        if self.placement == "before":
            if self.norm is not None:
                z = self.norm(z)
            return self.act(z) if self.act is not None else z
        if self.act is not None:
            z = self.act(z)
        return self.norm(z) if self.norm is not None else z


class Net(nn.Module):
    """Hidden blocks named hidden1..hiddenN plus an output block; the names are the frames' layer names."""

    def __init__(self, blocks: list[Block], image_shape: tuple[int, int] | None, conv: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict({f"hidden{i + 1}": b for i, b in enumerate(blocks[:-1])})
        self.blocks["output"] = blocks[-1]
        self.image_shape = image_shape
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv:
            assert self.image_shape is not None
            x = x.view(x.shape[0], 1, *self.image_shape)
        for name, block in self.blocks.items():
            if name == "output" and self.conv:
                x = x.mean(dim=(2, 3))  # global average pool: any depth of same-size convs ends in a vector
            x = block(x)
        return x


BatchNorm = nn.modules.batchnorm._BatchNorm  # BatchNorm1d and 2d: what _norm_layer builds for "batch"


def batchnorm_layers(model: nn.Module) -> list[BatchNorm]:
    return [m for m in model.modules() if isinstance(m, BatchNorm)]


def _norm_layer(norm: Norm, width: int, conv: bool, bn_momentum: float | None) -> nn.Module | None:
    if norm == "none":
        return None
    if norm == "batch":
        momentum = 0.1 if bn_momentum is None else bn_momentum
        return nn.BatchNorm2d(width, momentum=momentum) if conv else nn.BatchNorm1d(width, momentum=momentum)
    return nn.GroupNorm(1, width) if conv else nn.LayerNorm(width)


def init_weights(layer: nn.Linear | nn.Conv2d, init: Init, std: float, seed: int) -> None:
    """Draw from a generator seeded by (experiment seed, layer index) so every variant gets the same draw."""
    gen = torch.Generator().manual_seed(seed)
    w = layer.weight
    fan_out, fan_in = w.shape[0], math.prod(w.shape[1:])
    fan_out *= math.prod(w.shape[2:])
    with torch.no_grad():
        bound = 1.0 / math.sqrt(fan_in)
        match init:
            case "default":  # PyTorch's own default: kaiming_uniform(a=sqrt(5)) is U(±1/sqrt(fan_in))
                new = torch.empty(w.shape).uniform_(-bound, bound, generator=gen)
            case "gaussian":
                new = torch.empty(w.shape).normal_(0.0, std, generator=gen)
            case "xavier":
                a = math.sqrt(6.0 / (fan_in + fan_out))
                new = torch.empty(w.shape).uniform_(-a, a, generator=gen)
            case "he":
                new = torch.empty(w.shape).normal_(0.0, math.sqrt(2.0 / fan_in), generator=gen)
        w.copy_(new)
        if layer.bias is not None:
            if init == "default":
                layer.bias.copy_(torch.empty(layer.bias.shape).uniform_(-bound, bound, generator=gen))
            else:
                layer.bias.zero_()


def build_model(
    spec: ExperimentSpec, variant: int, n_features: int, n_classes: int, image_shape: tuple[int, int] | None
) -> Net:
    v = spec.variants[variant]
    m = spec.model
    conv = m.kind == "cnn"
    init = spec.variant_init(variant)
    blocks: list[Block] = []
    width_in = 1 if conv else n_features
    for i, width in enumerate(m.hidden):
        # with a norm before the activation its shift (beta) replaces the bias, which it would cancel anyway
        bias = v.norm == "none" or v.placement == "after"
        layer: nn.Linear | nn.Conv2d = (
            nn.Conv2d(width_in, width, 3, padding=1, bias=bias)
            if conv
            else nn.Linear(width_in, width, bias=bias)
        )
        init_weights(layer, init, m.init_std, spec.seed * 1_000_003 + i)
        norm = _norm_layer(v.norm, width, conv, v.bn_momentum)
        blocks.append(Block(layer, norm, ACTIVATIONS[m.activation](), v.placement))
        width_in = width
    out = nn.Linear(width_in, n_classes)
    init_weights(out, init, m.init_std, spec.seed * 1_000_003 + len(m.hidden))
    blocks.append(Block(out, None, None, "before"))
    return Net(blocks, image_shape, conv)
