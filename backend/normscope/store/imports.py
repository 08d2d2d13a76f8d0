"""`normscope import`: a JSON-lines file (from `normscope train --out` or `normscope.watch(out=...)`) into the
store as a finished experiment, checked line by line; a bad file stores nothing."""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ValidationError

from normscope.schemas import (
    TERMINAL,
    Experiment,
    ExperimentSpec,
    ExternalSpec,
    FoldResult,
    Frame,
    LayerInfo,
    MarkCreate,
    ProbeSpec,
    VariantSpec,
)
from normscope.schemas.experiment import ExperimentStatus, RunState
from normscope.schemas.hall import MAX_MARKS
from normscope.store.db import Store

MAX_IMPORT_FRAMES = 20_000


class ImportRefused(Exception):
    """The file is not one normscope wrote (with the line and why)."""


class Ending(BaseModel):
    """An exported experiment line's status, error and run statuses (train --out writes none)."""

    status: ExperimentStatus
    error: str | None = None
    runs: list[RunState]


@dataclass
class Contents:
    spec: ExperimentSpec | None = None
    layers: list[LayerInfo] | None = None
    frames: list[Frame] = field(default_factory=list)
    marks: list[MarkCreate] = field(default_factory=list)
    folds: list[FoldResult] | None = None
    ended: Ending | None = None  # how the experiment ended, from an export's experiment line


def _ending(data: dict) -> Ending | None:
    if "status" not in data:
        return None
    ending = Ending.model_validate(data)
    if ending.status in TERMINAL:
        return ending
    # exported while it ran: a snapshot, stored as an experiment that stopped there
    runs = ["interrupted" if r in ("queued", "running") else r for r in ending.runs]
    return Ending(status="interrupted", error=ending.error, runs=runs)


Line = (
    tuple[Literal["experiment"], tuple[ExperimentSpec, Ending | None]]
    | tuple[Literal["layers"], list[LayerInfo]]
    | tuple[Literal["folds"], list[FoldResult]]
    | tuple[Literal["frame"], Frame]
    | tuple[Literal["mark"], MarkCreate]
)


def parse_line(n: int, line: str) -> Line | None:
    """Line n of a JSON-lines file, validated as its type says (None for a blank line); raises ImportRefused
    with the line and why. Import and the recordings' player read every line through here."""
    if not line.strip():
        return None
    try:
        data = json.loads(line)
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "experiment":
            return "experiment", (ExperimentSpec.model_validate(data["spec"]), _ending(data))
        if kind == "layers":
            return "layers", [LayerInfo.model_validate(x) for x in data["layers"]]
        if kind == "folds":  # BN folded for inference, in an export of an experiment that has it
            return "folds", [FoldResult.model_validate(x) for x in data["folds"]]
        if kind == "frame":
            return "frame", Frame.model_validate(data)
        if kind == "mark":  # the presenter's marks, kept when an experiment is exported
            return "mark", MarkCreate.model_validate({k: v for k, v in data.items() if k in ("step", "note")})
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
        raise ImportRefused(f"line {n}: not a normscope line: {type(e).__name__}: {e}") from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ImportRefused(f"line {n}: {where}: {first['msg']}") from None
    raise ImportRefused(f"line {n}: unknown line type {kind!r} (experiment, layers, folds, frame or mark)")


def check_order(n: int, frame: Frame, last_step: int | None) -> None:
    """Frames come in step order, as a run sent them."""
    if last_step is not None and frame.step <= last_step:
        raise ImportRefused(f"line {n}: step {frame.step} does not come after {last_step}")


def read_lines(lines: Iterable[str], name: str) -> Contents:
    got = Contents()
    frames = got.frames
    for n, line in enumerate(lines, 1):
        parsed = parse_line(n, line)
        if parsed is None:
            continue
        match parsed:
            case "experiment", (spec, ended):
                got.spec, got.ended = spec, ended
            case "layers", layers:
                got.layers = layers
            case "folds", folds:
                got.folds = folds
            case "frame", frame:
                check_order(n, frame, frames[-1].step if frames else None)
                frames.append(frame)
                if len(frames) > MAX_IMPORT_FRAMES:
                    raise ImportRefused(f"more than {MAX_IMPORT_FRAMES:,} frames")
            case "mark", mark:
                got.marks.append(mark)
                if len(got.marks) > MAX_MARKS:
                    raise ImportRefused(f"more than {MAX_MARKS} marks")
    if got.layers is None or not frames:
        raise ImportRefused(
            "no layers line or no frames: is this a file from normscope train --out or watch?"
        )
    got.spec = got.spec or _spec_from(frames, name)
    return got


def _spec_from(frames: list[Frame], name: str) -> ExperimentSpec:
    """A file written before the experiment line existed: its variants by index, its steps from the frames."""
    count = max(r.index for f in frames for r in f.runs) + 1
    every = frames[0].step if len(frames) == 1 else frames[1].step - frames[0].step
    bins = next(
        (len(t.counts) for f in frames for r in f.runs for ls in r.layers for t in ls.taps.values()), 64
    )
    return ExperimentSpec(
        name=name[:120] or "imported",
        steps=frames[-1].step,
        variants=[VariantSpec(label=f"run {i}") for i in range(count)],
        probe=ProbeSpec(every=min(every, 100_000), bins=min(max(bins, 8), 256)),
        external=ExternalSpec(),
    )


def import_lines(store: Store, lines: Iterable[str], name: str) -> Experiment:
    """Stores the experiment, its layers, frames, marks and folds: as the export says it ended, else done with
    each run's last status."""
    got = read_lines(lines, name)
    spec, layers, frames, marks = got.spec, got.layers, got.frames, got.marks
    assert spec is not None and layers is not None
    if spec.steps < frames[-1].step:
        spec = spec.model_copy(update={"steps": frames[-1].step})
    if any(m.step > frames[-1].step for m in marks):
        raise ImportRefused(f"a mark is past the last frame's step ({frames[-1].step})")
    variants = len(spec.variants)
    if any(r.index >= variants for f in frames for r in f.runs):
        raise ImportRefused(f"a frame names a run past the experiment's {variants} variants")
    statuses = ["done"] * variants
    for f in frames:
        for r in f.runs:
            statuses[r.index] = "done" if r.status == "running" else r.status
    status, error = "done", None
    if got.ended is not None:
        if len(got.ended.runs) != variants:
            raise ImportRefused(
                f"the experiment line has {len(got.ended.runs)} run statuses for {variants} variants"
            )
        status, error, statuses = got.ended.status, got.ended.error, got.ended.runs
    eid = uuid.uuid4().hex[:12]
    store.create(eid, spec)
    try:
        store.set_layers(eid, json.dumps([li.model_dump() for li in layers]))
        for f in frames:
            store.add_frame(eid, f.step, f.prev_step, f.model_dump_json())
        store.set_status(eid, status, step=frames[-1].step, run_statuses=statuses, error=error)
        for mark in marks:
            store.add_mark(eid, mark)
        if got.folds is not None:
            store.set_folds(eid, json.dumps([f.model_dump() for f in got.folds]))
    except BaseException:
        store.delete(eid)  # all or nothing
        raise
    experiment = store.get(eid)
    assert experiment is not None
    return experiment
