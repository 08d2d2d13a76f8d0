"""The Lesson model: what a lesson may hold, and its errors in the words a lesson file's author reads."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from normscope.lessons import Lesson, field_errors

BASE: dict = {
    "id": "bn-week3",
    "title": "Week 3",
    "summary": "What to look for.\n\nA second paragraph.",
    "spec": {"steps": 100},
}


def errors(**over: object) -> list[str]:
    with pytest.raises(ValidationError) as e:
        Lesson.model_validate({**BASE, **over})
    return field_errors(e.value)


def test_a_lesson_with_the_defaults_opens_on_todays_view():
    lesson = Lesson.model_validate(BASE)
    assert lesson.view.model_dump() == {"layer": "hidden3", "tap": "normed", "chart": "bands"}
    assert lesson.marks == [] and lesson.recording is None


@pytest.mark.parametrize("bad", ["", "../x", "a/b", "A", "-x", "x" * 65, "a.b", "a b"])
def test_an_id_is_a_slug(bad: str):
    assert errors(id=bad) == ["id: String should match pattern '^[a-z0-9][a-z0-9-]{0,63}$'"]


def test_unknown_fields_are_errors_at_every_level():
    assert errors(colour="red") == ["colour: Extra inputs are not permitted"]
    assert errors(view={"layr": "hidden1"}) == ["view.layr: Extra inputs are not permitted"]
    assert errors(spec={"optimizer": {"lrr": 0.1}}) == ["spec.optimizer.lrr: Extra inputs are not permitted"]
    assert errors(spec={"variants": [{"label": "a", "nrom": "batch"}]}) == [
        "spec.variants[0].nrom: Extra inputs are not permitted"
    ]


def test_values_out_of_bounds_name_their_field():
    assert errors(spec={"optimizer": {"lr": -1}}) == ["spec.optimizer.lr: Input should be greater than 0"]
    assert errors(view={"tap": "output"}) == ["view.tap: Input should be 'preact', 'normed', 'act' or 'grad'"]
    assert errors(marks=[{"step": "3"}]) == ["marks[0].step: Input should be a valid integer"]
    assert errors(marks=[{"step": 0}]) == ["marks[0].step: Input should be greater than or equal to 1"]
    assert errors(marks=[{"step": 5, "note": "x" * 141}]) == [
        "marks[0].note: String should have at most 140 characters"
    ]


def test_the_view_and_the_marks_must_fit_the_spec():
    assert errors(view={"layer": "hidden9"}) == [
        "view: the model has no layer 'hidden9' (hidden1, hidden2, hidden3, output)"
    ]
    deep = {"model": {"kind": "resnet", "depth": 56}, "dataset": {"name": "shapes"}}
    assert errors(spec=deep)[0].startswith(
        "view: the model has no layer 'hidden3' (stem, stage1.block1.conv1"
    )
    assert errors(marks=[{"step": 100}, {"step": 101, "note": "late"}]) == [
        "marks: mark 2 at step 101 is past the last step, 100"
    ]
    assert errors(spec={"variants": [{"label": "a"}, {"label": "a"}]}) == [
        "spec: variant labels must be unique, got ['a', 'a']"
    ]


def test_a_recording_is_described_fully():
    recording = {
        "file": "bn-week3.jsonl.gz",
        "device": "NVIDIA H200",
        "torch": "2.13.0",
        "created_at": datetime(2026, 1, 5, 10, tzinfo=UTC),
        "steps": 100,
        "wall_s": 12.5,
    }
    lesson = Lesson.model_validate({**BASE, "recording": recording})
    assert lesson.recording is not None and lesson.recording.wall_s == 12.5
    assert Lesson.model_validate_json(lesson.model_dump_json()) == lesson  # JSON: created_at as text
    assert json.loads(lesson.model_dump_json())["recording"]["created_at"] == "2026-01-05T10:00:00Z"
    assert errors(recording={**recording, "file": "../up.jsonl"}) == [
        "recording.file: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'"
    ]
    assert errors(recording={"file": "x.jsonl"})[0] == "recording.device: Field required"
