"""Thinning for the HTML replay keeps every step's loss while it drops whole frames."""

import itertools

import pytest

from normscope.exports.source import frame_texts, thinned
from tests.unit.exports.conftest import Stored


def per_step_loss(frames: list, run: int) -> dict[int, float | None]:
    out = {}
    for f in frames:
        r = next(r for r in f.runs if r.index == run)
        out.update({f.prev_step + 1 + k: v for k, v in enumerate(r.loss)})
    return out


@pytest.mark.parametrize("keep", [1, 3, 4, 100])
def test_thinned_keeps_the_last_frame_and_every_loss(stored: Stored, keep: int):
    frames = stored.frames
    kept = list(thinned(iter(frames), len(frames), keep))
    assert len(kept) <= keep and kept[-1].step == frames[-1].step
    assert kept[0].prev_step == 0
    assert all(a.step == b.prev_step for a, b in itertools.pairwise(kept))
    for run in (0, 1):
        assert per_step_loss(kept, run) == per_step_loss(frames, run)
    if keep >= len(frames):
        assert kept == frames


def test_frame_texts_pages_through_the_store(stored: Stored, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("normscope.exports.source.PAGE", 3)  # several pages and a short last one
    assert len(list(frame_texts(stored.store, stored.experiment.id))) == len(stored.frames)
