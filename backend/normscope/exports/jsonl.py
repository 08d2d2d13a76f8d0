"""JSON lines: the experiment (spec, statuses), its layers, folds, frames and marks, the same lines that
`normscope train --out` writes and `normscope import` reads back into an identical experiment."""

import json
from collections.abc import Iterator

from normscope.exports.source import frame_texts
from normscope.schemas import Experiment, LayersMessage
from normscope.store import Store


def _line(obj: dict) -> bytes:
    return (json.dumps(obj) + "\n").encode()


def experiment_line(experiment: Experiment) -> dict:
    return {
        "type": "experiment",
        "spec": experiment.spec.model_dump(),
        "status": experiment.status,
        "error": experiment.error,
        "runs": [r.status for r in experiment.runs],
    }


def jsonl_chunks(store: Store, experiment: Experiment) -> Iterator[bytes]:
    eid = experiment.id
    yield _line(experiment_line(experiment))
    yield LayersMessage(layers=store.layers(eid)).model_dump_json().encode() + b"\n"
    folds = store.folds(eid)
    if folds is not None:
        yield _line({"type": "folds", "folds": [f.model_dump() for f in folds]})
    for text in frame_texts(store, eid):
        yield text.encode() + b"\n"
    for mark in store.marks(eid):
        yield _line({"type": "mark", "step": mark.step, "note": mark.note})
