import pytest
import torch
from torch import nn

from normscope.engine.data import load_dataset
from normscope.engine.fold import count_layers, fold_batchnorm, fold_report
from normscope.engine.models import batchnorm_layers, build_model
from normscope.engine.trainer import Trainer
from normscope.schemas import ExperimentSpec


def trained_model(kind: str, placement: str) -> tuple[nn.Module, torch.Tensor]:
    """A BN model after a few SGD steps, so γ, β and the running statistics are no longer their defaults."""
    spec = ExperimentSpec.model_validate(
        {
            "model": {"kind": kind, "hidden": [8, 8] if kind == "cnn" else [32, 16], "activation": "tanh"},
            "variants": [{"label": "bn", "norm": "batch", "placement": placement}],
        }
    )
    data = load_dataset(spec.dataset, spec.seed)
    x, y, xv, _ = data.tensors(True, torch.device("cpu"))
    torch.manual_seed(0)
    model = build_model(spec, 0, data.input_shape(True))
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    for s in range(0, 600, 60):
        loss = nn.functional.cross_entropy(model(x[s : s + 60]), y[s : s + 60])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, xv


@pytest.mark.parametrize(
    ("kind", "placement", "kept"),
    [("mlp", "before", 0), ("mlp", "after", 0), ("cnn", "before", 0), ("cnn", "after", 1)],
)
def test_folded_net_computes_what_the_trained_net_computes_in_eval_mode(kind: str, placement: str, kept: int):
    model, xv = trained_model(kind, placement)
    model.train()
    folded, n_kept = fold_batchnorm(model)
    assert n_kept == kept  # after the activation and before a padded conv, folding is not exact
    with torch.no_grad():
        expected = model.eval()(xv)
        got = folded(xv)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert len(batchnorm_layers(folded)) == kept
    assert count_layers(folded) == count_layers(model) - (2 - kept)


def test_the_report_leaves_the_trained_model_as_it_was():
    model, xv = trained_model("mlp", "before")
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    r = fold_report(1, "BN", model, xv)
    assert model.training
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert (r.index, r.label, r.bn_folded, r.bn_kept, r.samples) == (1, "BN", 2, 0, len(xv))
    assert r.layers_before == 5 and r.layers_after == 3
    assert r.max_abs_diff < 1e-4 and r.same_predictions == 1.0


@pytest.mark.parametrize(("kind", "depth"), [("vgg", 11), ("resnet", 20)])
@pytest.mark.parametrize("placement", ["before", "after"])
def test_vgg_and_resnet_fold_exactly_where_folding_is_exact(kind: str, depth: int, placement: str):
    """Before the activation every BN folds into its conv; after it, a max pool or a residual join sits
    between the BN and the next layer, so each is kept and the outputs are still the same."""
    spec = ExperimentSpec.model_validate(
        {
            "dataset": {"name": "shapes", "n_samples": 300},
            "model": {"kind": kind, "depth": depth, "width": 4, "activation": "relu", "init": "he"},
            "optimizer": {"lr": 0.05, "momentum": 0.9},
            "batch_size": 32,
            "steps": 15,
            "variants": [{"label": "BN", "norm": "batch", "placement": placement}],
            "probe": {"every": 15, "eval_every": 100},
        }
    )
    trainer = Trainer(spec, "cpu")
    trainer.run()
    model, xv = trainer.runs[0].model, trainer.runs[0].data[2]
    n_bn = len(batchnorm_layers(model))
    folded, kept = fold_batchnorm(model)
    assert kept == (0 if placement == "before" else n_bn)
    with torch.no_grad():
        torch.testing.assert_close(folded(xv), model.eval()(xv), atol=1e-4, rtol=1e-4)
