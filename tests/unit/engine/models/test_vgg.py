import pytest
import torch
from torch import nn

from normscope.engine.models import VGG, build_model
from normscope.schemas.architectures import VGG_STAGES
from tests.unit.engine.models.conftest import SHAPES


@pytest.mark.parametrize("depth", sorted(VGG_STAGES))
@pytest.mark.parametrize("channels", [1, 3])
def test_vgg_builds_at_every_depth_for_one_and_three_channels(spec_for, depth, channels):
    shape = SHAPES[channels]
    spec = spec_for("vgg", depth, dataset="mnist" if channels == 1 else "cifar10")
    model = build_model(spec, 1, shape)
    assert isinstance(model, VGG)
    names = list(model.layers())
    assert len(names) == depth - 2  # convs; VGG's three FC layers are one linear head here
    assert names[0] == "stage1.conv1" and names[-1] == "output"
    assert len({n.split(".")[0] for n in names[:-1]}) == 5
    x = torch.randint(0, 256, (4, *shape.image), dtype=torch.uint8)
    assert model(x).shape == (4, 10)


def test_same_init_across_variants_and_no_bias_before_bn(spec_for):
    spec = spec_for("vgg", 11)
    plain, bn, ln, after = (build_model(spec, i, SHAPES[3]) for i in range(4))
    for name, layer in plain.layers().items():
        for other in (bn, ln, after):
            assert torch.equal(layer.linear.weight, other.layers()[name].linear.weight), name
    for name, layer in bn.layers().items():
        if name != "output":
            assert layer.linear.bias is None and isinstance(layer.norm, nn.BatchNorm2d)
            assert after.layers()[name].linear.bias is not None  # BN after the activation: the bias stays
            assert isinstance(ln.layers()[name].norm, nn.GroupNorm) and ln.layers()[name].norm.num_groups == 1
    assert all(layer.linear.bias is not None for layer in plain.layers().values())


def test_width_doubles_per_stage(spec_for):
    model = build_model(spec_for("vgg", 16, width=8), 0, SHAPES[3])
    widths = [layer.linear.out_channels for name, layer in model.layers().items() if name != "output"]
    assert widths == [8, 8, 16, 16, 32, 32, 32, 64, 64, 64, 64, 64, 64]
