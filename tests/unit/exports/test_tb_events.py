"""The TensorBoard export read back with TensorBoard's own event reader equals the stored frames."""

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

from normscope.exports.tb_events import histogram_buckets, masked_crc32c, run_dir, tensorboard_chunks
from normscope.schemas import TapStats
from tests.unit.exports.conftest import Stored

KEEP_ALL = {"scalars": 0, "histograms": 0, "tensors": 0}


@pytest.fixture(scope="module")
def runs(stored: Stored, tmp_path_factory: pytest.TempPathFactory) -> dict[int, EventAccumulator]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(tensorboard_chunks(stored.store, stored.experiment))))
    root = Path(tmp_path_factory.mktemp("tb"))
    archive.extractall(root)
    out = {}
    for i, variant in enumerate(stored.experiment.spec.variants):
        acc = EventAccumulator(str(root / run_dir(i, variant.label)), size_guidance=KEEP_ALL)
        acc.Reload()
        out[i] = acc
    return out


def scalars(acc: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, tensor_util.make_ndarray(e.tensor_proto).item()) for e in acc.Tensors(tag)]


def test_one_run_per_variant_named_by_label(runs: dict[int, EventAccumulator]):
    assert sorted(runs) == [0, 1]
    assert "normed/hidden1" in runs[1].Tags()["histograms"]


def test_scalars_equal_the_frames_exactly(stored: Stored, runs: dict[int, EventAccumulator]):
    for index, acc in runs.items():
        mine = [(f, next(r for r in f.runs if r.index == index)) for f in stored.frames]
        losses = [(f.prev_step + 1 + k, v) for f, r in mine for k, v in enumerate(r.loss) if v is not None]
        assert scalars(acc, "loss/train") == losses
        assert scalars(acc, "accuracy/val") == [(f.step, r.val.acc) for f, r in mine if r.val]
        assert scalars(acc, "grad_norm/hidden2") == [(f.step, r.layers[1].grad_norm) for f, r in mine]
        assert scalars(acc, "update_ratio/output") == [(f.step, r.layers[2].update_ratio) for f, r in mine]
        assert scalars(acc, "landscape/beta") == [(f.step, r.landscape.beta) for f, r in mine if r.landscape]
    bn = [(f.step, next(r for r in f.runs if r.index == 1)) for f in stored.frames]
    assert scalars(runs[1], "bn_gamma/hidden1") == [(s, r.layers[0].bn.gamma.mean) for s, r in bn]
    assert "bn_gamma/hidden1" not in runs[0].Tags()["tensors"]  # the plain net has no BN


def test_histograms_equal_the_stored_counts_and_edges(stored: Stored, runs: dict[int, EventAccumulator]):
    edges = {li.name: li.edges for li in stored.store.layers(stored.experiment.id)}
    written = {
        (i, tag): {e.step: e.histogram_value for e in acc.Histograms(tag)}
        for i, acc in runs.items()
        for tag in acc.Tags()["histograms"]
    }
    expected = [
        (f.step, r.index, ls.name, t, s)
        for f in stored.frames
        for r in f.runs
        for ls in r.layers
        for t, s in ls.taps.items()
    ]
    assert sum(map(len, written.values())) == len(expected) > 100
    for step, index, layer, tap, s in expected:
        h = written[(index, f"{tap}/{layer}")][step]
        assert list(h.bucket_limit) == [*edges[layer][tap], sys.float_info.max]
        assert list(h.bucket) == [s.under, *s.counts, s.over]
        assert h.num == s.under + sum(s.counts) + s.over
        assert (h.min, h.max) == (s.q[0], s.q[-1])


def test_marks_are_text_in_every_run(runs: dict[int, EventAccumulator]):
    for acc in runs.values():
        notes = [
            (e.step, tensor_util.make_ndarray(e.tensor_proto).item().decode()) for e in acc.Tensors("marks")
        ]
        assert notes == [(20, "the plain band drifts"), (35, "BN steady")]


def test_bucket_semantics_count_what_our_bins_count():
    """TensorBoard's bucket i holds (limit[i-1], limit[i]], bucket 0 from −∞: with under first and over last,
    counting the same values by TensorBoard's rule gives back our counts (no value falls on an edge)."""
    rng = np.random.default_rng(0)
    values = rng.standard_t(3, 20_000)
    edges = np.linspace(-3, 3, 17)
    counts, _ = np.histogram(values, edges)
    stats = TapStats(
        counts=counts.tolist(),
        under=int((values < edges[0]).sum()),
        over=int((values >= edges[-1]).sum()),
        mean=float(values.mean()),
        std=float(values.std()),
        q=[float(values.min()), None, None, None, float(values.max())],
        saturation=None,
    )
    limits, bucket = histogram_buckets(edges.tolist(), stats)
    lower = [-np.inf, *limits[:-1]]
    by_tensorboard = [
        int(((values > lo) & (values <= hi)).sum()) for lo, hi in zip(lower, limits, strict=True)
    ]
    assert by_tensorboard == bucket


def test_record_checksums_are_tensorboards_own():
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as theirs

    rng = np.random.default_rng(1)
    for n in (0, 1, 8, 1000):
        data = rng.bytes(n)
        assert masked_crc32c(data) == theirs(data)
