"""The lesson nets: an MLP, or a stack of same-size 3x3 convs ending in a global average pool."""

import torch
from torch import nn

from normscope.engine.models.base import Block, Input, InputShape, LayerFactory, ProbedNet


class Net(ProbedNet):
    """Hidden blocks named hidden1..hiddenN plus an output block; the names are the frames' layer names."""

    sequential = True

    def __init__(self, input: Input, blocks: list[Block], conv: bool) -> None:
        super().__init__()
        self.input = input
        self.blocks = nn.ModuleDict({f"hidden{i + 1}": b for i, b in enumerate(blocks[:-1])})
        self.blocks["output"] = blocks[-1]
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input(x)
        for name, block in self.blocks.items():
            if name == "output" and self.conv:
                x = x.mean(dim=(2, 3))  # global average pool: any depth of same-size convs ends in a vector
            x = block(x)
        return x

    def layers(self) -> dict[str, Block]:
        return dict(self.blocks.items())


def build_net(hidden: list[int], conv: bool, input: Input, shape: InputShape, make: LayerFactory) -> Net:
    width_in = shape.image[0] if conv and shape.image else shape.features
    blocks = []
    for width in hidden:
        blocks.append(make.hidden(width_in, width, conv))
        width_in = width
    return Net(input, [*blocks, make.output(width_in, shape.classes)], conv)
