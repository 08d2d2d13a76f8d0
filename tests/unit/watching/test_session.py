"""normscope.watch on a user's model, offline (out=): layers by module path, statistics against numpy on the
very tensors the forward made, controls of the user's loop, and the file `normscope import` reads."""

import json
import threading
import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import normscope
from normscope.schemas import ControlMessage
from tests.unit.watching.models import UserNet, batches, train_step


def run_watched(tmp_path, steps=20, every=5, **kw):
    torch.manual_seed(0)
    models = {"BN": UserNet(bn=True), "plain": UserNet(bn=False)}
    opts = {k: torch.optim.SGD(m.parameters(), lr=0.05) for k, m in models.items()}
    out = tmp_path / "frames.jsonl"
    with normscope.watch(models, out=out, every=every, steps=steps, **kw) as session:
        for x, y in batches(steps):
            session.step(loss={k: train_step(m, opts[k], x, y) for k, m in models.items()})
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return session, models, lines


def test_layers_are_named_by_module_path_with_the_taps_hooks_can_see(tmp_path):
    session, _, lines = run_watched(tmp_path)
    assert [line["type"] for line in lines[:2]] == ["experiment", "layers"]
    layers = {li["name"]: li["taps"] for li in lines[1]["layers"]}
    assert layers == {
        "stem": ["preact", "normed", "act"],  # GroupNorm, then the GELU module
        "layer1.0.conv1": ["preact", "normed", "act"],  # BN, then ReLU(inplace=True)
        "layer1.0.conv2": ["preact", "normed"],  # the join and F.relu come after: no act tap
        "layer1.1.conv1": ["preact", "normed", "act"],
        "layer1.1.conv2": ["preact", "normed"],
        "head": ["preact", "act"],  # Tanh
    }
    spec = lines[0]["spec"]
    assert [(v["label"], v["norm"]) for v in spec["variants"]] == [("BN", "batch"), ("plain", "layer")]
    assert any("layer1.0.conv2: no act tap" in line for line in spec["external"]["untapped"])
    frames = [line for line in lines if line["type"] == "frame"]
    assert [f["step"] for f in frames] == [5, 10, 15, 20]
    assert [f["prev_step"] for f in frames] == [0, 5, 10, 15]
    assert all(len(r["loss"]) == 5 and r["status"] == "running" for f in frames for r in f["runs"])
    # the plain net's Identity is no norm: its layers have no normed tap, the GroupNorm stem's does
    plain = {ls["name"]: set(ls["taps"]) for ls in frames[-1]["runs"][1]["layers"]}
    assert plain["layer1.0.conv1"] == {"preact", "act"} and plain["stem"] == {"preact", "normed", "act"}
    assert session.dropped == 0


def test_statistics_equal_numpy_on_the_tensors_the_forward_made(tmp_path):
    """The oracle's own hooks (cloning, since ReLU and the join work in place) see the same forward."""
    torch.manual_seed(0)
    model = UserNet(bn=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen: dict[str, np.ndarray] = {}
    modules = dict(model.named_modules())
    taps = {
        ("layer1.0.conv1", "preact"): "layer1.0.conv1",
        ("layer1.0.conv1", "normed"): "layer1.0.bn1",
        ("layer1.0.conv1", "act"): "layer1.0.relu",
        ("layer1.0.conv2", "normed"): "layer1.0.bn2",
        ("stem", "act"): "act",
        ("head", "act"): "out_act",
    }
    step = {"n": 0}

    def hook(key):
        def fn(module, inputs, output):
            if step["n"] == 10 and key not in seen:
                seen[key] = output.detach().clone().numpy().ravel()

        return fn

    for key, name in taps.items():
        modules[name].register_forward_hook(hook(key))
    out = tmp_path / "f.jsonl"
    with normscope.watch(model, out=out, every=10, steps=10) as session:
        for x, y in batches(10):
            step["n"] += 1
            session.step(loss=train_step(model, opt, x, y))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    edges = {li["name"]: li["edges"] for li in lines[1]["layers"]}
    frame = lines[-1]
    stats = {ls["name"]: ls for ls in frame["runs"][0]["layers"]}
    for (layer, tap), values in seen.items():
        got = stats[layer]["taps"][tap]
        e = np.array(edges[layer][tap])
        counts, _ = np.histogram(values, bins=e)
        assert got["counts"] == counts.tolist(), (layer, tap)
        assert got["under"] == int((values < e[0]).sum()) and got["over"] == int((values > e[-1]).sum())
        assert got["mean"] == pytest.approx(values.mean(dtype=np.float64), abs=1e-5)
        assert got["std"] == pytest.approx(values.std(dtype=np.float64), rel=1e-4, abs=1e-6)
        q = np.quantile(values.astype(np.float64), [0, 0.15, 0.5, 0.85, 1])
        assert got["q"] == pytest.approx(q.tolist(), rel=1e-5, abs=1e-6)
    # ReLU's saturation is its share of exact zeros; GELU and the like have none to count
    assert stats["layer1.0.conv1"]["taps"]["act"]["saturation"] == pytest.approx(
        (seen[("layer1.0.conv1", "act")] == 0).mean()
    )
    assert stats["stem"]["taps"]["act"]["saturation"] is None
    assert stats["layer1.0.conv1"]["bn"]["gamma"]["mean"] == pytest.approx(
        model.layer1[0].bn1.weight.detach().mean().item(), abs=1e-6
    )
    assert stats["head"]["grad_norm"] > 0
    assert session.runs[0].probe.hook_count == 0  # close() removed every hook


def test_models_of_one_architecture_share_edges_and_a_single_module_is_accepted(tmp_path):
    _, _, lines = run_watched(tmp_path, steps=10, every=10)
    taps_by_name = {li["name"]: li["edges"] for li in lines[1]["layers"]}
    assert len(taps_by_name) == 6  # one layout for both models: overlays stay comparable
    out = tmp_path / "one.jsonl"
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Sigmoid(), nn.Linear(8, 2))
    with normscope.watch(model, out=out, every=1) as s:
        for _ in range(3):
            model(torch.randn(5, 4)).sum().backward()
            s.step(loss=1.0)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["spec"]["variants"][0]["label"] == "Sequential"
    assert (
        lines[1]["layers"][0]["edges"]["act"][0] == 0.0 and lines[1]["layers"][0]["edges"]["act"][-1] == 1.0
    )
    assert [f["step"] for f in lines[2:]] == [2, 3]  # step 1's forward is the one that finds the layers


def test_layer_selection_and_the_cap_say_what_is_left_out(tmp_path):
    _, _, lines = run_watched(tmp_path, steps=5, layers=["layer1.*"], max_layers=3)
    assert [li["name"] for li in lines[1]["layers"]] == ["layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1"]
    assert any("past the cap of 3" in n for n in lines[0]["spec"]["external"]["untapped"])


def test_no_probe_work_on_unsampled_steps_and_the_statistics_packed_off_the_callers_thread(
    tmp_path, monkeypatch
):
    takes, packs = [], []
    from normscope.engine.probe import Probe

    take, pack = Probe.take, Probe.pack
    monkeypatch.setattr(Probe, "take", lambda self: takes.append(threading.current_thread()) or take(self))
    monkeypatch.setattr(
        Probe, "pack", lambda self, taken=None: packs.append(threading.current_thread()) or pack(self, taken)
    )
    _, _, lines = run_watched(tmp_path, steps=30, every=10)
    assert len(takes) == len(packs) == 2 * 3  # two models, three sampled steps
    assert set(takes) == {threading.main_thread()} and threading.main_thread() not in packs
    assert [line["step"] for line in lines if line["type"] == "frame"] == [10, 20, 30]


def test_pause_blocks_the_loop_until_resume_and_cancel_ends_the_with_block(tmp_path):
    torch.manual_seed(0)
    model = UserNet(bn=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    session = normscope.watch(model, out=tmp_path / "c.jsonl", every=5)
    data = batches(30)
    with session:
        for i, (x, y) in enumerate(data):
            session.step(loss=train_step(model, opt, x, y))
            if i == 2:
                session._on_control(ControlMessage(action="pause"))
                t0 = time.monotonic()
                threading.Timer(0.6, session._on_control, [ControlMessage(action="resume")]).start()
            if i == 3:
                assert time.monotonic() - t0 >= 0.5  # step 4 began only after the resume
            if i == 9:
                session._on_control(ControlMessage(action="cancel"))
    assert session.step_count == 11  # the next step() after the cancel raised Cancelled; the block ended


def test_bad_calls_are_refused_clearly(tmp_path):
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="exactly one of server"):
        normscope.watch(model)
    with pytest.raises(ValueError, match="needs token"):
        normscope.watch(model, server="http://127.0.0.1:9")
    s = normscope.watch({"a": model, "b": nn.Linear(2, 2)}, out=tmp_path / "x.jsonl")
    with pytest.raises(ValueError, match=r"give \{label: value\}"):
        s.step(loss=1.0)
    with pytest.raises(ValueError, match="unknown models"):
        s.log(val_acc={"c": 0.5})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.close()
