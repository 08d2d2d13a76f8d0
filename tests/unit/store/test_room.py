"""The room's one row in SQLite: empty at first, one experiment at a time, kept on reopening, and emptied when
the experiment shown is deleted."""

from pathlib import Path

from normscope.schemas import ExperimentSpec, Room
from normscope.store import Store


def test_the_room_holds_one_shown_experiment_across_reopening(tmp_path: Path):
    store = Store(tmp_path / "db.sqlite3")
    assert store.room() == Room()
    for eid in ("a", "b"):
        store.create(eid, ExperimentSpec())
    assert not store.set_room(Room(experiment="nope")), "no such experiment: nothing is shown"
    assert store.room() == Room()
    assert store.set_room(Room(experiment="a", lecture="week-3", position=2))
    assert store.set_room(Room(experiment="b"))
    assert store.room() == Room(experiment="b")
    assert store.set_room(Room(experiment="a", lecture="week-3", position=2))
    store.close()
    store = Store(tmp_path / "db.sqlite3")
    assert store.room() == Room(experiment="a", lecture="week-3", position=2)
    assert store._db.execute("SELECT COUNT(*) FROM room").fetchone() == (1,)
    store.delete("a")
    assert store.room() == Room(), "a deleted experiment is no longer shown, nor its lecture"
    store.close()
