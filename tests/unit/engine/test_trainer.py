import copy
import math
import queue
import threading
import time

import pytest
import torch
import torch.nn.functional as F

from normscope.engine.trainer import Trainer
from normscope.lessons import builtin_lesson
from normscope.schemas import ControlCommand, ExperimentSpec, Frame


def _tiny(**over) -> ExperimentSpec:
    base = {
        "model": {"hidden": [16, 16], "activation": "tanh"},
        "optimizer": {"lr": 0.1},
        "batch_size": 32,
        "steps": 60,
        "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
        "probe": {"every": 10, "bins": 16, "eval_every": 2},
    }
    base.update(over)
    return ExperimentSpec.model_validate(base)


def _collect(spec: ExperimentSpec, **kw) -> tuple[Trainer, list[Frame]]:
    frames: list[Frame] = []
    t = Trainer(spec, on_frame=frames.append, **kw)
    t.run()
    return t, frames


def _hooks(trainer: Trainer) -> int:
    return sum(len(m._forward_hooks) for r in trainer.runs for m in r.model.modules())


def test_only_the_sampled_forwards_are_hooked():
    t = Trainer(_tiny(steps=25))
    hooked: dict[int, int] = {}  # probe hooks in place as each step's training forward starts

    def record(module: torch.nn.Module, args: tuple) -> None:
        hooked.setdefault(t.step, _hooks(t))

    t.runs[0].model.register_forward_pre_hook(record)
    t.run()
    assert [step for step, n in hooked.items() if n] == [10, 20, 25] and len(hooked) == 25
    assert _hooks(t) == 0


def test_training_goes_on_while_a_frame_is_built_but_at_most_two_frames_ahead():
    """The frames thread builds and sends; the training thread waits only when two frames wait already."""
    release = threading.Event()
    frames: list[Frame] = []

    def slow_sink(frame: Frame) -> None:
        release.wait(10)  # the viewer side stalls on the first frame
        frames.append(frame)

    t = Trainer(_tiny(steps=100), on_frame=slow_sink)
    th = threading.Thread(target=t.run)
    th.start()
    deadline = time.monotonic() + 10
    while t.step < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    # frame 10 is in the sink, 20 and 30 wait in the queue, the hand-over of 40 waits for room
    assert t.step == 40 and frames == []
    release.set()
    th.join(10)
    assert [f.step for f in frames] == list(range(10, 101, 10))
    assert [r.status for r in t.runs] == ["done", "done"]


def test_a_failure_building_a_frame_ends_the_run_with_it():
    def broken_sink(frame: Frame) -> None:
        raise RuntimeError("the pipe broke")

    t = Trainer(_tiny(steps=1000), on_frame=broken_sink)
    with pytest.raises(RuntimeError, match="the pipe broke"):
        t.run()
    assert t.step <= 40  # raised at the next hand-over or the one after, not at the end
    assert _hooks(t) == 0


def test_frames_chain_cover_every_step_and_end_on_the_last():
    t, frames = _collect(_tiny(steps=55))
    assert [f.step for f in frames] == [10, 20, 30, 40, 50, 55]
    assert [f.prev_step for f in frames] == [0, 10, 20, 30, 40, 50]
    for f in frames:
        for r in f.runs:
            assert len(r.loss) == f.step - f.prev_step
    assert frames[-1].runs[0].val is not None  # the last frame is always evaluated
    assert [f.runs[0].val is not None for f in frames[:-1]] == [False, True, False, True, False]
    assert [r.status for r in t.runs] == ["done", "done"]
    assert _hooks(t) == 0


def test_identical_variants_produce_identical_frames_and_see_the_same_batches():
    spec = _tiny(variants=[{"label": "a", "norm": "batch"}, {"label": "b", "norm": "batch"}])
    trainer = Trainer(spec, on_frame=lambda f: None)
    batches: list[list[torch.Tensor]] = [[], []]
    for r in trainer.runs:
        r.model.register_forward_pre_hook(lambda m, args, i=r.index: batches[i].append(args[0].clone()))
    frames: list[Frame] = []
    trainer.on_frame = frames.append
    trainer.run()
    assert len(batches[0]) > 60
    assert all(torch.equal(a, b) for a, b in zip(batches[0], batches[1], strict=True))
    for f in frames:
        a, b = (r.model_dump(exclude={"index"}) for r in f.runs)
        assert a == b


def test_variants_with_different_lr_still_share_batches():
    spec = _tiny(variants=[{"label": "a"}, {"label": "b", "lr": 0.5}])
    trainer = Trainer(spec)
    seen: list[list[torch.Tensor]] = [[], []]
    for r in trainer.runs:
        r.model.register_forward_pre_hook(lambda m, args, i=r.index: seen[i].append(args[0].clone()))
    trainer.run()
    assert all(torch.equal(a, b) for a, b in zip(seen[0], seen[1], strict=True))


def _oracle_eval(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> tuple[float, ...]:
    """Loss and accuracy on the val split in eval mode (whole), then in train mode in full batches."""
    model.eval()
    with torch.no_grad():
        out = model(x)
        eval_mode = (F.cross_entropy(out, y).item(), (out.argmax(1) == y).double().mean().item())
        model.train()
        usable = len(y) - len(y) % batch
        outs = torch.cat([model(x[s : s + batch]) for s in range(0, usable, batch)])
    train_mode = (
        F.cross_entropy(outs, y[:usable]).item(),
        (outs.argmax(1) == y[:usable]).double().mean().item(),
    )
    return eval_mode + train_mode


def test_val_in_eval_and_train_mode_equal_an_independent_computation():
    trainer, frames = _collect(_tiny(steps=20))
    for run, rf in zip(trainer.runs, frames[-1].runs, strict=True):
        expected = _oracle_eval(copy.deepcopy(run.model), run.data[2], run.data[3], run.batch_size)
        if not run.has_batchnorm:  # the two modes are the same net: both are reported on every example
            expected = expected[:2] * 2
        got = (rf.val.loss, rf.val.acc, rf.val_train_mode.loss, rf.val_train_mode.acc)
        assert got == pytest.approx(expected, rel=1e-5), run.label
    plain, bn = frames[-1].runs
    assert plain.val == plain.val_train_mode  # without BN the two modes compute the same thing
    assert abs(bn.val.loss - bn.val_train_mode.loss) > 1e-4  # with BN, running vs batch statistics


def test_training_mode_eval_leaves_running_statistics_alone():
    t, _ = _collect(_tiny(steps=20, probe={"every": 10, "eval_every": 1}))
    bn = t.runs[1].model.blocks["hidden1"].norm
    assert int(bn.num_batches_tracked) == 20


def test_divergence_marks_only_that_run_and_the_others_finish():
    spec = _tiny(
        model={"hidden": [64, 64], "activation": "relu"},
        steps=300,
        optimizer={"lr": 5.0},
    )
    statuses = []
    t, frames = _collect(spec, on_status=lambda s, step, runs: statuses.append((s, list(runs))))
    assert [r.status for r in t.runs] == ["diverged", "done"]
    last_plain = max(f.step for f in frames if f.runs[0].loss)
    assert last_plain < 300
    died = next(f for f in frames if f.runs[0].status == "diverged")
    assert died.runs[0].loss[-1] is None  # the curve ends on the non-finite step
    figures = [
        x for layer in died.runs[0].layers for ts in layer.taps.values() for x in (ts.mean, ts.std, *ts.q)
    ]
    assert None in figures and all(x is None or math.isfinite(x) for x in figures)  # null, never NaN
    assert frames[-1].step == 300 and len(frames[-1].runs[1].loss) == 10
    assert ("running", ["diverged", "running"]) in statuses
    assert _hooks(t) == 0


def test_hooks_are_removed_after_an_exception():
    def boom(frame: Frame) -> None:
        raise RuntimeError("consumer failed")

    t = Trainer(_tiny(), on_frame=boom)
    with pytest.raises(RuntimeError, match="consumer failed"):
        t.run()
    assert _hooks(t) == 0


def _controls(commands: "queue.Queue[ControlCommand]"):
    def poll(timeout: float) -> ControlCommand | None:
        try:
            return commands.get(timeout=timeout) if timeout > 0 else commands.get_nowait()
        except queue.Empty:
            return None

    return poll


def test_pause_step_resume_cancel():
    commands: queue.Queue[ControlCommand] = queue.Queue()
    statuses: list[tuple[str, int]] = []
    frames: list[Frame] = []
    arrived: dict[int, float] = {}

    def on_frame(f: Frame) -> None:
        frames.append(f)
        arrived[f.step] = time.monotonic()
        if f.step == 20:
            commands.put(ControlCommand(action="pause"))
            commands.put(ControlCommand(action="step"))  # exactly one frame's worth, then paused again
        if f.step == 30:
            threading.Timer(0.4, commands.put, [ControlCommand(action="resume")]).start()
        if f.step == 60:
            commands.put(ControlCommand(action="cancel"))

    t = Trainer(
        _tiny(steps=1000),
        on_frame=on_frame,
        on_status=lambda s, step, r: statuses.append((s, step)),
        control=_controls(commands),
    )
    assert t.run() == "cancelled"
    # frames are built off the training thread, which may be a few steps past the frame that asked
    steps = [f.step for f in frames]
    assert steps == list(range(10, steps[-1] + 1, 10)) and steps[-1] >= 60
    (paused, paused_at), resumed, (cancelled, cancelled_at) = statuses[1:]
    assert paused == "paused" and 20 <= paused_at < 30
    assert resumed == ("running", 30)  # "step" still stops at the next frame
    assert cancelled == "cancelled" and 60 <= cancelled_at < steps[-1] + 10
    assert arrived[40] - arrived[30] >= 0.35  # held at 30 until the resume
    assert [r.status for r in t.runs] == ["cancelled", "cancelled"]


def test_pause_holds_training_until_a_command():
    commands: queue.Queue[ControlCommand] = queue.Queue()
    commands.put(ControlCommand(action="pause"))
    t = Trainer(_tiny(), control=_controls(commands))
    th = threading.Thread(target=t.run)
    th.start()
    time.sleep(0.5)
    assert t.step == 0 and t.status == "paused"
    commands.put(ControlCommand(action="cancel"))
    th.join(5)
    assert not th.is_alive()


def test_pace_limits_steps_per_second():
    """On one thread (two spin while a neighbour holds a core: a paced run of 0.5 s took 5.5 s under xdist),
    the paced run's wall time is bounded below by the pace, and the unpaced run is timed in this process's
    CPU seconds, which a test beside it cannot pad."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        commands: queue.Queue[ControlCommand] = queue.Queue()
        commands.put(ControlCommand(action="pace", steps_per_second=100))
        trainer = Trainer(_tiny(steps=50), control=_controls(commands))
        t0 = time.monotonic()  # the clock starts with training, not with building the models and data
        trainer.run()
        assert 0.45 <= time.monotonic() - t0 < 2.0
        unpaced = Trainer(_tiny(steps=50))
        t0 = time.process_time()
        unpaced.run()
        assert time.process_time() - t0 < 0.3  # without the pace the same run is far quicker
    finally:
        torch.set_num_threads(threads)


def _band_drift(frames: list[Frame], run: int, layer: str) -> float:
    qs = []
    for f in frames:
        stats = next(ls for ls in f.runs[run].layers if ls.name == layer)
        tap = stats.taps.get("normed") or stats.taps["preact"]  # without BN the sigmoid input is preact
        qs.append(tap.q)
    return sum(abs(qs[-1][k] - qs[0][k]) for k in (1, 2, 3))


@pytest.mark.slow
def test_ioffe_szegedy_setting_bn_ahead_and_plain_band_drifts_more():
    spec = builtin_lesson("ioffe-szegedy").spec.model_copy(deep=True)
    spec.model.init_std = 0.1  # the setting; the preset uses a smaller std for a starker lecture
    spec.steps = 500
    torch.set_num_threads(1)
    _, frames = _collect(spec)
    final = frames[-1]
    assert final.step == 500
    plain_acc, bn_acc = (r.val.acc for r in final.runs)
    assert bn_acc > plain_acc, (bn_acc, plain_acc)
    assert _band_drift(frames, 0, "hidden3") > _band_drift(frames, 1, "hidden3")


def test_folds_are_handed_over_before_the_final_status():
    events: list[str] = []
    t = Trainer(
        _tiny(steps=20),
        on_status=lambda status, step, runs: events.append(status),
        on_folds=lambda folds: events.append(f"folds {[f.label for f in folds]}"),
    )
    t.run()
    assert events[-2:] == ["folds ['BN']", "done"]


def _conv(**over) -> ExperimentSpec:
    base = {
        "dataset": {"name": "shapes", "n_samples": 600, "augment": True},
        "model": {"kind": "vgg", "depth": 11, "width": 4, "activation": "relu", "init": "he"},
        "optimizer": {"lr": 0.05, "momentum": 0.9},
        "batch_size": 32,
        "steps": 30,
        "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
        "probe": {"every": 10, "bins": 16, "eval_every": 3},
    }
    base.update(over)
    return ExperimentSpec.model_validate(base)


def _losses(frames: list[Frame]) -> list[list[float]]:
    return [[x for f in frames for x in f.runs[i].loss] for i in range(len(frames[0].runs))]


@pytest.mark.slow
def test_augmented_pixel_sets_repeat_from_the_seed():
    _, a = _collect(_conv())
    _, b = _collect(_conv())
    _, other = _collect(_conv(seed=1))
    assert _losses(a) == _losses(b)
    assert _losses(a) != _losses(other)
    assert [layer.name for layer in a[0].runs[1].layers][:2] == ["stage1.conv1", "stage2.conv1"]


@pytest.mark.slow
def test_augmentation_changes_what_the_net_sees():
    _, on = _collect(_conv())
    _, off = _collect(_conv(dataset={"name": "shapes", "n_samples": 600, "augment": False}))
    assert _losses(on)[0] != _losses(off)[0]


@pytest.mark.slow
def test_channels_last_computes_the_same_frames():
    _, contiguous = _collect(_conv(steps=10), channels_last=False)
    _, last = _collect(_conv(steps=10), channels_last=True)
    torch.testing.assert_close(
        torch.tensor(_losses(last)), torch.tensor(_losses(contiguous)), rtol=1e-4, atol=1e-4
    )


@pytest.mark.slow
def test_bf16_runs_train_and_their_frames_are_finite():
    t, frames = _collect(_conv(precision="bf16", steps=40, dataset={"name": "shapes", "n_samples": 600}))
    assert [r.status for r in t.runs] == ["done", "done"]
    losses = _losses(frames)
    assert all(all(x is not None for x in run) for run in losses)
    assert sum(losses[1][-10:]) < sum(losses[1][:10])  # the BN run learns in bf16
    stats = frames[-1].runs[1].layers[0].taps["normed"]
    assert sum(stats.counts) + stats.under + stats.over == 32 * 4 * 32 * 32
