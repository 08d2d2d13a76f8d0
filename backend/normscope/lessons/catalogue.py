"""Lesson files: reading one (a lesson, or the errors that say why not), the catalogue of built-in and own
lessons, and writing own ones."""

import dataclasses
import functools
import os
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self, TypeVar

import tomli_w
from pydantic import BaseModel, ValidationError

from normscope.config import Settings
from normscope.lessons.model import Lesson, LessonInfo, Source, field_errors
from normscope.schemas import Recording

MAX_LESSON_BYTES = 256 * 1024
BUILTIN_DIR = Path(__file__).parent
# The order the built-ins are offered in: the course's, easy lessons first, not the alphabet's.
BUILTIN_ORDER = (
    "ioffe-szegedy",
    "normalize-inputs",
    "bigger-lr",
    "before-after",
    "deep-sigmoid",
    "train-vs-eval",
    "small-batches",
    "panda",
    "search-grid",
    "search-random",
    "lr-sweep",
    "landscape",
    "mnist-ioffe",
    "cifar-vgg",
    "cifar-resnet",
    "cifar-resnet56",
    "shapes-vgg",
)


class LessonConflict(Exception):
    """The lesson cannot be added, changed or deleted as asked (its id is taken, or it is not an own file)."""


@dataclass(frozen=True)
class File:
    """One TOML file as read (a lesson's or a lecture's): its errors, each 'label: field: message', say why
    what it holds is not usable; a subclass adds the field (named by `holds`) that holds what was read."""

    holds: ClassVar[str]
    kind: ClassVar[str]  # what the file holds, in an error's words: "lesson", "lecture"
    id: str
    source: Source
    path: Path
    label: str
    errors: tuple[str, ...] = ()
    text: str | None = None  # the file's text; None when it was not read (too large) or is not UTF-8

    def broken(self, *why: str) -> Self:
        errors = (*self.errors, *(f"{self.label}: {w}" for w in why))
        return dataclasses.replace(self, **{self.holds: None}, errors=errors)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Entry(File):
    """One lesson file as read: its lesson, or the errors that say why not."""

    holds: ClassVar[str] = "lesson"
    kind: ClassVar[str] = "lesson"
    lesson: Lesson | None = None

    def info(self) -> LessonInfo:
        fields = dict(self.lesson) if self.lesson is not None else {"id": self.id}
        return LessonInfo(**fields, source=self.source, errors=list(self.errors))

    def recording_path(self) -> Path | None:
        """The lesson's recording, beside its file: the model's pattern makes `file` a plain name (no /)."""
        if self.lesson is None or self.lesson.recording is None:
            return None
        return self.path.parent / self.lesson.recording.file


F = TypeVar("F", bound=File)


def read_as(cls: type[F], model: type[BaseModel], path: Path, source: Source, label: str) -> F:
    """A file named <id>.toml (its `id` may be left out) read into `model`; never raises for what it holds."""
    entry = cls(path.stem, source, path, label)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_LESSON_BYTES + 1)
    except OSError as e:
        return entry.broken(f"cannot be read: {e.strerror}")
    if len(raw) > MAX_LESSON_BYTES:
        return entry.broken(
            f"larger than {MAX_LESSON_BYTES // 1024} KB, the most a {cls.kind} file may be; not read"
        )
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return entry.broken("not UTF-8 text")
    entry = dataclasses.replace(entry, text=text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        return entry.broken(f"not TOML: {e}")
    data.setdefault("id", path.stem)
    try:
        held = model.model_validate(data)
    except ValidationError as e:
        return entry.broken(*field_errors(e))
    if data["id"] != path.stem:  # validated: a string, the model's id
        return entry.broken(f"id: {data['id']!r} is not the file's name, {path.name}")
    return dataclasses.replace(entry, **{cls.holds: held})  # type: ignore[arg-type]


def read(path: Path, source: Source, label: str) -> Entry:
    """A lesson file, named <id>.toml (its `id` may be left out); never raises for what the file holds."""
    return read_as(Entry, Lesson, path, source, label)


def to_toml(lesson: Lesson) -> str:
    """The lesson as its file: the spec without the fields at their defaults (and a sweep without the variants
    it makes), so the file shows what the lesson chose."""
    data = lesson.model_dump(exclude={"spec", "marks"}, exclude_none=True)
    if lesson.marks:
        data["marks"] = [m.model_dump() for m in lesson.marks]
    made = {"variants"} if lesson.spec.sweep is not None else None
    data["spec"] = lesson.spec.model_dump(exclude=made, exclude_defaults=True, exclude_none=True)
    return tomli_w.dumps(data, multiline_strings=True)


def recorded(entry: Entry, recording: Recording) -> tuple[str, str]:
    """The id and TOML text of the lesson that carries a new recording: an own lesson keeps its id and text
    (the recording appended, or the file written out when it had one); a built-in one is copied as an own
    lesson <id>-recorded, since an own lesson cannot take a built-in's id."""
    assert entry.lesson is not None
    if entry.source == "own" and entry.text is not None and "recording" not in tomllib.loads(entry.text):
        table = tomli_w.dumps({"recording": recording.model_dump(exclude_none=True)})
        return entry.id, f"{entry.text.rstrip()}\n\n{table}"
    lesson = entry.lesson.model_copy(update={"recording": recording})
    if entry.source == "builtin":
        title = f"{lesson.title[:185]} (recorded)"
        lesson = lesson.model_copy(update={"id": f"{lesson.id}-recorded", "title": title})
    return lesson.id, to_toml(lesson)


def write_file(folder: Path, lesson_id: str, text: str) -> Path:
    """<id>.toml in folder, written whole or not at all (a temporary file renamed over it)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{lesson_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, folder / f"{lesson_id}.toml")
    finally:
        Path(tmp).unlink(missing_ok=True)
    return folder / f"{lesson_id}.toml"


@functools.cache
def builtins() -> tuple[Entry, ...]:
    """The lessons that come with normscope: read once, they do not change while it runs."""
    rank = {lesson_id: i for i, lesson_id in enumerate(BUILTIN_ORDER)}
    files = sorted(BUILTIN_DIR.glob("*.toml"), key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    return tuple(read(p, "builtin", f"lessons/{p.name}") for p in files)


def builtin_lesson(lesson_id: str) -> Lesson:
    """A lesson that comes with normscope, for the code that trains one by name (benchmarks, tests)."""
    entry = next((e for e in builtins() if e.id == lesson_id), None)
    if entry is None or entry.lesson is None:
        raise KeyError(f"no built-in lesson {lesson_id!r}")
    return entry.lesson


def claimed(held: Sequence[F], more: Iterable[F]) -> list[F]:
    """Every entry in order, each id held by its first file: a later file of the same id is broken by it."""
    out, holders = list(held), {e.id: e for e in held}
    for entry in more:
        holder = holders.setdefault(entry.id, entry)
        if holder is not entry:
            builtin = holder.source == "builtin"
            kind = entry.kind
            whose = (
                f"a built-in {kind}'s; an own {kind} needs another" if builtin else f"taken by {holder.label}"
            )
            entry = entry.broken(f"id: {entry.id!r} is {whose}")
        out.append(entry)
    return out


class Lessons:
    """The built-in lessons, then own ones: the presenter's folder, then NORMSCOPE_LESSONS_PATH's folders in
    order. Files are read at every call, so an edited file counts at once."""

    def __init__(self, own_dir: Path, folders: Sequence[Path] = ()) -> None:
        self.own_dir = own_dir
        unique: dict[Path, Path] = {}
        for folder in (own_dir, *folders):
            unique.setdefault(folder.resolve(), folder)
        self.folders = list(unique.values())

    @classmethod
    def from_settings(cls, settings: Settings) -> "Lessons":
        return cls(settings.lessons_dir, settings.lesson_folders)

    def entries(self) -> list[Entry]:
        files = [p for folder in self.folders for p in sorted(folder.glob("*.toml"))]
        return claimed(builtins(), (read(p, "own", f"{p.parent.name}/{p.name}") for p in files))

    def lessons(self) -> list[Lesson]:
        """The lessons that validate."""
        return [e.lesson for e in self.entries() if e.lesson is not None]

    def get(self, lesson_id: str) -> Entry | None:
        """The file that holds the id (a later file of the same id is listed, broken, but never this)."""
        return next((e for e in self.entries() if e.id == lesson_id), None)

    @staticmethod
    def check(paths: Iterable[Path]) -> list[Entry]:
        """Files as `normscope lessons check` names them, each read as an own lesson would be."""
        held = builtins()
        return claimed(held, (read(p, "own", str(p)) for p in paths))[len(held) :]

    def add(self, lesson: Lesson, text: str | None = None) -> None:
        """A new own lesson; text: the TOML as sent (its comments kept), else the lesson written out."""
        held = self.get(lesson.id)
        if held is not None:
            raise LessonConflict(f"a lesson {lesson.id!r} exists already ({held.label})")
        self._write(lesson, text, replace=False)

    def replace(self, lesson: Lesson, text: str | None = None) -> None:
        self._own(lesson.id, "changed; save a copy under another id")
        self._write(lesson, text, replace=True)

    def delete(self, lesson_id: str) -> None:
        self._own(lesson_id, "deleted; save a copy").path.unlink(missing_ok=True)

    def _own(self, lesson_id: str, refused: str) -> Entry:
        held = self.get(lesson_id)
        if held is None:
            raise KeyError(lesson_id)
        if held.source == "builtin":
            raise LessonConflict(f"built-in lessons cannot be {refused}")
        if held.path.parent != self.own_dir:
            raise LessonConflict(f"{held.label} comes from NORMSCOPE_LESSONS_PATH: change it there")
        return held

    def _write(self, lesson: Lesson, text: str | None, replace: bool) -> None:
        """Written whole or not at all: a temporary file renamed over the lesson's own name in own_dir."""
        self.own_dir.mkdir(parents=True, exist_ok=True)
        path = self.own_dir / f"{lesson.id}.toml"
        fd, tmp = tempfile.mkstemp(dir=self.own_dir, prefix=f".{lesson.id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(to_toml(lesson) if text is None else text)
            if replace:
                os.replace(tmp, path)
            else:
                os.link(tmp, path)  # fails if another request took the id meanwhile
        except FileExistsError:
            raise LessonConflict(
                f"a lesson {lesson.id!r} exists already ({path.parent.name}/{path.name})"
            ) from None
        finally:
            Path(tmp).unlink(missing_ok=True)
