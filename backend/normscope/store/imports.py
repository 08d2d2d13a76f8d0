"""`normscope import`: a JSON-lines file (from `normscope train --out` or `normscope.watch(out=...)`) into the
store as a finished experiment, checked line by line; a bad file stores nothing."""

import json
import uuid
from collections.abc import Iterable

from pydantic import ValidationError

from normscope.schemas import (
    Experiment,
    ExperimentSpec,
    ExternalSpec,
    Frame,
    LayerInfo,
    MarkCreate,
    ProbeSpec,
    VariantSpec,
)
from normscope.schemas.hall import MAX_MARKS
from normscope.store.db import Store

MAX_IMPORT_FRAMES = 20_000


class ImportRefused(Exception):
    """The file is not one normscope wrote (with the line and why)."""


Contents = tuple[ExperimentSpec, list[LayerInfo], list[Frame], list[MarkCreate]]


def read_lines(lines: Iterable[str], name: str) -> Contents:
    spec: ExperimentSpec | None = None
    layers: list[LayerInfo] | None = None
    frames: list[Frame] = []
    marks: list[MarkCreate] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "experiment":
                spec = ExperimentSpec.model_validate(data["spec"])
            elif kind == "layers":
                layers = [LayerInfo.model_validate(x) for x in data["layers"]]
            elif kind == "frame":
                frame = Frame.model_validate(data)
                if frames and frame.step <= frames[-1].step:
                    raise ImportRefused(f"line {n}: step {frame.step} does not come after {frames[-1].step}")
                frames.append(frame)
                if len(frames) > MAX_IMPORT_FRAMES:
                    raise ImportRefused(f"more than {MAX_IMPORT_FRAMES:,} frames")
            elif kind == "mark":  # the presenter's marks, kept when an experiment is exported
                marks.append(
                    MarkCreate.model_validate({k: v for k, v in data.items() if k in ("step", "note")})
                )
                if len(marks) > MAX_MARKS:
                    raise ImportRefused(f"more than {MAX_MARKS} marks")
            else:
                raise ImportRefused(
                    f"line {n}: unknown line type {kind!r} (experiment, layers, frame or mark)"
                )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise ImportRefused(f"line {n}: not a normscope line: {type(e).__name__}: {e}") from None
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise ImportRefused(f"line {n}: {where}: {first['msg']}") from None
    if layers is None or not frames:
        raise ImportRefused(
            "no layers line or no frames: is this a file from normscope train --out or watch?"
        )
    return spec or _spec_from(frames, name), layers, frames, marks


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
    """Stores the experiment, its layers, frames and marks, done, with each run's last status."""
    spec, layers, frames, marks = read_lines(lines, name)
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
    eid = uuid.uuid4().hex[:12]
    store.create(eid, spec)
    try:
        store.set_layers(eid, json.dumps([li.model_dump() for li in layers]))
        for f in frames:
            store.add_frame(eid, f.step, f.prev_step, f.model_dump_json())
        store.set_status(eid, "done", step=frames[-1].step, run_statuses=statuses)
        for mark in marks:
            store.add_mark(eid, mark)
    except BaseException:
        store.delete(eid)  # all or nothing
        raise
    experiment = store.get(eid)
    assert experiment is not None
    return experiment
