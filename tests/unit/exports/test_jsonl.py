"""The JSON-lines export reads back through `normscope import` as the same experiment."""

import json
from pathlib import Path

import pytest

from normscope.exports.jsonl import jsonl_chunks
from normscope.schemas import Frame
from normscope.store import Store
from normscope.store.imports import ImportRefused, import_lines, read_lines
from tests.unit.exports.conftest import Stored


def lines(stored: Stored) -> list[str]:
    return b"".join(jsonl_chunks(stored.store, stored.experiment)).decode().splitlines()


def test_imports_back_to_an_identical_experiment(stored: Stored, tmp_path: Path):
    other = Store(tmp_path / "other.sqlite3")
    copy = import_lines(other, lines(stored), "ignored: the file names itself")
    original = stored.experiment
    assert copy.id != original.id
    assert copy.model_dump(exclude={"id", "created_at"}) == original.model_dump(exclude={"id", "created_at"})
    assert copy.status == "cancelled" and copy.error == "stopped by hand"
    assert other.layers(copy.id) == stored.store.layers(original.id)
    assert other.folds(copy.id) == stored.store.folds(original.id) and other.folds(copy.id)
    assert [(m.step, m.note) for m in other.marks(copy.id)] == [
        (20, "the plain band drifts"),
        (35, "BN steady"),
    ]
    theirs = [Frame.model_validate_json(t) for t in other.frames(copy.id)]
    assert theirs == stored.frames


def test_the_lines_are_the_ones_train_out_writes(stored: Stored):
    kinds = [json.loads(line)["type"] for line in lines(stored)]
    assert kinds[:3] == ["experiment", "layers", "folds"]
    assert kinds[3:-2] == ["frame"] * len(stored.frames)
    assert kinds[-2:] == ["mark", "mark"]


def test_a_snapshot_of_a_running_experiment_imports_as_interrupted(stored: Stored):
    text = lines(stored)
    text[0] = (
        text[0]
        .replace('"status": "cancelled"', '"status": "running"')
        .replace('"runs": ["cancelled", "done"]', '"runs": ["running", "done"]')
    )
    got = read_lines(text, "x")
    assert got.ended is not None
    assert (got.ended.status, got.ended.runs) == ("interrupted", ["interrupted", "done"])


def test_run_statuses_must_match_the_variants(stored: Stored, tmp_path: Path):
    text = lines(stored)
    text[0] = text[0].replace('"runs": ["cancelled", "done"]', '"runs": ["done"]')
    with pytest.raises(ImportRefused, match="1 run statuses for 2 variants"):
        import_lines(Store(tmp_path / "x.sqlite3"), text, "x")
