"""What every model is made of: probed layers (Block), the input stage, norms, and the shared init."""

import math
from dataclasses import dataclass

import torch
from torch import nn

from normscope.schemas.spec import Activation, Init, Norm, Placement

ACTIVATIONS: dict[Activation, type[nn.Module]] = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
BatchNorm = nn.modules.batchnorm._BatchNorm  # BatchNorm1d and 2d: what norm_layer builds for "batch"
WeightLayer = nn.Linear | nn.Conv2d


@dataclass(frozen=True)
class InputShape:
    """What a model needs to know of its data: sizes, and for images the pixel scaling it does itself."""

    features: int
    classes: int
    image: tuple[int, int, int] | None = None  # (channels, height, width)
    pixel_mean: tuple[float, ...] | None = None  # per channel, in 0..255: uint8 pixels are scaled inside
    pixel_std: tuple[float, ...] | None = None


class Input(nn.Module):
    """The model's first stage: uint8 pixels to normalized floats on the device, or features to the layout
    the first layer takes, so the data stays uint8 in memory and every forward (train, eval, fold) agrees."""

    def __init__(self, shape: InputShape, flatten: bool) -> None:
        super().__init__()
        self.image, self.flatten = shape.image, flatten
        self.channels_last = False
        mean = torch.tensor(shape.pixel_mean or (0.0,), dtype=torch.float32)
        std = torch.tensor(shape.pixel_std or (1.0,), dtype=torch.float32)
        self.register_buffer("mean", mean.view(1, -1, 1, 1))
        self.register_buffer("std", std.view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = (x.float() - self.mean) / self.std
        elif self.image is not None and not self.flatten:
            x = x.view(x.shape[0], *self.image)
        if self.flatten:
            return x.flatten(1)
        if self.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x


class Block(nn.Module):
    """One probed layer: a linear map or conv, then norm and activation in the chosen order. A residual, when
    given, joins just before the activation (after the norm when it comes first), as in a ResNet block."""

    def __init__(
        self, linear: WeightLayer, norm: nn.Module | None, act: nn.Module | None, placement: Placement
    ):
        super().__init__()
        self.linear = linear
        self.norm = norm
        self.act = act
        self.placement = placement

    def forward(
        self, x: torch.Tensor, residual: torch.Tensor | None = None, scale: torch.Tensor | None = None
    ) -> torch.Tensor:
        z = self.linear(x)
        if self.placement == "before" and self.norm is not None:
            z = self.norm(z)
        if residual is not None:
            z = residual + (z if scale is None else scale * z)
        if self.act is not None:
            z = self.act(z)
        if self.placement == "after" and self.norm is not None:
            z = self.norm(z)
        return z


class ProbedNet(nn.Module):
    """A model whose probed layers are listed by name, in forward order: the frames' layer names."""

    # a BN after the activation folds into the next layer only when that layer alone consumes its output
    sequential = False
    input: Input

    def layers(self) -> dict[str, Block]:
        raise NotImplementedError


def batchnorm_layers(model: nn.Module) -> list[BatchNorm]:
    return [m for m in model.modules() if isinstance(m, BatchNorm)]


def norm_layer(norm: Norm, width: int, conv: bool, bn_momentum: float | None) -> nn.Module | None:
    if norm == "none":
        return None
    if norm == "batch":
        momentum = 0.1 if bn_momentum is None else bn_momentum
        return nn.BatchNorm2d(width, momentum=momentum) if conv else nn.BatchNorm1d(width, momentum=momentum)
    return nn.GroupNorm(1, width) if conv else nn.LayerNorm(width)


def init_weights(layer: WeightLayer, init: Init, std: float, seed: int) -> None:
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


class LayerFactory:
    """Builds the probed layers of one variant in order, so layer i is seeded the same in every variant."""

    def __init__(
        self,
        norm: Norm,
        placement: Placement,
        activation: Activation,
        init: Init,
        init_std: float,
        seed: int,
        bn_momentum: float | None,
    ) -> None:
        self.norm, self.placement, self.activation = norm, placement, activation
        self.init, self.init_std, self.seed, self.bn_momentum = init, init_std, seed, bn_momentum
        self.count = 0

    def _seeded(self, layer: WeightLayer) -> WeightLayer:
        init_weights(layer, self.init, self.init_std, self.seed * 1_000_003 + self.count)
        self.count += 1
        return layer

    def hidden(self, width_in: int, width: int, conv: bool, stride: int = 1) -> Block:
        # with a norm before the activation its shift (beta) replaces the bias, which it would cancel anyway
        bias = self.norm == "none" or self.placement == "after"
        layer: WeightLayer = (
            nn.Conv2d(width_in, width, 3, stride=stride, padding=1, bias=bias)
            if conv
            else nn.Linear(width_in, width, bias=bias)
        )
        norm = norm_layer(self.norm, width, conv, self.bn_momentum)
        return Block(self._seeded(layer), norm, ACTIVATIONS[self.activation](), self.placement)

    def output(self, width_in: int, classes: int) -> Block:
        return Block(self._seeded(nn.Linear(width_in, classes)), None, None, "before")
