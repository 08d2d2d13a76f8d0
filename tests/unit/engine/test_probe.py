"""Oracle tests: the probe's statistics against numpy and torch on the very tensors it saw."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normscope.engine.models import InputShape, build_model
from normscope.engine.probe import QUANTILES, Packer, Probe, nice_ceil, tap_range
from normscope.engine.trainer import Trainer
from normscope.schemas import ExperimentSpec


def _spec(activation: str, norm: str, placement: str = "before", kind: str = "mlp") -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"kind": kind, "hidden": [16, 12], "activation": activation, "init": "he"},
            "optimizer": {"lr": 0.1, "momentum": 0.9},
            "variants": [{"label": "v", "norm": norm, "placement": placement}],
            "probe": {"bins": 16},
        }
    )


def _probe_one_step(spec: ExperimentSpec, n_features: int = 10, image=None):
    torch.manual_seed(1)
    model = build_model(spec, 0, InputShape(n_features, 4, image))
    probe = Probe(model, spec.model.activation, spec.probe.bins)
    seen: dict[tuple[str, str], torch.Tensor] = {}
    bn_inputs: dict[str, torch.Tensor] = {}
    handles = []
    for name, block in model.blocks.items():  # the test's own hooks: the oracle sees the same tensors
        for tap, mod in (("preact", block.linear), ("normed", block.norm), ("act", block.act)):
            if mod is not None:

                def grab(m, i, o, key=(name, tap)):
                    seen[key] = o.detach().clone()
                    if key[1] == "normed":
                        bn_inputs[key[0]] = i[0].detach().clone()

                handles.append(mod.register_forward_hook(grab))
    x = torch.randn(32, n_features) * 2
    y = torch.randint(0, 4, (32,))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with probe.attached():
        probe.arm()
        model(x)
        ranges = {
            k: tap_range(
                spec.model.activation, k[1], v, model.blocks[probe.layer_names[k[0]]].act is not None
            )
            for k, v in probe.absmax().items()
        }
        probe.set_ranges(ranges)
        probe.arm()
        out = model(x)
        F.cross_entropy(out, y).backward()
        probe.snapshot_weights()
        before = {n: b.linear.weight.detach().clone() for n, b in model.blocks.items()}
        grads = {n: b.linear.weight.grad.norm().item() for n, b in model.blocks.items()}
        opt.step()
        packed = probe.pack()
        assert packed.numel() == probe.packed_size()
        stats = probe.unpack(packed.cpu().numpy())
    for h in handles:
        h.remove()
    return model, probe, stats, seen, bn_inputs, before, grads


@pytest.mark.parametrize(
    ("activation", "norm", "placement"),
    [
        ("sigmoid", "batch", "before"),
        ("relu", "none", "before"),
        ("tanh", "batch", "after"),
        ("relu", "layer", "before"),
    ],
)
def test_tap_statistics_equal_numpy(activation, norm, placement):
    spec = _spec(activation, norm, placement)
    _, probe, stats, seen, _, _, _ = _probe_one_step(spec)
    info = {li.name: li for li in probe.layer_info()}
    assert [s.name for s in stats] == ["hidden1", "hidden2", "output"]
    for layer in stats:
        for tap, ts in layer.taps.items():
            x = seen[(layer.name, tap)].numpy().astype(np.float64).ravel()
            edges = np.asarray(info[layer.name].edges[tap])
            counts, _ = np.histogram(x, edges)
            assert ts.counts == counts.tolist(), (layer.name, tap)
            assert ts.under == int((x < edges[0]).sum())
            assert ts.over == int((x > edges[-1]).sum())
            assert sum(ts.counts) + ts.under + ts.over == x.size
            xf = seen[(layer.name, tap)].numpy().ravel()
            np.testing.assert_allclose(ts.q, np.quantile(xf, QUANTILES), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(ts.mean, xf.mean(), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(ts.std, xf.std(), rtol=1e-4, atol=1e-6)
            if tap == "act":
                sat = {"sigmoid": (xf < 0.02) | (xf > 0.98), "tanh": np.abs(xf) > 0.98, "relu": xf == 0}[
                    activation
                ]
                assert ts.saturation == pytest.approx(sat.mean())
            else:
                assert ts.saturation is None


def test_gradient_weight_and_update_norms_equal_torch():
    model, _, stats, _, _, before, grads = _probe_one_step(_spec("sigmoid", "batch"))
    for layer in stats:
        w = model.blocks[layer.name].linear.weight.detach()
        assert layer.grad_norm == pytest.approx(grads[layer.name], rel=1e-5)
        assert layer.weight_norm == pytest.approx(w.norm().item(), rel=1e-5)
        ratio = ((w - before[layer.name]).norm() / before[layer.name].norm()).item()
        assert layer.update_ratio == pytest.approx(ratio, rel=1e-4)


def test_bn_summaries_equal_numpy():
    model, _, stats, _, bn_inputs, _, _ = _probe_one_step(_spec("relu", "batch"))
    for layer in stats[:-1]:
        bn = model.blocks[layer.name].norm
        x = bn_inputs[layer.name].numpy()
        expect = {
            "batch_mean": x.mean(0),
            "batch_var": x.var(0),
            "running_mean": bn.running_mean.numpy(),
            "running_var": bn.running_var.numpy(),
            "gamma": bn.weight.detach().numpy(),
            "beta": bn.bias.detach().numpy(),
        }
        for key, vec in expect.items():
            summary = getattr(layer.bn, key)
            assert summary.mean == pytest.approx(float(vec.mean()), rel=1e-4, abs=1e-6), key
            assert summary.std == pytest.approx(float(vec.std()), rel=1e-4, abs=1e-6), key
    assert stats[-1].bn is None


def test_cnn_taps_cover_every_element():
    spec = _spec("relu", "batch", kind="cnn")
    _, _, stats, seen, _, _, _ = _probe_one_step(spec, n_features=64, image=(1, 8, 8))
    for layer in stats:
        for tap, ts in layer.taps.items():
            assert sum(ts.counts) + ts.under + ts.over == seen[(layer.name, tap)].numel()


def test_taps_without_norm_do_not_repeat_preact():
    _, probe, stats, _, _, _, _ = _probe_one_step(_spec("relu", "none"))
    assert list(stats[0].taps) == ["preact", "act"]
    assert list(stats[-1].taps) == ["preact"]
    assert probe.hook_count == 0  # left the attached() block


def test_ranges_are_readable_and_bounded_activations_use_their_own():
    assert [nice_ceil(x) for x in (0.7, 1.0, 1.3, 2.2, 3.1, 40)] == [1.0, 1.0, 2.0, 2.5, 5.0, 50.0]
    assert tap_range("sigmoid", "act", 123.0, True) == (0.0, 1.0)
    assert tap_range("tanh", "act", 123.0, True) == (-1.0, 1.0)
    assert tap_range("relu", "act", 2.0, True) == (0.0, 5.0)
    assert tap_range("relu", "preact", 2.0, True) == (-5.0, 5.0)
    assert tap_range("sigmoid", "preact", 0.1, True) == (-5.0, 5.0)  # a small init does not fix a tiny range
    assert tap_range("sigmoid", "normed", 8.0, True) == (-20.0, 20.0)


LARGE = (1024, 256)  # 262,144 elements a tap: past K, so the quantiles come from the fixed subsample


def _identity_layer(activation: str, width: int):
    """A layer that passes its input through unchanged (identity weights, no bias), then the activation:
    the preact tap is exactly x, the act tap exactly the activation of x."""
    spec = ExperimentSpec.model_validate(
        {
            "model": {"hidden": [width], "activation": activation},
            "variants": [{"label": "plain"}],
            "probe": {"bins": 64},
        }
    )
    model = build_model(spec, 0, InputShape(width, 4))
    with torch.no_grad():
        model.blocks["hidden1"].linear.weight.copy_(torch.eye(width))
        model.blocks["hidden1"].linear.bias.zero_()
    return model


def _probe_identity_layer(activation: str, x: torch.Tensor):
    model = _identity_layer(activation, x.shape[1])
    probe = Probe(model, activation, 64, seed=3)
    with probe.attached():
        probe.arm()
        model(x)
        absmax = probe.absmax()
        probe.set_ranges({k: tap_range(activation, k[1], v, k[0] == 0) for k, v in absmax.items()})
        probe.arm()
        model(x)
        stats = probe.unpack(probe.pack().numpy())
    return stats[0].taps, probe.layer_info()[0].edges


def _rank_error(values: np.ndarray, q: float, reported: float) -> float:
    """How far the reported value's rank in the whole tap is from q (ties count in its favour)."""
    below, at_or_below = (values < reported).mean(), (values <= reported).mean()
    return max(0.0, below - q, q - at_or_below)


@pytest.mark.parametrize(
    ("activation", "tap", "draw"),
    [
        ("tanh", "preact", lambda g: torch.randn(LARGE, generator=g)),
        ("tanh", "preact", lambda g: torch.distributions.StudentT(1.5).sample(LARGE)),  # heavy tails (seeded)
        ("relu", "act", lambda g: torch.randn(LARGE, generator=g) + 0.3),  # a point mass at 0
        ("sigmoid", "act", lambda g: 8 * torch.randn(LARGE, generator=g)),  # piled up near 0 and 1
        # every value exactly on an edge: range ±20 (from the largest, 10), edges every 0.625
        ("tanh", "preact", lambda g: 0.625 * torch.randint(-16, 17, LARGE, generator=g).float()),
    ],
)
def test_large_taps_count_exactly_and_their_quantiles_are_within_the_stated_rank_error(activation, tap, draw):
    torch.manual_seed(0)
    x = draw(torch.Generator().manual_seed(1))
    taps, edges = _probe_identity_layer(activation, x)
    seen = {
        "preact": x,
        "act": {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}[activation](x),
    }
    values = seen[tap].numpy().ravel().astype(np.float64)
    ts = taps[tap]
    assert ts.q[0] == values.min() and ts.q[4] == pytest.approx(values.max(), rel=1e-6)  # exact
    for q, reported in zip(QUANTILES[1:4], ts.q[1:4], strict=True):
        assert _rank_error(values, q, reported) <= 0.01, (q, reported)
    counts, _ = np.histogram(values, np.asarray(edges[tap]))  # binned by arithmetic, as numpy counts
    assert ts.counts == counts.tolist()
    assert ts.under == int((values < edges[tap][0]).sum()) and ts.over == int((values > edges[tap][-1]).sum())
    assert ts.mean == pytest.approx(values.mean(), rel=1e-5, abs=1e-6)
    assert ts.std == pytest.approx(values.std(), rel=1e-5)


def test_small_taps_sorted_in_float32_count_values_on_the_edges_as_numpy_does():
    """Taps of at most K elements are searched in float32 against keys standing for numpy's float64 edges."""
    x = 0.625 * torch.randint(-16, 17, (64, 16), generator=torch.Generator().manual_seed(5)).float()
    x[0, :2] = torch.tensor([10.0, -10.0])  # the largest magnitude, 10: range ±20, edges every 0.625
    taps, edges = _probe_identity_layer("tanh", x)
    values = x.numpy().ravel().astype(np.float64)
    ts = taps["preact"]
    counts, _ = np.histogram(values, np.asarray(edges["preact"]))
    assert ts.counts == counts.tolist() and ts.under == 0 and ts.over == 0
    np.testing.assert_allclose(ts.q, np.quantile(values, QUANTILES), rtol=1e-12)  # exact: sorted
    assert ts.mean == pytest.approx(values.mean(), rel=1e-12, abs=1e-12)


def test_the_grad_tap_is_the_loss_gradient_at_each_preactivation():
    spec = _spec("sigmoid", "batch")
    model = build_model(spec, 0, InputShape(10, 4))
    probe = Probe(model, "sigmoid", 32, grad=True)
    assert all("grad" in taps for taps in probe.layer_taps)
    preacts: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def fn(module, inputs, output):
            output.retain_grad()
            preacts[name] = output

        return fn

    handles = [b.linear.register_forward_hook(keep(n)) for n, b in model.blocks.items()]
    x, y = torch.randn(32, 10, generator=torch.Generator().manual_seed(2)), torch.arange(32) % 4
    with probe.attached():
        probe.arm()
        F.cross_entropy(model(x), y).backward()
        probe.set_ranges({k: tap_range("sigmoid", k[1], v, k[0] < 2) for k, v in probe.absmax().items()})
        model.zero_grad(set_to_none=True)
        probe.arm()
        F.cross_entropy(model(x), y).backward()
        stats = probe.unpack(probe.pack().numpy())
    for h in handles:
        h.remove()
    info = {li.name: li for li in probe.layer_info()}
    for layer in stats:
        g = preacts[layer.name].grad.numpy().astype(np.float64).ravel()
        ts = layer.taps["grad"]
        counts, _ = np.histogram(g, np.asarray(info[layer.name].edges["grad"]))
        assert ts.counts == counts.tolist() and sum(ts.counts) + ts.under + ts.over == g.size
        assert ts.norm == pytest.approx(np.linalg.norm(g), rel=1e-5)
        assert ts.mean == pytest.approx(g.mean(), rel=1e-4, abs=1e-9)
        assert ts.saturation is None and layer.taps["preact"].norm is None
    assert info["hidden1"].edges["grad"][-1] < 1  # on the gradient's own scale, not the ±5 of activations


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_the_gpu_binning_counts_as_the_cpu_numpy_binning(activation):
    """The arithmetic binning that CUDA runs, run here on the CPU: the same numbers as numpy's histogram,
    with values on edges (the first draw) and saturated ones (the second)."""
    g = torch.Generator().manual_seed(4)
    x = torch.cat(
        [0.625 * torch.randint(-16, 17, (512, 256), generator=g).float(), 8 * torch.randn(512, 256)]
    )
    model = _identity_layer(activation, 256)
    probe = Probe(model, activation, 64)
    with probe.attached():
        probe.arm()
        model(x)
        probe.set_ranges({k: tap_range(activation, k[1], v, k[0] == 0) for k, v in probe.absmax().items()})
        probe.arm()
        model(x)
        probe.pack()  # plans the groups
        group = next(grp for grp in probe._groups if grp.sample is not None)  # 1024 x 256: past K
        rows = torch.stack([probe._captured[(r.layer, r.tap)].reshape(-1) for r in group.rows]).float()
        counts, moments, ends = probe._binned_stats(group, rows)
        (numpy_packed,) = probe._binned_stats_numpy(group, rows)
    r, bins = len(group.rows), probe.bins
    counts = counts.reshape(r, bins + 2).clone()
    top, sums, sumsq, sat = moments.reshape(4, r)
    counts[:, bins] += top  # numpy's last bin holds the top edge; the arithmetic path counts it apart
    counts[:, bins + 1] -= top
    expected = numpy_packed.numpy()
    n_counts = r * (bins + 2)
    np.testing.assert_array_equal(counts.numpy().ravel(), expected[:n_counts])
    _, e_sums, e_sumsq, e_sat = expected[n_counts : n_counts + 4 * r].reshape(4, r)
    np.testing.assert_array_equal(sat.numpy(), e_sat)
    np.testing.assert_allclose(sums.numpy(), e_sums, rtol=1e-5, atol=1e-2)
    np.testing.assert_allclose(sumsq.numpy(), e_sumsq, rtol=1e-5)
    np.testing.assert_array_equal(ends.numpy().ravel(), expected[n_counts + 4 * r :])


@pytest.mark.parametrize("exact_up_to", [65_536, 1024])  # all sorted; the 64 x 24 taps binned
def test_runs_packed_together_get_exactly_what_each_packs_alone(exact_up_to):
    spec = ExperimentSpec.model_validate(
        {
            "model": {"hidden": [24, 24], "activation": "relu"},
            "batch_size": 64,
            "variants": [
                {"label": "plain"},
                {"label": "BN", "norm": "batch"},
                {"label": "LN", "norm": "layer"},
            ],
            "probe": {"bins": 16, "grad": True, "exact_quantiles_up_to": exact_up_to},
        }
    )
    t = Trainer(spec)
    batch = next(iter(t.samplers.values())).next()
    takens = []
    for r in t.runs:
        t._train_step(r, batch, sampled=True)
        takens.append(r.probe.take())
    together = Packer([r.probe for r in t.runs]).pack(takens)
    alone = [Packer([r.probe]).pack([taken])[0] for r, taken in zip(t.runs, takens, strict=True)]
    assert len({len(r.probe._groups) for r in t.runs}) == 1  # the same sizes: one joint group each
    for a, b in zip(together, alone, strict=True):
        assert torch.equal(a, b)
    normed = t.runs[1].probe.unpack(together[1].numpy())[0].taps["normed"]
    assert sum(normed.counts) + normed.under + normed.over == 64 * 24
