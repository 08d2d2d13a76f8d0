"""Lectures: an ordered list of lessons in one TOML file (`lectures/<id>.toml`: `title`, `lessons`), built-in
beside the built-in lessons, own ones in $NORMSCOPE_DATA_DIR/lectures/ and the `lectures/` folder of each
NORMSCOPE_LESSONS_PATH folder. A lecture naming a lesson that is missing or broken is listed, broken."""

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, field_validator

from normscope.config import Settings
from normscope.lessons.catalogue import BUILTIN_DIR, Entry, File, Lessons, claimed, read_as
from normscope.lessons.model import Source, Strict
from normscope.schemas.spec import LESSON_ID

MAX_LESSONS = 100
LessonRef = Annotated[str, Field(pattern=LESSON_ID)]


class Lecture(Strict):
    """An ordered list of lessons, shown one after the other to the room."""

    id: str = Field(pattern=LESSON_ID, description="Also the file's name: lectures/<id>.toml.")
    title: str = Field(min_length=1, max_length=200)
    lessons: list[LessonRef] = Field(
        min_length=1, max_length=MAX_LESSONS, description="Lesson ids, in the order they are taught."
    )

    @field_validator("lessons")
    @classmethod
    def _once_each(cls, lessons: list[str]) -> list[str]:
        twice = sorted({i for i in lessons if lessons.count(i) > 1})
        if twice:
            raise ValueError(f"each lesson once: {', '.join(twice)} more than once")
        return lessons

    def position(self, lesson_id: str | None) -> int | None:
        """The lesson's place in the lecture, from 1; None when it is not in it."""
        return self.lessons.index(lesson_id) + 1 if lesson_id in self.lessons else None


class LectureInfo(BaseModel):
    """One lecture file in GET /api/lectures: for one that does not validate (or names a lesson that is
    missing or broken) the errors say why, and its other fields are null."""

    id: str
    title: str | None = None
    lessons: list[str] | None = None
    source: Source
    errors: list[str] = Field(default_factory=list, description="Each 'file: field: message'.")


@dataclass(frozen=True)
class LectureEntry(File):
    holds: ClassVar[str] = "lecture"
    kind: ClassVar[str] = "lecture"
    lecture: Lecture | None = None

    def info(self) -> LectureInfo:
        fields = self.lecture.model_dump() if self.lecture is not None else {"id": self.id}
        return LectureInfo(**fields, source=self.source, errors=list(self.errors))


def read_lecture(path: Path, source: Source, label: str) -> LectureEntry:
    return read_as(LectureEntry, Lecture, path, source, label)


@functools.cache
def builtin_lectures() -> tuple[LectureEntry, ...]:
    """The lectures that come with normscope (their lessons are checked against the catalogue when listed)."""
    files = sorted((BUILTIN_DIR / "lectures").glob("*.toml"))
    return tuple(read_lecture(p, "builtin", f"lectures/{p.name}") for p in files)


def with_lessons(entry: LectureEntry, lessons: dict[str, Entry]) -> LectureEntry:
    """The lecture broken by every lesson it names that is not in the catalogue or does not validate."""
    if entry.lecture is None:
        return entry
    why = []
    for i, lesson_id in enumerate(entry.lecture.lessons):
        held = lessons.get(lesson_id)
        if held is None:
            why.append(f"lessons[{i}]: no lesson {lesson_id!r}")
        elif held.lesson is None:
            why.append(f"lessons[{i}]: the lesson {lesson_id!r} does not validate ({held.label})")
    return entry.broken(*why) if why else entry


class Lectures:
    """The built-in lectures, then own ones (the presenter's folder, then each NORMSCOPE_LESSONS_PATH folder's
    lectures/), read at every call as lessons are."""

    def __init__(self, lessons: Lessons, own_dir: Path, folders: Sequence[Path] = ()) -> None:
        self.lessons, self.own_dir = lessons, own_dir
        unique: dict[Path, Path] = {}
        for folder in (own_dir, *folders):
            unique.setdefault(folder.resolve(), folder)
        self.folders = list(unique.values())

    @classmethod
    def from_settings(cls, settings: Settings, lessons: Lessons) -> "Lectures":
        return cls(lessons, settings.lectures_dir, [f / "lectures" for f in settings.lesson_folders])

    def entries(self) -> list[LectureEntry]:
        files = [p for folder in self.folders for p in sorted(folder.glob("*.toml"))]
        own = (read_lecture(p, "own", self._label(p)) for p in files)
        held = {e.id: e for e in self.lessons.entries()}
        return [with_lessons(e, held) for e in claimed(builtin_lectures(), own)]

    def _label(self, path: Path) -> str:
        """lectures/<id>.toml for the presenter's own; a course folder's name before it for the others."""
        folder = "" if path.parent == self.own_dir else f"{path.parent.parent.name}/"
        return f"{folder}lectures/{path.name}"

    def get(self, lecture_id: str) -> LectureEntry | None:
        return next((e for e in self.entries() if e.id == lecture_id), None)

    def check(self, paths: Sequence[Path]) -> list[LectureEntry]:
        """Files as `normscope lectures check` names them, each read as an own lecture would be."""
        held = builtin_lectures()
        lessons = {e.id: e for e in self.lessons.entries()}
        own = (read_lecture(p, "own", str(p)) for p in paths)
        return [with_lessons(e, lessons) for e in claimed(held, own)[len(held) :]]
