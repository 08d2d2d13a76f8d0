import sqlite3

from normscope.schemas import ExperimentSpec
from normscope.store import Store


def _spec() -> ExperimentSpec:
    return ExperimentSpec.model_validate({"variants": [{"label": "a"}, {"label": "b", "norm": "batch"}]})


def test_round_trip_status_frames_and_restart(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    e = store.create("e1", _spec())
    assert e.status == "queued" and [r.label for r in e.runs] == ["a", "b"]
    store.set_status("e1", "running", step=0, run_statuses=["running", "running"])
    for step in (10, 20, 30):
        store.add_frame("e1", step, step - 10, f'{{"type":"frame","step":{step}}}')
    assert store.frames("e1", since=10, limit=1) == ['{"type":"frame","step":20}']
    assert store.frame_steps("e1") == [10, 20, 30]
    assert store.get("e1").step == 30
    store.close()

    reopened = Store(path)
    assert reopened.mark_interrupted() == ["e1"]
    e = reopened.get("e1")
    assert e.status == "interrupted" and all(r.status == "interrupted" for r in e.runs)
    assert len(reopened.frames("e1")) == 3
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_list_newest_first_and_delete_cascades(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.create("old", _spec())
    store.create("new", _spec())
    store.add_frame("old", 10, 0, "{}")
    assert [e.id for e in store.list_experiments()] == ["new", "old"]
    assert store.delete("old") and not store.delete("old")
    assert store.frames("old") == [] and store.get("old") is None


def test_a_full_store_refuses_frames_keeps_what_it_has_and_sqlite_itself_stops_growth(tmp_path):
    from normscope.store import StoreFull
    from normscope.store.db import headroom

    limit = 10**6
    store = Store(tmp_path / "s.sqlite3", max_bytes=limit)
    store.create("e1", _spec())
    body = '{"type":"frame","step":%d,"pad":"' + "x" * 8000 + '"}'
    step = 0
    try:
        while True:
            step += 10
            store.add_frame("e1", step, step - 10, body % step)
    except StoreFull as e:
        assert "reached its limit of 0.001 GB (NORMSCOPE_MAX_DATA_GB)" in str(e)
    assert store.frame_steps("e1") == list(range(10, step, 10))  # all but the refused one, readable
    assert store.used_bytes() <= limit and "NORMSCOPE_MAX_DATA_GB" in store.no_room()
    store.set_status("e1", "failed", error="the store is full")  # statuses fit in the headroom
    # past the headroom SQLite itself says the database is full (SQLITE_FULL, as on a full disk)
    try:
        for i in range(10_000):
            store.create(f"x{i}", ExperimentSpec(name="y" * 120))
    except StoreFull:
        pass
    else:
        raise AssertionError("SQLite let the file grow past its page limit")
    assert store.used_bytes() <= limit + headroom(limit) and store.get("e1").status == "failed"
    store.close()


def test_views_and_marks_are_kept_per_experiment_and_go_with_it(tmp_path):
    from normscope.schemas import MarkCreate, ViewState

    store = Store(tmp_path / "s.sqlite3")
    store.create("e1", _spec())
    assert store.view("e1") is None and not store.set_view("nope", ViewState())
    assert store.set_view("e1", ViewState(layer="hidden1", tap="act"))
    assert store.set_view("e1", ViewState(layer="hidden2"))  # the newest replaces it
    assert store.view("e1") == ViewState(layer="hidden2")
    later = store.add_mark("e1", MarkCreate(step=30, note="b"))
    earlier = store.add_mark("e1", MarkCreate(step=10, note="a"))
    assert [m.id for m in store.marks("e1")] == [earlier.id, later.id]  # in step order
    assert store.delete_mark("e1", later.id) and not store.delete_mark("e2", earlier.id)
    store.delete("e1")
    assert store.view("e1") is None and store.marks("e1") == []


def test_a_store_from_before_the_hall_opens_with_its_tables_added(tmp_path):
    path = tmp_path / "old.sqlite3"
    Store(path).create("e1", _spec())
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE views; DROP TABLE marks;")
    db.close()
    store = Store(path)
    assert store.get("e1") is not None and store.marks("e1") == [] and store.view("e1") is None
