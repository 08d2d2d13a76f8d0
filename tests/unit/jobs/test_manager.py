"""The job manager with real workers, store and hub: what it does when workers cannot start."""

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from normscope.jobs.manager import JobManager
from normscope.realtime import Hub
from normscope.schemas import TERMINAL, ExperimentSpec, Frame, RunFrame
from normscope.store import Store

TINY = {"model": {"hidden": [8]}, "steps": 5, "variants": [{"label": "plain"}]}


@contextlib.contextmanager
def _started(tmp_path: Path, device: str, **options: Any) -> Iterator[tuple[Store, JobManager]]:
    """A manager on the running loop with its own store, stopped and closed after."""
    store = Store(tmp_path / "db.sqlite3")
    manager = JobManager(store, Hub(), device, threads=1, max_running=1, **options)
    manager.start(asyncio.get_running_loop())
    try:
        yield store, manager
    finally:
        manager.stop()
        store.close()


async def _until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_a_worker_that_cannot_start_fails_its_experiment_with_its_reason_and_spares_back_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """cuda:99 does not exist: every worker reports 'fatal' once torch is imported."""
    caplog.set_level("WARNING", logger="normscope.jobs")

    async def main() -> None:
        with _started(tmp_path, "cuda:99", spare_backoff_s=0.2, spare_max_failures=3) as (store, manager):
            eid = manager.launch(ExperimentSpec.model_validate(TINY)).id  # the spare may still be starting
            await _until(lambda: store.get(eid).status in TERMINAL, 60)
            failed = store.get(eid)
            assert failed.status == "failed"
            assert "NORMSCOPE_DEVICE=cuda:99" in failed.error, failed.error  # not "exited with code 0"
            await _until(lambda: manager.degraded is not None, 90)
            assert "3 times in a row" in manager.degraded and "cuda:99" in manager.degraded
            await asyncio.sleep(1.0)
            assert manager._spare is None  # and then stopped trying

    asyncio.run(main())
    # logged as the manager sees each failure: forked spares fail in ~0.1 s, only the back-off spaces them
    failures = [r.created for r in caplog.records if "did not come up" in r.message or "3 times" in r.message]
    assert len(failures) == 3, [r.message for r in caplog.records]
    assert failures[1] - failures[0] >= 0.2 - 0.01 and failures[2] - failures[1] >= 0.4 - 0.01, failures


def test_a_launch_that_finds_the_spare_dead_waits_out_the_back_off(tmp_path: Path):
    """The spare died and the loop has not yet heard (a busy machine): the launch starts its own worker and
    no second spare, whose failure would come without the back-off between (seen 4 ms apart)."""

    async def main() -> None:
        with _started(tmp_path, "cuda:99", spare_backoff_s=30, spare_max_failures=3) as (store, manager):
            spare = manager._spare
            assert spare is not None
            spare.process.join(60)  # dead; its exit waits for the loop, which this blocks
            eid = manager.launch(ExperimentSpec.model_validate(TINY)).id
            await _until(lambda: store.get(eid).status in TERMINAL, 60)
            await asyncio.sleep(1.0)
            assert manager._spare_failures == 1 and manager._spare is None  # the next waits 30 s

    asyncio.run(main())


def test_the_managers_state_is_changed_from_the_event_loop_only(tmp_path: Path):
    async def main() -> None:
        with _started(tmp_path, "cpu", warm_spare=False) as (store, manager):
            errors: list[BaseException] = []

            def off_loop() -> None:
                try:
                    manager.launch(ExperimentSpec.model_validate(TINY))
                except RuntimeError as e:
                    errors.append(e)

            thread = threading.Thread(target=off_loop)
            thread.start()
            thread.join()
            assert len(errors) == 1 and "event loop" in str(errors[0])
            assert store.list_experiments() == []  # refused before it changed anything

    asyncio.run(main())


@pytest.fixture(autouse=True)
def _no_leftover_workers():
    yield
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()


def test_a_slow_groups_late_part_is_merged_into_the_stored_frame_and_not_published(tmp_path: Path):
    store = Store(tmp_path / "db.sqlite3")
    hub = Hub()
    manager = JobManager(store, hub, "cpu", threads=1, max_running=1, warm_spare=False)
    eid = store.create(
        "e1", ExperimentSpec.model_validate({**TINY, "variants": [{"label": "a"}, {"label": "b"}]})
    ).id
    run = {"status": "running", "train_acc": 0.5, "layers": []}
    sent = Frame(step=10, prev_step=0, runs=[RunFrame(index=0, loss=[1.0], **run)])
    store.add_frame(eid, 10, 0, sent.model_dump_json())
    # the hub is not bound to a loop: a publish would raise, so this also checks nothing goes out live
    manager.record_late_part(
        eid, 10, Frame(step=10, prev_step=0, runs=[RunFrame(index=1, loss=[2.0], **run)]).model_dump_json()
    )
    stored = Frame.model_validate_json(store.frames(eid)[0])
    assert [(r.index, r.loss) for r in stored.runs] == [(0, [1.0]), (1, [2.0])] and stored.prev_step == 0
    store.close()
