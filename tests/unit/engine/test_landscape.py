import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normscope.engine.landscape import LandscapeProbe
from normscope.engine.trainer import Trainer
from normscope.schemas import ExperimentSpec, Frame


def _spec(**probe) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"hidden": [16, 12, 8], "activation": "tanh"},
            "optimizer": {"lr": 0.2, "momentum": 0.9},
            "batch_size": 32,
            "steps": 40,
            "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
            "probe": {"every": 5, "bins": 16, "eval_every": 2, **probe},
        }
    )


def _frames(spec: ExperimentSpec) -> list[Frame]:
    frames: list[Frame] = []
    Trainer(spec, on_frame=frames.append).run()
    return frames


def _without_probes(f: Frame) -> dict:
    return f.model_dump(exclude={"sent_at": True, "elapsed": True, "runs": {"__all__": {"landscape"}}})


def test_the_probe_leaves_training_exactly_as_it_was():
    plain = _frames(_spec())
    probed = _frames(_spec(landscape_every=1))
    assert all(r.landscape is not None for f in probed for r in f.runs)
    assert [_without_probes(f) for f in probed] == [_without_probes(f) for f in plain]


def test_it_runs_on_its_own_cadence_only():
    frames = _frames(_spec(landscape_every=3))
    assert [f.runs[0].landscape is not None for f in frames] == [(i + 1) % 3 == 0 for i in range(len(frames))]


def _loss_and_grads(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, list]:
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss.item(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("variant", [0, 1])
def test_figures_equal_an_independent_computation_on_copies(variant: int):
    spec = _spec(landscape_every=1, landscape_steps=[0.5, 2.0])
    trainer = Trainer(spec)
    run = trainer.runs[variant]
    model = run.model
    idx = next(iter(trainer.samplers.values())).next()
    x, y = run.data[0][idx], run.data[1][idx]
    before = copy.deepcopy(model)
    with run.probe.attached():
        trainer._train_step(run, idx, sampled=True, landscape=True)
    after = copy.deepcopy(model)
    got = run.landscape.unpack(run.landscape.pack().numpy())

    loss0, g = _loss_and_grads(copy.deepcopy(before), x, y)
    assert got.loss == pytest.approx(loss0, rel=1e-6)
    assert got.grad_norm == pytest.approx(torch.cat([t.flatten() for t in g]).norm().item(), rel=1e-5)
    assert got.etas == [0.1, 0.4]
    ratios = []
    for eta, loss_at, change in zip(got.etas, got.loss_at, got.grad_change, strict=True):
        moved = copy.deepcopy(before)
        with torch.no_grad():
            for p, d in zip(moved.parameters(), g, strict=True):
                p -= eta * d
        loss_eta, g_eta = _loss_and_grads(moved, x, y)
        diff = torch.cat([(a - b).flatten() for a, b in zip(g_eta, g, strict=True)]).norm().item()
        assert loss_at == pytest.approx(loss_eta, rel=1e-5)
        assert change == pytest.approx(diff, rel=1e-4, abs=1e-7)
        ratios.append(diff / (eta * got.grad_norm))
    assert got.beta == pytest.approx(max(ratios), rel=1e-4)

    blocks_after = list(after.blocks.values())
    assert got.shift[0] is None
    for i in range(1, len(blocks_after)):
        mixed = copy.deepcopy(before)  # the layers below i take their step's parameters, nothing else
        for block, stepped in list(zip(mixed.blocks.values(), blocks_after, strict=True))[:i]:
            with torch.no_grad():
                for p, q in zip(block.parameters(), stepped.parameters(), strict=True):
                    p.copy_(q)
        _, g_mixed = _loss_and_grads(mixed, x, y)
        w = list(mixed.blocks.values())[i].linear.weight
        k = [id(p) for p in mixed.parameters()].index(id(w))
        g_shift, g_i = g_mixed[k], g[k]
        assert got.shift[i].l2 == pytest.approx((g_i - g_shift).norm().item(), rel=1e-4, abs=1e-7)
        cos = F.cosine_similarity(g_i.flatten(), g_shift.flatten(), dim=0).item()
        assert got.shift[i].cos == pytest.approx(cos, abs=1e-5)

    for p, q in zip(model.parameters(), after.parameters(), strict=True):
        assert torch.equal(p, q)  # weights are w′ again, exactly


def test_probe_restores_weights_and_running_statistics():
    trainer = Trainer(_spec(landscape_every=1))
    run = trainer.runs[1]
    idx = next(iter(trainer.samplers.values())).next()
    x, y = run.data[0][idx], run.data[1][idx]
    loss = F.cross_entropy(run.model(x), y)
    loss.backward()
    state = copy.deepcopy(run.model.state_dict())
    grads = [p.grad.clone() for p in run.model.parameters()]
    probe = LandscapeProbe(run.model, 0.2, [1.0, 4.0])
    probe.before_step(x, y, loss)
    after = run.model.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert all(torch.equal(a, p.grad) for a, p in zip(grads, run.model.parameters(), strict=True))
    assert probe.pending and probe.packed_size() == 2 + 2 * 2 + 2 * 3


def test_a_diverged_run_reports_nulls_not_nan():
    spec = ExperimentSpec.model_validate(
        {**_spec(landscape_every=1).model_dump(), "model": {"hidden": [16, 12, 8], "activation": "relu"}}
    )
    spec.optimizer.lr = 1000.0  # the spec's upper bound: ReLU nets blow up within a few steps
    frames = _frames(spec)
    assert "diverged" in {r.status for r in frames[-1].runs}
    values = [r.landscape for f in frames for r in f.runs if r.landscape is not None]
    figures = [x for v in values for x in [v.loss, v.grad_norm, v.beta, *v.loss_at, *v.grad_change]]
    assert None in figures  # the probe saw the blow-up ...
    assert all(x is None or np.isfinite(x) for x in figures)  # ... and reported it as null, never NaN
