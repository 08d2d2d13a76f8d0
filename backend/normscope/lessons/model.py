"""The Lesson family: what a lesson file holds, what GET /api/presets shows of it, and how it is listed."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import ErrorDetails

from normscope.schemas import ExperimentSpec, Recording
from normscope.schemas.frame import Tap
from normscope.schemas.hall import MAX_MARKS, MAX_NOTE
from normscope.schemas.spec import LESSON_ID

Source = Literal["builtin", "own"]
MAX_SUMMARY = 8000


class Strict(BaseModel):
    """No unknown fields (a typo in a lesson file is an error), and no "5" for a number."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LessonView(Strict):
    """Where the dashboard opens for a lesson."""

    layer: str = Field("hidden3", min_length=1, max_length=200)
    tap: Tap = "normed"
    chart: str = Field("bands", pattern=r"^[a-z][a-z-]{0,31}$", description="The chart it opens on.")


class LessonMark(Strict):
    """A prepared annotation, drawn on the time-axis charts like the presenter's marks."""

    step: int = Field(ge=1, description="At most the spec's steps.")
    note: str = Field("", max_length=MAX_NOTE)


class Preset(BaseModel):
    """A lesson as GET /api/presets answers it: the shape presets had before lessons were files."""

    model_config = ConfigDict(strict=True)

    id: str = Field(pattern=LESSON_ID, description="Also the file's name: <id>.toml.")
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(
        min_length=1, max_length=MAX_SUMMARY, description="What to look for: plain text, in paragraphs."
    )
    spec: ExperimentSpec
    view: LessonView = Field(default_factory=LessonView, validate_default=True)


class Lesson(Preset):
    """A spec plus what the lecturer says about it: one TOML file."""

    model_config = ConfigDict(extra="forbid", strict=True)

    marks: list[LessonMark] = Field(default_factory=list, max_length=MAX_MARKS)
    recording: Recording | None = None

    @field_validator("view")
    @classmethod
    def _layer_exists(cls, view: LessonView, info: ValidationInfo) -> LessonView:
        spec = info.data.get("spec")
        if spec is not None and view.layer not in spec.model.layer_names:
            names = spec.model.layer_names
            shown = ", ".join(names) if len(names) <= 8 else f"{', '.join(names[:3])} … {names[-1]}"
            raise ValueError(f"the model has no layer {view.layer!r} ({shown})")
        return view

    @field_validator("marks")
    @classmethod
    def _marks_within_steps(cls, marks: list[LessonMark], info: ValidationInfo) -> list[LessonMark]:
        spec = info.data.get("spec")
        for i, mark in enumerate(marks):
            if spec is not None and mark.step > spec.steps:
                raise ValueError(f"mark {i + 1} at step {mark.step} is past the last step, {spec.steps}")
        return marks


class LessonLaunch(Strict):
    mode: Literal["train", "recording"] | None = Field(
        None,
        description="train: a worker trains the spec; recording: the server plays the lesson's recording. "
        "Left out: train, unless the lesson has a recording and the server trains on no GPU.",
    )
    lecture: str | None = Field(
        None,
        pattern=LESSON_ID,
        description="Launched as part of this lecture (spec.lecture): the lesson must be one of its lessons.",
    )


class LessonInfo(BaseModel):
    """One lesson file in GET /api/lessons: the lesson, where it comes from, and for a file that does not
    validate the errors that say why (its other fields are null then)."""

    id: str
    title: str | None = None
    summary: str | None = None
    spec: ExperimentSpec | None = None
    view: LessonView | None = None
    marks: list[LessonMark] | None = None
    recording: Recording | None = None
    source: Source
    errors: list[str] = Field(default_factory=list, description="Each 'file: field: message'.")


def where(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a TOML file writes it: spec.variants[0].lr."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "lesson"


def message(error: ErrorDetails) -> str:
    """The error's own words: a validator's message without pydantic's "Value error, " before it."""
    cause = error.get("ctx", {}).get("error")
    return str(cause) if error["type"] == "value_error" and cause is not None else error["msg"]


def field_errors(e: ValidationError) -> list[str]:
    """Each error as 'field: message'."""
    return [f"{where(error['loc'])}: {message(error)}" for error in e.errors()]
