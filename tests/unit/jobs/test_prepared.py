"""A lesson's prepared marks on a real store and hub: each dropped once, when the experiment reaches its step,
stored and broadcast as the presenter's M drops one."""

import asyncio
import json
from pathlib import Path

from normscope.jobs.prepared import PreparedMarks
from normscope.realtime import Hub
from normscope.schemas import ExperimentSpec, MarkCreate
from normscope.store import Store

TINY = {"model": {"hidden": [8]}, "steps": 40, "variants": [{"label": "plain"}]}


def test_each_mark_drops_once_when_its_step_is_reached_in_step_order(tmp_path: Path):
    async def main() -> None:
        store, hub = Store(tmp_path / "db.sqlite3"), Hub()
        hub.bind(asyncio.get_running_loop())
        eid = store.create("e1", ExperimentSpec.model_validate(TINY)).id
        prepared = PreparedMarks(store, hub)
        prepared.add(eid, [MarkCreate(step=30, note="late"), MarkCreate(step=10, note="early")])
        prepared.add("other", [MarkCreate(step=1, note="not e1's")])
        async with hub.subscribe(eid) as viewer:
            assert prepared.reached(eid, 9) == []
            first = prepared.reached(eid, 20)  # a sampled step past the mark's: it drops at its own step
            assert [(m.step, m.note) for m in first] == [(10, "early")]
            assert prepared.reached(eid, 20) == [] and prepared.reached(eid, 10) == []
            assert [(m.step, m.note) for m in prepared.waiting(eid)] == [(30, "late")]
            last = prepared.reached(eid, 40)
            assert [(m.step, m.note) for m in last] == [(30, "late")]
            assert prepared.reached(eid, 40) == [] and prepared.waiting(eid) == []
            got = [json.loads((await asyncio.wait_for(viewer.get(), 5)).text) for _ in range(2)]
        assert got == [
            {"type": "mark", **json.loads(m.model_dump_json())} for m in (*first, *last)
        ]  # what a viewer of the presenter's marks gets
        assert store.marks(eid) == [*first, *last]
        assert store.marks("other") == []
        store.close()

    asyncio.run(main())


def test_an_ended_or_deleted_experiment_gets_no_more_marks(tmp_path: Path):
    async def main() -> None:
        store, hub = Store(tmp_path / "db.sqlite3"), Hub()
        hub.bind(asyncio.get_running_loop())
        spec = ExperimentSpec.model_validate(TINY)
        ended, deleted = store.create("ended", spec).id, store.create("deleted", spec).id
        prepared = PreparedMarks(store, hub)
        for eid in (ended, deleted):
            prepared.add(eid, [MarkCreate(step=5, note="a"), MarkCreate(step=6, note="b")])
        prepared.discard(ended)
        assert prepared.reached(ended, 40) == [] and store.marks(ended) == []
        store.delete(deleted)  # before the manager discards its marks: the store refuses them
        assert prepared.reached(deleted, 40) == []
        assert prepared.waiting(deleted) == []
        store.close()

    asyncio.run(main())


def test_marks_past_the_presenter_s_limit_are_skipped_and_the_presenter_s_kept(tmp_path: Path):
    async def main() -> None:
        store, hub = Store(tmp_path / "db.sqlite3"), Hub()
        hub.bind(asyncio.get_running_loop())
        eid = store.create("e1", ExperimentSpec.model_validate(TINY)).id
        for i in range(199):
            store.add_mark(eid, MarkCreate(step=1, note=f"presenter {i}"))
        prepared = PreparedMarks(store, hub)
        prepared.add(eid, [MarkCreate(step=2, note="fits"), MarkCreate(step=3, note="one too many")])
        assert [m.note for m in prepared.reached(eid, 3)] == ["fits"]
        assert len(store.marks(eid)) == 200 and prepared.waiting(eid) == []
        store.close()

    asyncio.run(main())
