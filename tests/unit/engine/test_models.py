import pytest
import torch
from torch import nn

from normscope.engine.models import InputShape, build_model
from normscope.schemas import ExperimentSpec


def _spec(**variant) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"hidden": [20, 20], "activation": "relu", "init": "gaussian", "init_std": 0.3},
            "variants": [{"label": "plain"}, {"label": "x", **variant}],
        }
    )


@pytest.mark.parametrize(
    "variant", [{"norm": "batch"}, {"norm": "layer"}, {"norm": "batch", "placement": "after"}]
)
def test_layers_of_the_same_shape_start_identical_across_variants(variant):
    spec = _spec(**variant)
    a, b = build_model(spec, 0, InputShape(8, 3)), build_model(spec, 1, InputShape(8, 3))
    for name in a.blocks:
        assert torch.equal(a.blocks[name].linear.weight, b.blocks[name].linear.weight)


def test_bias_is_dropped_only_when_norm_comes_before_the_activation():
    before = build_model(_spec(norm="batch"), 1, InputShape(8, 3))
    after = build_model(_spec(norm="batch", placement="after"), 1, InputShape(8, 3))
    assert before.blocks["hidden1"].linear.bias is None
    assert after.blocks["hidden1"].linear.bias is not None
    assert before.blocks["output"].linear.bias is not None


def test_no_inplace_activations():
    model = build_model(_spec(norm="batch"), 1, InputShape(8, 3))
    assert not any(getattr(m, "inplace", False) for m in model.modules())


def test_bn_train_mode_output_per_channel_has_mean_beta_and_std_gamma():
    torch.manual_seed(0)
    bn = build_model(_spec(norm="batch"), 1, InputShape(8, 3)).blocks["hidden1"].norm
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
    x = torch.randn(256, 20) * 5 + 3
    out = bn.train()(x)
    torch.testing.assert_close(out.mean(0), bn.bias.detach(), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.std(0, correction=0), bn.weight.detach(), atol=1e-3, rtol=1e-3)


def test_bn_eval_mode_uses_running_statistics():
    bn = build_model(_spec(norm="batch"), 1, InputShape(8, 3)).blocks["hidden1"].norm
    with torch.no_grad():
        bn.running_mean.fill_(2.0)
        bn.running_var.fill_(4.0)
        bn.weight.fill_(3.0)
        bn.bias.fill_(1.0)
    x = torch.randn(10, 20)
    expected = (x - 2.0) / torch.sqrt(torch.tensor(4.0 + bn.eps)) * 3.0 + 1.0
    torch.testing.assert_close(bn.eval()(x), expected)


def test_cnn_builds_for_images():
    spec = ExperimentSpec.model_validate(
        {
            "model": {"kind": "cnn", "hidden": [4, 8], "activation": "relu"},
            "variants": [{"label": "b", "norm": "batch"}],
        }
    )
    model = build_model(spec, 0, InputShape(64, 10, (1, 8, 8)))
    assert isinstance(model.blocks["hidden1"].linear, nn.Conv2d)
    assert model(torch.randn(5, 64)).shape == (5, 10)
