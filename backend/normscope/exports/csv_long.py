"""CSV in long format, one number per row: step, variant, layer, tap, metric, value. pandas reads it as is
(`pd.read_csv`), an empty value is a missing number (NaN), and `pivot_table` turns it into any wide view."""

import csv
import io
import itertools
from collections.abc import Iterator

from normscope.exports.source import BN_FIELDS, frames
from normscope.schemas import Experiment, Frame, LayerInfo, RunFrame
from normscope.store import Store

HEADER = ("step", "variant", "layer", "tap", "metric", "value")
QUANTILES = ("min", "p15", "p50", "p85", "max")

Row = tuple[int, str, str, str, str, float | int | None]


def bin_names(edges: list[float]) -> list[str]:
    """A bin's metric names its interval: a row says what it counts without the edges beside it."""
    return [f"count[{lo:.6g},{hi:.6g})" for lo, hi in itertools.pairwise(edges)]


Bins = dict[tuple[str, str], list[str]]  # (layer, tap) -> its bins' metric names


def _run_rows(frame: Frame, run: RunFrame, label: str, bins: Bins) -> Iterator[Row]:
    for k, value in enumerate(run.loss):  # the loss of every step since the previous frame
        yield frame.prev_step + 1 + k, label, "", "", "loss", value
    step = frame.step
    yield step, label, "", "", "train_acc", run.train_acc
    for name, result in (("val", run.val), ("val_train_mode", run.val_train_mode)):
        if result is not None:
            yield step, label, "", "", f"{name}_loss", result.loss
            yield step, label, "", "", f"{name}_acc", result.acc
    for layer in run.layers:
        n = layer.name
        yield step, label, n, "", "grad_norm", layer.grad_norm
        yield step, label, n, "", "weight_norm", layer.weight_norm
        yield step, label, n, "", "update_ratio", layer.update_ratio
        if layer.bn is not None:
            for field in BN_FIELDS:
                summary = getattr(layer.bn, field)
                yield step, label, n, "", f"bn_{field}_mean", summary.mean
                yield step, label, n, "", f"bn_{field}_std", summary.std
        for tap, stats in layer.taps.items():
            for metric in ("mean", "std", "saturation", "norm", "under", "over"):
                value = getattr(stats, metric)
                if value is not None or metric in ("mean", "std"):
                    yield step, label, n, tap, metric, value
            for metric, value in zip(QUANTILES, stats.q, strict=True):
                yield step, label, n, tap, metric, value
            for metric, count in zip(bins[(n, tap)], stats.counts, strict=True):
                yield step, label, n, tap, metric, count
    if run.landscape is not None:
        ls = run.landscape
        yield step, label, "", "", "landscape_loss", ls.loss
        yield step, label, "", "", "landscape_grad_norm", ls.grad_norm
        yield step, label, "", "", "landscape_beta", ls.beta
        for eta, at, change in zip(ls.etas, ls.loss_at, ls.grad_change, strict=True):
            yield step, label, "", "", f"landscape_loss_at[{eta:.6g}]", at
            yield step, label, "", "", f"landscape_grad_change[{eta:.6g}]", change
        for layer, shift in zip(run.layers, ls.shift, strict=False):
            if shift is not None:
                yield step, label, layer.name, "", "shift_l2", shift.l2
                yield step, label, layer.name, "", "shift_cos", shift.cos
    if run.batch_dependence is not None:
        yield step, label, "", "", "batch_flips", run.batch_dependence.flips
        yield step, label, "", "", "batch_flips_pairs", run.batch_dependence.flips_pairs


def csv_chunks(store: Store, experiment: Experiment) -> Iterator[bytes]:
    labels = [v.label for v in experiment.spec.variants]
    layers: list[LayerInfo] = store.layers(experiment.id)
    bins = {(li.name, tap): bin_names(edges) for li in layers for tap, edges in li.edges.items()}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for frame in frames(store, experiment.id):  # one chunk per frame: memory stays one frame's rows
        for run in frame.runs:
            writer.writerows(_run_rows(frame, run, labels[run.index], bins))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()
