"""TensorBoard: a zip of an event-file directory, one run per variant, written with TensorBoard's own protos
(no TensorFlow, no torch): scalars in double precision, and a histogram per layer and tap from our fixed-edge
counts. The records are framed here with a C CRC32C: TensorBoard's writer checksums in pure Python, which
made that checksum nine tenths of an export's time."""

import re
import socket
import struct
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from normscope.exports.source import BN_FIELDS, frames
from normscope.schemas import Experiment, LayerInfo, RunFrame, TapStats
from normscope.store import Store

CHUNK = 2**20


def run_dir(index: int, label: str) -> str:
    """A variant's run directory: its index keeps labels that clean to the same name apart."""
    return f"{index:02d}-{re.sub(r'[^A-Za-z0-9_.=-]+', '_', label).strip('_') or 'run'}"


def histogram_buckets(edges: list[float], stats: TapStats) -> tuple[list[float], list[float]]:
    """TensorBoard's bucket i covers (limit[i-1], limit[i]] and bucket 0 starts at −∞: `under` goes in a first
    bucket ending at the first edge, `over` in an extra last one ending at DBL_MAX (TensorFlow's own end)."""
    limits = [*edges, sys.float_info.max]
    counts = [float(stats.under), *map(float, stats.counts), float(stats.over)]
    return limits, counts


def masked_crc32c(data: bytes) -> int:
    import google_crc32c

    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class RecordFile:
    """A TFRecord file: per record its length, that length's masked CRC32C, the bytes, their masked CRC32C."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")

    def write(self, record: bytes) -> None:
        header = struct.pack("<Q", len(record))
        self._file.write(header + struct.pack("<I", masked_crc32c(header)))
        self._file.write(record + struct.pack("<I", masked_crc32c(record)))

    def close(self) -> None:
        self._file.close()


class _Run:
    """One variant's event file: scalars as double-precision tensors (exact), histograms as HistogramProto."""

    def __init__(self, logdir: Path) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

        self._event, self._summary = event_pb2.Event, summary_pb2
        self._tensor, self._shape = tensor_pb2.TensorProto, tensor_shape_pb2.TensorShapeProto
        logdir.mkdir(parents=True)
        now = time.time()
        self._writer = RecordFile(logdir / f"events.out.tfevents.{int(now)}.{socket.gethostname()}")
        self._writer.write(self._event(wall_time=now, file_version="brain.Event:2").SerializeToString())
        meta, plugin = summary_pb2.SummaryMetadata, summary_pb2.SummaryMetadata.PluginData
        self._meta = {name: meta(plugin_data=plugin(plugin_name=name)) for name in ("scalars", "text")}

    def _write(self, step: int, wall: float, value: object) -> None:
        summary = self._summary.Summary(value=[value])
        self._writer.write(self._event(wall_time=wall, step=step, summary=summary).SerializeToString())

    def scalar(self, tag: str, step: int, wall: float, value: float | None) -> None:
        if value is None:
            return
        tensor = self._tensor(dtype="DT_DOUBLE", double_val=[value], tensor_shape=self._shape())
        self._value(step, wall, tag, tensor, "scalars")

    def text(self, tag: str, step: int, wall: float, text: str) -> None:
        tensor = self._tensor(dtype="DT_STRING", string_val=[text.encode()], tensor_shape=self._shape())
        self._value(step, wall, tag, tensor, "text")

    def _value(self, step: int, wall: float, tag: str, tensor: object, plugin: str) -> None:
        self._write(
            step, wall, self._summary.Summary.Value(tag=tag, tensor=tensor, metadata=self._meta[plugin])
        )

    def histogram(self, tag: str, step: int, wall: float, edges: list[float], stats: TapStats) -> None:
        limits, counts = histogram_buckets(edges, stats)
        num = sum(counts)
        if num == 0:
            return
        mean, std = stats.mean or 0.0, stats.std or 0.0
        lo, hi = stats.q[0], stats.q[-1]
        histo = self._summary.HistogramProto(
            min=edges[0] if lo is None else lo,
            max=edges[-1] if hi is None else hi,
            num=num,
            sum=mean * num,
            sum_squares=num * (std * std + mean * mean),  # from the tap's mean and (population) std
            bucket_limit=limits,
            bucket=counts,
        )
        self._write(step, wall, self._summary.Summary.Value(tag=tag, histo=histo))

    def close(self) -> None:
        self._writer.close()


def _write_run(run: _Run, frame_step: int, prev_step: int, wall: float, rf: RunFrame, edges: dict) -> None:
    for k, loss in enumerate(rf.loss):
        run.scalar("loss/train", prev_step + 1 + k, wall, loss)
    run.scalar("accuracy/train", frame_step, wall, rf.train_acc)
    for name, result in (("val", rf.val), ("val_train_mode", rf.val_train_mode)):
        if result is not None:
            run.scalar(f"loss/{name}", frame_step, wall, result.loss)
            run.scalar(f"accuracy/{name}", frame_step, wall, result.acc)
    for layer in rf.layers:
        run.scalar(f"grad_norm/{layer.name}", frame_step, wall, layer.grad_norm)
        run.scalar(f"weight_norm/{layer.name}", frame_step, wall, layer.weight_norm)
        run.scalar(f"update_ratio/{layer.name}", frame_step, wall, layer.update_ratio)
        if layer.bn is not None:
            for field in BN_FIELDS:
                summary = getattr(layer.bn, field)
                run.scalar(f"bn_{field}/{layer.name}", frame_step, wall, summary.mean)
                run.scalar(f"bn_{field}_std/{layer.name}", frame_step, wall, summary.std)
        for tap, stats in layer.taps.items():
            run.histogram(f"{tap}/{layer.name}", frame_step, wall, edges[(layer.name, tap)], stats)
            if stats.norm is not None:
                run.scalar(f"grad_tap_norm/{layer.name}", frame_step, wall, stats.norm)
    if rf.landscape is not None:
        run.scalar("landscape/loss", frame_step, wall, rf.landscape.loss)
        run.scalar("landscape/grad_norm", frame_step, wall, rf.landscape.grad_norm)
        run.scalar("landscape/beta", frame_step, wall, rf.landscape.beta)
    if rf.batch_dependence is not None:
        run.scalar("batch_dependence/flips", frame_step, wall, rf.batch_dependence.flips)
        run.scalar("batch_dependence/flips_pairs", frame_step, wall, rf.batch_dependence.flips_pairs)


def write_event_dir(store: Store, experiment: Experiment, root: Path) -> None:
    layers: list[LayerInfo] = store.layers(experiment.id)
    edges = {(li.name, tap): e for li in layers for tap, e in li.edges.items()}
    runs = [_Run(root / run_dir(i, v.label)) for i, v in enumerate(experiment.spec.variants)]
    try:
        for frame in frames(store, experiment.id):
            wall = frame.sent_at or time.time()
            for rf in frame.runs:
                _write_run(runs[rf.index], frame.step, frame.prev_step, wall, rf, edges)
        for mark in store.marks(experiment.id):  # the presenter's notes, shown in TensorBoard's text tab
            for run in runs:
                run.text("marks", mark.step, mark.created_at.timestamp(), mark.note)
    finally:
        for run in runs:
            run.close()


def tensorboard_chunks(store: Store, experiment: Experiment) -> Iterator[bytes]:
    """The event files go to a temporary directory and the zip to a temporary file, streamed from disk."""
    with tempfile.TemporaryDirectory(prefix="normscope-tb-") as tmp:
        root = Path(tmp) / "runs"
        write_event_dir(store, experiment, root)
        archive = Path(tmp) / "export.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(root).as_posix())
        with archive.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
