"""VGG for 32x32 and 28x28 images: stages of 3x3 convs, each closed by a 2x2 max pool, then a linear head."""

import torch
from torch import nn

from normscope.engine.models.base import Block, Input, InputShape, LayerFactory, ProbedNet
from normscope.schemas.architectures import vgg_widths


class VGG(ProbedNet):
    def __init__(self, input: Input, stages: list[list[Block]], head: Block) -> None:
        super().__init__()
        self.input = input
        self.stages = nn.ModuleList(nn.ModuleList(blocks) for blocks in stages)
        # ceil_mode: 28 px halves to 14, 7, 4, 2, 1 like 32 px does to 16, 8, 4, 2, 1
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input(x)
        for stage in self.stages:
            for block in stage:
                x = block(x)
            x = self.pool(x)
        return self.head(x.mean(dim=(2, 3)))  # 1x1 after five pools; the mean keeps other sizes valid

    def layers(self) -> dict[str, Block]:
        named = {
            f"stage{s + 1}.conv{j + 1}": block
            for s, stage in enumerate(self.stages)
            for j, block in enumerate(stage)
        }
        return {**named, "output": self.head}


def build_vgg(depth: int, width: int, input: Input, shape: InputShape, make: LayerFactory) -> VGG:
    assert shape.image is not None
    c_in = shape.image[0]
    stages = []
    for widths in vgg_widths(depth, width):
        blocks = []
        for c in widths:
            blocks.append(make.hidden(c_in, c, conv=True))
            c_in = c
        stages.append(blocks)
    return VGG(input, stages, make.output(c_in, shape.classes))
