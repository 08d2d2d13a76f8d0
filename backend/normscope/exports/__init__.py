"""Exports of one experiment out of the store, each a stream of byte chunks, so a large experiment never sits
whole in memory: TensorBoard event files (zip), CSV, JSON lines and a self-contained HTML replay."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, get_args

from normscope.exports.csv_long import csv_chunks
from normscope.exports.html_replay import html_chunks
from normscope.exports.jsonl import jsonl_chunks
from normscope.exports.tb_events import tensorboard_chunks
from normscope.schemas import Experiment
from normscope.store import Store

ExportFormat = Literal["tensorboard", "csv", "jsonl", "html"]


@dataclass(frozen=True)
class Format:
    suffix: str
    media_type: str
    chunks: Callable[[Store, Experiment], Iterator[bytes]]


FORMATS: dict[str, Format] = {
    "tensorboard": Format(".tensorboard.zip", "application/zip", tensorboard_chunks),
    "csv": Format(".csv", "text/csv; charset=utf-8", csv_chunks),
    "jsonl": Format(".jsonl", "application/x-ndjson", jsonl_chunks),
    "html": Format(".html", "text/html; charset=utf-8", html_chunks),
}
assert set(FORMATS) == set(get_args(ExportFormat))


def file_name(experiment: Experiment, fmt: str) -> str:
    """normscope-<name>-<id><suffix>, the name cut to letters, digits and dashes (safe in any header)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", experiment.spec.name).strip("-").lower()[:60] or "experiment"
    return f"normscope-{slug}-{experiment.id}{FORMATS[fmt].suffix}"
