"""Command line: `normscope serve`, `train`, `import`, `export`, `prune`, `lessons` and `lectures`."""

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError

if TYPE_CHECKING:
    from normscope.engine.trainer import Trainer
    from normscope.lessons import Entry, LectureEntry, Lectures, Lessons
    from normscope.lessons.catalogue import File
    from normscope.schemas import ExperimentSpec
    from normscope.store import Store


def _spec_of(args: argparse.Namespace, command: str) -> "tuple[ExperimentSpec, Entry | None] | int":
    """The spec to train (a lesson's, with spec.lesson set, or a file's) and its lesson; else an exit code."""
    from normscope.config import Settings
    from normscope.lessons import Lessons
    from normscope.schemas import ExperimentSpec

    try:
        if args.preset:
            entry = _lesson(Lessons.from_settings(Settings()), args.preset, command)
            if entry is None:
                return 2
            if entry.lesson is None:
                print(
                    f"normscope {command}: lesson {entry.id!r} is broken:",
                    *entry.errors,
                    sep="\n",
                    file=sys.stderr,
                )
                return 2
            spec = entry.lesson.spec.model_copy(update={"lesson": entry.id})
        else:
            entry, spec = None, ExperimentSpec.model_validate_json(Path(args.spec).read_text())
    except OSError as e:
        print(f"normscope {command}: {e}", file=sys.stderr)
        return 2
    except ValidationError as e:
        print(f"normscope {command}: invalid spec {args.spec}:\n{e}", file=sys.stderr)
        return 2
    if args.steps:
        spec = spec.model_copy(update={"steps": args.steps})
    return spec, entry


def _headless(
    spec: "ExperimentSpec", args: argparse.Namespace, out: TextIO | None, folds: bool = False
) -> "tuple[Trainer, str, str]":
    """Trains the spec here with a progress bar, writing the JSON lines `normscope import` reads back to out
    (the experiment, its layers, the frames, and with folds the BN folds at the end); the trainer, its final
    status and the device. Raises DatasetError."""
    import torch
    from tqdm import tqdm

    from normscope.config import Settings, resolve_devices
    from normscope.engine.data import DataRoot
    from normscope.engine.trainer import Trainer
    from normscope.schemas import FoldResult, Frame, LayersMessage

    settings = Settings()
    torch.set_num_threads(settings.torch_threads)
    device = resolve_devices(args.device or settings.device)[0]
    bar = tqdm(total=spec.steps, unit="step", desc=spec.name[:40], disable=args.quiet)
    accs = ["-"] * len(spec.variants)  # each variant's latest validation: kept between validations

    def on_frame(frame: Frame) -> None:
        bar.update(frame.step - frame.prev_step)
        for r in frame.runs:
            if r.val is not None and r.val.acc is not None:
                accs[r.index] = f"{r.val.acc:.3f}"
        bar.set_postfix_str(" ".join(f"{v.label}:{a}" for v, a in zip(spec.variants, accs, strict=True)))
        if out:
            out.write(frame.model_dump_json() + "\n")

    def on_folds(found: list[FoldResult]) -> None:
        if out:
            out.write(json.dumps({"type": "folds", "folds": [f.model_dump() for f in found]}) + "\n")

    downloads: dict[str, tqdm] = {}

    def on_download(file: str, done: int, total: int) -> None:
        if file not in downloads:
            downloads[file] = tqdm(total=total, unit="B", unit_scale=True, desc=file, disable=args.quiet)
        downloads[file].update(done - downloads[file].n)
        if done >= total:
            downloads[file].close()

    root = DataRoot(settings.datasets_dir, settings.downloads, settings.dataset_mirror, on_download)
    try:
        trainer = Trainer(
            spec, device, on_frame=on_frame, data_root=root, on_folds=on_folds if folds else None
        )
        if out:
            out.write(json.dumps({"type": "experiment", "spec": spec.model_dump()}) + "\n")
            out.write(LayersMessage(layers=trainer.layout()).model_dump_json() + "\n")
        status = trainer.run()
    finally:
        bar.close()
    runs = ", ".join(f"{r.label}={r.status}" for r in trainer.runs)
    print(f"{status} at step {trainer.step} on {device}: {runs}", file=sys.stderr)
    return trainer, status, device


def _train(args: argparse.Namespace) -> int:
    got = _spec_of(args, "train")
    if isinstance(got, int):
        return got  # before torch is imported: a typo is answered in 0.4 s, not 2
    spec, _ = got
    from normscope.engine.data import DatasetError

    try:
        with open(args.out, "w") if args.out else contextlib.nullcontext() as out:
            _headless(spec, args, out)
    except (OSError, DatasetError) as e:
        print(f"normscope train: {e}", file=sys.stderr)
        return 2
    return 0


def _record(args: argparse.Namespace) -> int:
    """Trains a lesson here (on a GPU, say) and keeps the frames beside the lesson for a room to play:
    <id>.recording.jsonl.gz, and the lesson file's `recording` saying how it was made. A built-in lesson is
    saved as an own lesson <id>-recorded. Exit 1 when the recording would be refused where it is played."""
    import gzip
    import time

    from normscope.config import Settings
    from normscope.lessons import recorded, write_file
    from normscope.schemas import Recording
    from normscope.store.recordings import RecordingRefused, read_recording

    got = _spec_of(args, "record")
    if isinstance(got, int):
        return got  # before torch is imported, as in train
    spec, entry = got
    import torch

    from normscope.engine.data import DatasetError

    assert entry is not None
    settings = Settings()
    own = entry.id if entry.source == "own" else f"{entry.id}-recorded"
    folder = (
        Path(args.out)
        if args.out
        else settings.lessons_dir
        if entry.source == "builtin"
        else entry.path.parent
    )
    name = f"{own}.recording.jsonl.gz"
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.partial"
    started = time.monotonic()
    try:
        # trained at full speed: the spec's pace is applied again when the recording plays
        with gzip.open(partial, "wt", encoding="utf-8") as out:
            trainer, status, device = _headless(spec.model_copy(update={"pace": None}), args, out, folds=True)
        wall = time.monotonic() - started
        checked = sum(1 for _ in read_recording(partial, int(settings.max_recording_mb * 2**20)))
    except (OSError, DatasetError) as e:
        partial.unlink(missing_ok=True)
        print(f"normscope record: {e}", file=sys.stderr)
        return 2
    except RecordingRefused as e:
        partial.unlink(missing_ok=True)
        print(f"normscope record: the recording would be refused: {e}", file=sys.stderr)
        return 1
    partial.replace(folder / name)
    recording = Recording(
        file=name,
        device=torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
        torch=torch.__version__,
        created_at=datetime.now(UTC).replace(microsecond=0),
        steps=trainer.step,
        wall_s=round(wall, 3),
    )
    lesson_id, text = recorded(entry, recording)
    path = write_file(folder, lesson_id, text)
    print(
        f"recorded {lesson_id} ({status}, {trainer.step} steps, {checked} lines) in {wall:.1f} s on {device}:"
    )
    print(f"  {folder / name}\n  {path}")
    return 0


AGE_UNITS = {"d": 86400, "h": 3600, "m": 60}


def parse_age(text: str) -> timedelta:
    """'30d', '12h', '90m' as a timedelta."""
    unit = text[-1:]
    if unit not in AGE_UNITS or not text[:-1].isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not an age like 30d, 12h or 90m")
    return timedelta(seconds=int(text[:-1]) * AGE_UNITS[unit])


def _existing_store(command: str) -> "Store | None":
    """The server's store, opened beside it (SQLite in WAL mode); None, said why, when there is none."""
    from normscope.config import Settings
    from normscope.store import Store

    path = Settings().data_dir / "normscope.sqlite3"
    if not path.is_file():
        print(f"normscope {command}: no store at {path} (NORMSCOPE_DATA_DIR)", file=sys.stderr)
        return None
    return Store(path)


def _prune(args: argparse.Namespace) -> int:
    store = _existing_store("prune")
    if store is None:
        return 2
    try:
        before = store.used_bytes()
        old = store.finished_before(datetime.now(UTC) - args.older_than)
        if not args.dry_run:
            for eid in old:
                store.delete(eid)
        freed = before - store.used_bytes()
    finally:
        store.close()
    done = "would delete" if args.dry_run else "deleted"
    tail = "" if args.dry_run else f"; {freed / 1e6:.1f} MB freed for new frames"
    print(f"{done} {len(old)} finished experiment(s) older than {args.older_than}{tail}")
    for eid in old:
        print(f"  {eid}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from normscope.config import Settings
    from normscope.store import Store
    from normscope.store.imports import ImportRefused, import_lines

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.data_dir / "normscope.sqlite3")
    try:
        with open(args.file) as f:
            experiment = import_lines(store, f, args.name or Path(args.file).stem)
    except OSError as e:
        print(f"normscope import: {e}", file=sys.stderr)
        return 2
    except ImportRefused as e:
        print(f"normscope import: {args.file}: {e}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"imported {experiment.id}: {experiment.spec.name!r}, {experiment.step} steps")
    print(f"  open /experiments/{experiment.id} on the server that uses {settings.data_dir}")
    return 0


def _export(args: argparse.Namespace) -> int:
    import time

    from normscope.exports import FORMATS, file_name

    store = _existing_store("export")
    if store is None:
        return 2
    try:
        experiment = store.get(args.id)
        if experiment is None:
            print(f"normscope export: no experiment {args.id!r} in {store.path}", file=sys.stderr)
            return 2
        out = Path(args.out or file_name(experiment, args.format))
        started = time.perf_counter()
        try:
            with out.open("wb") as f:
                for chunk in FORMATS[args.format].chunks(store, experiment):
                    f.write(chunk)
        except BaseException:
            out.unlink(missing_ok=True)  # no half-written export left behind
            raise
    except OSError as e:
        print(f"normscope export: {e}", file=sys.stderr)
        return 2
    finally:
        store.close()
    took = time.perf_counter() - started
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {args.format}) in {took:.2f} s")
    return 0


def _lesson(lessons: "Lessons", lesson_id: str, command: str) -> "Entry | None":
    """The lesson file of that id; None, naming the ones there are, when there is none."""
    return _file_of(lessons, lesson_id, command, "lesson")  # type: ignore[return-value]


def _file_of(
    files: "Lessons | Lectures", file_id: str, command: str, kind: str
) -> "Entry | LectureEntry | None":
    """The lesson or lecture file of that id; None, naming the ones there are, when there is none."""
    entry = files.get(file_id)
    if entry is None:
        known = ", ".join(dict.fromkeys(e.id for e in files.entries()))
        print(f"normscope {command}: no {kind} {file_id!r}; known: {known}", file=sys.stderr)
    return entry


def _show_file(entry: "File | None") -> int:
    """A file's text as it is on disk, or its errors (exit 2) when it could not be read."""
    if entry is None:
        return 2
    if entry.text is None:
        print(*entry.errors, sep="\n", file=sys.stderr)
        return 2
    print(entry.text, end="")
    return 0


def _toml_files(paths: list[str]) -> list[Path]:
    """The files named, a folder standing for its .toml files."""
    return [
        p for path in map(Path, paths) for p in (sorted(path.glob("*.toml")) if path.is_dir() else [path])
    ]


def _report_checked(checked: "Sequence[File]", kind: str) -> int:
    """Each file's errors or 'ok', a count on stderr; exit 1 when any is broken (a course's CI fails)."""
    for entry in checked:
        print("\n".join(entry.errors) or f"{entry.label}: ok")
    broken = sum(1 for e in checked if e.errors)
    print(f"{len(checked)} {kind} file(s), {broken} broken", file=sys.stderr)
    return 1 if broken else 0


def _lessons_list(args: argparse.Namespace) -> int:
    from normscope.config import Settings
    from normscope.lessons import Lessons

    entries = Lessons.from_settings(Settings()).entries()
    width = max(len(e.id) for e in entries)
    for e in entries:
        what = e.lesson.title if e.lesson is not None else f"BROKEN: {e.errors[0]}"
        print(f"{e.id:<{width}}  {e.source:<7}  {what}")
    return 0


def _lessons_show(args: argparse.Namespace) -> int:
    from normscope.config import Settings
    from normscope.lessons import Lessons

    return _show_file(_lesson(Lessons.from_settings(Settings()), args.id, "lessons show"))


def _lessons_check(args: argparse.Namespace) -> int:
    """Each file (a folder: its .toml files) read as the server would read an own lesson."""
    from normscope.lessons import Lessons

    checked = [_recording_checked(e) for e in Lessons.check(_toml_files(args.paths))]
    return _report_checked(checked, "lesson")


def _lectures() -> "Lectures":
    from normscope.config import Settings
    from normscope.lessons import Lectures, Lessons

    settings = Settings()
    return Lectures.from_settings(settings, Lessons.from_settings(settings))


def _lectures_list(args: argparse.Namespace) -> int:
    entries = _lectures().entries()
    width = max(len(e.id) for e in entries)
    for e in entries:
        what = (
            f"{e.lecture.title} ({len(e.lecture.lessons)} lessons)" if e.lecture else f"BROKEN: {e.errors[0]}"
        )
        print(f"{e.id:<{width}}  {e.source:<7}  {what}")
    return 0


def _lectures_show(args: argparse.Namespace) -> int:
    return _show_file(_file_of(_lectures(), args.id, "lectures show", "lecture"))


def _lectures_check(args: argparse.Namespace) -> int:
    """Each file (a folder: its .toml files) read as the server would read an own lecture, its lessons looked
    up among the lessons the server would list."""
    return _report_checked(_lectures().check(_toml_files(args.paths)), "lecture")


def _recording_checked(entry: "Entry") -> "Entry":
    """The entry, broken when its recording would be refused where it is played (read through, as played)."""
    from normscope.config import Settings
    from normscope.store.recordings import RecordingRefused, read_recording

    path = entry.recording_path()
    if path is None:
        return entry
    try:
        for _ in read_recording(path, int(Settings().max_recording_mb * 2**20)):
            pass
    except RecordingRefused as e:
        return entry.broken(f"recording {path.name}: {e}")
    return entry


def _serve(args: argparse.Namespace) -> int:
    from normscope.api.server import serve

    return serve(host=args.host, port=args.port)


def main(argv: list[str] | None = None) -> int:
    from normscope import __version__
    from normscope.exports import FORMATS

    parser = argparse.ArgumentParser(prog="normscope", description="Watch Batch Normalization work, live.")
    parser.add_argument("--version", action="version", version=f"normscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="start the web server (dashboard, REST, websockets)")
    s.add_argument("--host", help="address to bind (default NORMSCOPE_HOST or 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default NORMSCOPE_PORT or 8000)")
    s.set_defaults(func=_serve)
    t = sub.add_parser("train", help="train headless and write frames as JSON lines")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", metavar="LESSON", help="a lesson's id (see normscope lessons list)")
    src.add_argument("--spec", help="an ExperimentSpec JSON file")
    t.add_argument("--out", help="write frames here, one JSON object per line")
    t.add_argument("--steps", type=int, help="override the spec's step count")
    t.add_argument("--device", help="cpu, cuda, cuda:N (default NORMSCOPE_DEVICE)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    rec = sub.add_parser(
        "record", help="train a lesson here (on a GPU) and keep its frames beside it for a room to play"
    )
    rec.add_argument(
        "preset", metavar="LESSON", help="the lesson's id (a built-in one is saved as an own <id>-recorded)"
    )
    rec.add_argument(
        "--out",
        help="the folder for the lesson file and its recording (default: the lesson's own folder; "
        "NORMSCOPE_DATA_DIR/lessons for a built-in)",
    )
    rec.add_argument("--steps", type=int, help="override the spec's step count")
    rec.add_argument("--device", help="cpu, cuda, cuda:N (default NORMSCOPE_DEVICE)")
    rec.add_argument("--quiet", action="store_true", help="no progress bar")
    rec.set_defaults(func=_record)
    im = sub.add_parser("import", help="load a JSON-lines file (train --out, watch(out=...)) for replay")
    im.add_argument("file", help="the .jsonl file")
    im.add_argument("--name", help="the experiment's name when the file carries none (default: file name)")
    im.set_defaults(func=_import)
    ex = sub.add_parser("export", help="write an experiment as tensorboard (zip), csv, jsonl or html")
    ex.add_argument("id", help="the experiment's id (the server may be down: this reads the store)")
    ex.add_argument("--format", required=True, choices=list(FORMATS))
    ex.add_argument("--out", help="the file to write (default: normscope-<name>-<id>.<format> here)")
    ex.set_defaults(func=_export)
    pr = sub.add_parser("prune", help="delete finished experiments older than an age, with their frames")
    pr.add_argument("--older-than", type=parse_age, required=True, help="an age: 30d, 12h or 90m")
    pr.add_argument("--dry-run", action="store_true", help="list them, delete nothing")
    pr.set_defaults(func=_prune)
    le = sub.add_parser(
        "lessons", help="list, show or check lessons (built-in, own and on NORMSCOPE_LESSONS_PATH)"
    )
    what = le.add_subparsers(dest="action", required=True)
    listing = what.add_parser(
        "list", help="each lesson's id, source and title (a broken file: its first error)"
    )
    listing.set_defaults(func=_lessons_list)
    show = what.add_parser("show", help="a lesson's file")
    show.add_argument("id", help="the lesson's id")
    show.set_defaults(func=_lessons_show)
    check = what.add_parser(
        "check", help="validate lesson files; exit 1 if any is broken (for a course's CI)"
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="a lesson file, or a folder of them")
    check.set_defaults(func=_lessons_check)
    lc = sub.add_parser(
        "lectures", help="list, show or check lectures (ordered lists of lessons: built-in, own, on the path)"
    )
    how = lc.add_subparsers(dest="action", required=True)
    how.add_parser(
        "list", help="each lecture's id, source and title (a broken file: its first error)"
    ).set_defaults(func=_lectures_list)
    show_lecture = how.add_parser("show", help="a lecture's file")
    show_lecture.add_argument("id", help="the lecture's id")
    show_lecture.set_defaults(func=_lectures_show)
    check_lectures = how.add_parser(
        "check", help="validate lecture files and their lessons; exit 1 if any is broken (for a course's CI)"
    )
    check_lectures.add_argument(
        "paths", nargs="+", metavar="PATH", help="a lecture file, or a folder of them"
    )
    check_lectures.set_defaults(func=_lectures_check)
    args = parser.parse_args(argv)
    return args.func(args)
