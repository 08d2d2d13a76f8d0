"""The CSV export loads in pandas as is, one number per row, and its rows are the frames' numbers."""

import io
import itertools

import pandas as pd
import pytest

from normscope.exports.csv_long import HEADER, csv_chunks
from tests.unit.exports.conftest import Stored


@pytest.fixture(scope="module")
def table(stored: Stored) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(b"".join(csv_chunks(stored.store, stored.experiment))))


def test_long_format_with_the_expected_columns(table: pd.DataFrame):
    assert tuple(table.columns) == HEADER
    assert table["step"].dtype.kind == "i" and table["value"].dtype.kind == "f"
    assert set(table["variant"]) == {"plain", "BN"}
    key = ["step", "variant", "layer", "tap", "metric"]
    assert not table.duplicated(key).any(), "a number is there twice"


def test_loss_rows_are_every_step_of_every_variant(stored: Stored, table: pd.DataFrame):
    loss = table[table.metric == "loss"]
    assert len(loss) == stored.experiment.spec.steps * 2
    plain = loss[loss.variant == "plain"].set_index("step")["value"]
    expected = {f.prev_step + 1 + k: v for f in stored.frames for k, v in enumerate(f.runs[0].loss)}
    assert plain.to_dict() == expected


def test_histogram_rows_name_their_bins_and_hold_the_counts(stored: Stored, table: pd.DataFrame):
    info = stored.store.layers(stored.experiment.id)[1]
    frame = stored.frames[3]
    rows = table[(table.step == frame.step) & (table.variant == "BN") & (table.layer == info.name)]
    bins = rows[(rows.tap == "act") & rows.metric.str.startswith("count[")]
    edges = info.edges["act"]
    assert list(bins.metric) == [f"count[{lo:.6g},{hi:.6g})" for lo, hi in itertools.pairwise(edges)]
    assert list(bins.value) == frame.runs[1].layers[1].taps["act"].counts
    assert len(rows[rows.tap.isna()].query("metric.str.startswith('bn_')", engine="python")) == 12


def test_every_layer_tap_and_frame_is_there(stored: Stored, table: pd.DataFrame):
    medians = table[table.metric == "p50"]
    taps = [
        (f.step, r.index, ls.name, t)
        for f in stored.frames
        for r in f.runs
        for ls in r.layers
        for t in ls.taps
    ]
    assert len(medians) == len(taps) > len(stored.frames) * 2 * 3 * 2  # BN's normed tap among them
    wide = table[table.metric == "val_acc"].pivot_table(index="step", columns="variant", values="value")
    assert list(wide.index) == [f.step for f in stored.frames if f.runs[0].val is not None]
