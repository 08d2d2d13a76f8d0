"""The group executor on a real local Ray: 16 variants in 4 groups train as 4 actors and give the frames one
process gives; a killed actor fails its group only; every control reaches every group."""

import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType

import pytest
import torch

from normscope.catalog import DataRoot
from normscope.config import ExecutorSettings
from normscope.engine.trainer import Trainer
from normscope.groups.errors import RayUnavailable
from normscope.groups.merge import merge_late
from normscope.groups.ray_driver import RayGroups
from normscope.schemas import ControlCommand, ExperimentSpec, FoldResult, Frame, LayerInfo

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

# 4 groups × half a CPU fit the session's 2-CPU cluster side by side; each actor trains on one thread
SETTINGS = ExecutorSettings("ray", "auto", variants_per_group=4, group_cpus=0.5)


def sweep(steps: int, pace: float | None = None) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "name": "groups",
            "dataset": {"name": "digits"},
            "model": {"hidden": [16, 16]},
            "steps": steps,
            "pace": pace,
            "probe": {"every": 10, "eval_every": 2},
            "sweep": {
                "n": 8,
                "seed": 3,
                "params": {"optimizer.lr": {"log_uniform": [0.01, 0.3]}},
                "norms": ["none", "batch"],
            },
        }
    )


@dataclass
class Session:
    """A RayGroups run on a thread, fed controls, with what the job manager would store."""

    groups: RayGroups
    controls: "queue.SimpleQueue[ControlCommand]" = field(default_factory=queue.SimpleQueue)
    frames: dict[int, Frame] = field(default_factory=dict)
    live: list[Frame] = field(default_factory=list)
    statuses: list[tuple[str, int, list[str]]] = field(default_factory=list)
    folds: list[FoldResult] = field(default_factory=list)
    layout: list[LayerInfo] = field(default_factory=list)
    result: tuple[str, str | None] | None = None

    def send(self, **command: object) -> None:
        self.controls.put(ControlCommand.model_validate(command))

    def wait(self, what: Callable[[], bool], timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < end, "timed out"
            time.sleep(0.02)


STARTED: list[Session] = []


@pytest.fixture(autouse=True)
def cancel_what_a_failed_test_left() -> Iterator[None]:
    """A test that fails midway leaves its groups training on the shared cluster: cancelled, later tests
    get the cluster's CPUs back and its readers end before Ray shuts down."""
    yield
    for s in STARTED:
        if s.result is None:
            s.send(action="cancel")
            s.wait(lambda s=s: s.result is not None)
    STARTED.clear()


def start(spec: ExperimentSpec) -> Session:
    s: Session

    def on_frame(frame: Frame, late: bool) -> None:
        if late:
            s.frames[frame.step] = merge_late(s.frames[frame.step], frame)
        else:
            s.frames[frame.step] = frame
            s.live.append(frame)

    def control(timeout: float) -> ControlCommand | None:
        try:
            return s.controls.get(timeout=timeout)
        except queue.Empty:
            return None

    groups = RayGroups(
        spec,
        "cpu",
        SETTINGS,
        DataRoot(),
        on_frame,
        lambda *a: s.statuses.append(a),
        control,
        lambda f: s.folds.extend(f),
    )
    s = Session(groups)
    STARTED.append(s)
    s.layout = groups.layout()

    def run() -> None:
        s.result = groups.run()

    threading.Thread(target=run, daemon=True).start()
    return s


def timeless(frame: Frame) -> dict:
    return frame.model_dump(exclude={"sent_at", "elapsed"})


def test_four_groups_give_exactly_the_frames_of_one_process(ray_cluster: ModuleType) -> None:
    spec = sweep(60)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the actors' thread count: float sums then add up in the same order
    try:
        local: list[Frame] = []
        local_folds: list = []
        trainer = Trainer(spec, "cpu", on_frame=local.append, on_folds=local_folds.extend)
        trainer.run()
    finally:
        torch.set_num_threads(threads)
    s = start(spec)
    assert s.layout == trainer.layout()
    assert len(set(s.groups.pids)) == 4
    s.wait(lambda: s.result is not None)
    assert s.result == ("done", None)
    assert sorted(s.frames) == [f.step for f in local]
    for f in local:  # bit for bit at the same thread count; across thread counts within float32 rounding
        assert timeless(s.frames[f.step]) == timeless(f), f"step {f.step}"
    assert s.folds == local_folds and s.groups.statuses == ["done"] * 16
    # the actors went with the run: the cluster's CPUs are free for the next experiment (they took ~20 s)
    cpus = ray_cluster.cluster_resources()["CPU"]
    s.wait(lambda: ray_cluster.available_resources().get("CPU") == cpus, timeout=5)


def test_a_killed_ray_worker_fails_only_its_group_with_the_reason(ray_cluster: ModuleType) -> None:
    s = start(sweep(400, pace=25))
    s.wait(lambda: len(s.live) >= 1)
    os.kill(s.groups.pids[1], signal.SIGKILL)
    s.wait(lambda: "failed" in s.groups.statuses)
    s.send(action="pace", steps_per_second=None)  # the rest at full speed
    s.wait(lambda: s.result is not None)
    status, error = s.result
    assert status == "done"
    assert error is not None and "variants 4–7" in error and "died" in error, error
    assert s.groups.statuses == ["done"] * 4 + ["failed"] * 4 + ["done"] * 8
    last = s.frames[max(s.frames)]
    assert last.step == 400 and [rf.index for rf in last.runs] == [*range(4), *range(8, 16)]
    assert s.statuses[-1] == ("done", 400, s.groups.statuses)


def test_pause_step_set_lr_and_cancel_reach_every_group(ray_cluster: ModuleType) -> None:
    s = start(sweep(2000, pace=20))
    s.wait(lambda: len(s.live) >= 1)
    s.send(action="pause")
    s.wait(lambda: bool(s.statuses) and s.statuses[-1][0] == "paused")  # every group paused, then it says so
    time.sleep(0.5)
    held = len(s.live)
    time.sleep(0.5)
    assert len(s.live) == held  # no group trains on while paused
    s.send(action="step")
    s.wait(lambda: max(s.frames) > s.live[held - 1].step and len(s.frames[max(s.frames)].runs) == 16)
    before = s.frames[max(s.frames)]
    s.send(action="set_lr", variant=None, lr=0.004)
    s.send(action="step")
    s.wait(lambda: max(s.frames) > before.step and len(s.frames[max(s.frames)].runs) == 16)
    after = s.frames[max(s.frames)]
    for old, new in zip(before.runs, after.runs, strict=True):
        assert new.lr == 0.004 and [c.lr for c in new.lr_changes] == [0.004]
        assert new.lr_changes[0].step == before.step + 1  # paused at a frame: the next step is the first
        # SGD without momentum moves a layer by lr·|g|: the update over the gradient is the rate in force
        for rate, frame in ((old.lr, old), (0.004, new)):
            for layer in frame.layers:
                measured = layer.update_ratio * layer.weight_norm / layer.grad_norm
                assert measured == pytest.approx(rate, rel=0.02), (frame.index, layer.name)
    s.send(action="cancel")
    s.wait(lambda: s.result is not None)
    assert s.result == ("cancelled", None)
    assert s.groups.statuses == ["cancelled"] * 16


def test_a_cluster_too_small_for_the_groups_is_refused_with_what_to_change(ray_cluster: ModuleType) -> None:
    wide = ExecutorSettings("ray", "auto", variants_per_group=2, group_cpus=1)
    with pytest.raises(RayUnavailable, match=r"8 groups × 1 CPU need 8 CPUs; the Ray cluster has 2"):
        RayGroups(sweep(10), "cpu", wide, DataRoot(), lambda f, late: None, lambda *a: None, lambda t: None)
