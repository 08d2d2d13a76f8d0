"""One group's actor body, in this process: controls the driver sent in one order are trained in that order
however the actor's threads happen to deliver them."""

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from normscope.catalog import DataRoot
from normscope.groups.member import GroupMember
from normscope.schemas import ExperimentSpec, Frame

pytestmark = pytest.mark.timeout(60)


def member() -> GroupMember:
    spec = ExperimentSpec.model_validate(
        {
            "name": "group",
            "dataset": {"name": "digits"},
            "model": {"hidden": [16, 16]},
            "steps": 2000,
            "pace": 50,
            "probe": {"every": 10},
            "sweep": {"n": 2, "seed": 3, "params": {"optimizer.lr": {"log_uniform": [0.01, 0.3]}}},
        }
    )
    m = GroupMember(spec.model_dump_json(), [0, 1], "cpu", 1, DataRoot())
    m.set_absmax(m.absmax())
    return m


def drain(stream: Iterator[tuple[Any, ...]], into: "queue.Queue[tuple[Any, ...]]") -> None:
    for event in stream:
        into.put(event)


def next_of(events: "queue.Queue[tuple[Any, ...]]", kind: str, timeout: float = 20.0) -> tuple[Any, ...]:
    end = time.monotonic() + timeout
    while True:
        event = events.get(timeout=max(0.01, end - time.monotonic()))
        if event[0] == kind:
            return event


def test_a_step_that_overtakes_its_set_lr_waits_for_it() -> None:
    m = member()
    events: queue.Queue[tuple[Any, ...]] = queue.Queue()
    threading.Thread(target=drain, args=(m.run(), events), daemon=True).start()
    next_of(events, "frame")
    m.control(0, {"action": "pause"})
    _, status, paused_at, _ = next_of(events, "status")
    assert status == "paused"
    m.step_to(2, (paused_at // 10 + 1) * 10)  # the third control, delivered before the second
    time.sleep(0.5)
    assert all(e[0] != "frame" for e in list(events.queue)), "trained before the set_lr sent ahead of it"
    m.control(1, {"action": "set_lr", "lr": 0.004})
    frame: Frame = next_of(events, "frame")[1]
    assert frame.step == (paused_at // 10 + 1) * 10
    for run in frame.runs:  # the set_lr was sent first, so the first step after the pause is at the new rate
        assert [(c.step, c.lr) for c in run.lr_changes] == [(paused_at + 1, 0.004)]
    m.control(3, {"action": "cancel"})
    assert next_of(events, "end")[1] == "cancelled"
