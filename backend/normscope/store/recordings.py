"""A lesson's recording (`normscope record`'s JSON lines, gzipped), read as the untrusted file it is: a line
at a time, within bounds on the inflated bytes, on each line and on the frames, each line checked as
`normscope import` checks it. Nothing here holds more than one line."""

import errno
import gzip
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from normscope.schemas import ExperimentSpec, FoldResult, Frame, LayerInfo
from normscope.schemas.spec import MAX_FRAMES
from normscope.store.imports import ImportRefused, check_order, parse_line

MAX_LINE_BYTES = 8 * 2**20  # a frame of a deep net with many variants is a few MB of JSON
MAX_RECORDING_BYTES = 2 * 2**30  # inflated: NORMSCOPE_MAX_RECORDING_MB's default


class RecordingRefused(Exception):
    """The recording is not one to play (with the line and why)."""


@dataclass(frozen=True)
class Head:
    """What a player needs before the first frame: the spec trained and the layers' fixed edges."""

    spec: ExperimentSpec
    layers: list[LayerInfo]


Item = Head | Frame | list[FoldResult]


def _open(path: Path) -> gzip.GzipFile:
    """A regular file, the link itself never followed: a recording names no other file than its own."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # NONBLOCK: a FIFO must not hang us
    except OSError as e:
        why = "a symbolic link" if e.errno == errno.ELOOP else e.strerror
        raise RecordingRefused(f"{path.name}: cannot be read: {why}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RecordingRefused(f"{path.name}: not a regular file")
    return gzip.GzipFile(fileobj=os.fdopen(fd, "rb"), mode="rb")


def _lines(f: gzip.GzipFile, max_bytes: int) -> Iterator[str]:
    """Decoded lines, refused as soon as one is longer than MAX_LINE_BYTES or the whole past max_bytes."""
    total, n = 0, 0
    while True:
        n += 1
        try:
            raw = f.readline(MAX_LINE_BYTES + 1)
        except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as e:
            raise RecordingRefused(f"line {n}: not a whole gzip file: {e or type(e).__name__}") from None
        if not raw:
            return
        total += len(raw)
        if len(raw) > MAX_LINE_BYTES:
            raise RecordingRefused(
                f"line {n} is longer than {MAX_LINE_BYTES:,} bytes, the most a line may be"
            )
        if total > max_bytes:
            raise RecordingRefused(f"inflates past {max_bytes:,} bytes, the most a recording may (line {n})")
        try:
            yield raw.decode()
        except UnicodeDecodeError:
            raise RecordingRefused(f"line {n}: not UTF-8 text") from None


def read_recording(path: Path, max_bytes: int = MAX_RECORDING_BYTES) -> Iterator[Item]:
    """The head (the experiment and layers lines, before any frame), then frames and folds as they come,
    each checked; raises RecordingRefused at the first line that is not valid or passes a bound."""
    spec: ExperimentSpec | None = None
    layers: list[LayerInfo] | None = None
    head: Head | None = None
    last: int | None = None
    frames = 0
    with _open(path) as f:
        for n, line in enumerate(_lines(f, max_bytes), 1):
            try:
                parsed = parse_line(n, line)
            except ImportRefused as e:
                raise RecordingRefused(str(e)) from None
            match parsed:
                case "experiment", (got, _):
                    spec = spec or got
                case "layers", got:
                    layers = layers or got
                case "folds", folds:
                    yield folds
                case "frame", frame:
                    if head is None:
                        raise RecordingRefused(f"line {n}: a frame before the experiment and layers lines")
                    _check_frame(n, frame, head.spec, last)
                    last, frames = frame.step, frames + 1
                    if frames > MAX_FRAMES:
                        raise RecordingRefused(
                            f"more than {MAX_FRAMES:,} frames, the most an experiment keeps"
                        )
                    yield frame
            if head is None and spec is not None and layers is not None:
                head = Head(spec, layers)
                yield head
    if head is None:
        raise RecordingRefused("no experiment line or no layers line: is this a file from normscope record?")
    if not frames:
        raise RecordingRefused("no frames")


def _check_frame(n: int, frame: Frame, spec: ExperimentSpec, last: int | None) -> None:
    try:
        check_order(n, frame, last)
    except ImportRefused as e:
        raise RecordingRefused(str(e)) from None
    if frame.step > spec.steps:
        raise RecordingRefused(f"line {n}: step {frame.step} is past the spec's {spec.steps} steps")
    variants = len(spec.variants)
    if any(r.index >= variants for r in frame.runs):
        raise RecordingRefused(f"line {n}: a run past the spec's {variants} variants")


def read_head(path: Path, max_bytes: int = MAX_RECORDING_BYTES) -> Head:
    """The head alone, read before a launch answers: what can be refused up front is refused then."""
    items = read_recording(path, max_bytes)
    try:
        for item in items:
            if isinstance(item, Head):
                return item
    finally:
        items.close()
    raise AssertionError("read_recording yields a head or raises")
