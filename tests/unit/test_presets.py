"""Each lesson preset, trained headless as shipped, shows the effect its "what to look for" text promises."""

import time

import pytest
import torch

from normscope.engine.trainer import Trainer
from normscope.presets import PRESETS, get_preset
from normscope.schemas import Frame, LayerStats, TapStats

HEADLESS_LIMIT_S = 60


def train(preset_id: str) -> list[Frame]:
    torch.set_num_threads(1)
    frames: list[Frame] = []
    t0 = time.monotonic()
    Trainer(get_preset(preset_id).spec, "cpu", on_frame=frames.append).run()
    assert time.monotonic() - t0 < HEADLESS_LIMIT_S
    return frames


def last_val(frames: list[Frame]) -> list[float]:
    final = next(f for f in reversed(frames) if f.runs[0].val is not None)
    return [r.val.acc for r in final.runs]


def at_step(frames: list[Frame], step: int) -> Frame:
    return next(f for f in frames if f.step == step)


def layer(frame: Frame, run: int, name: str) -> LayerStats:
    return next(ls for ls in frame.runs[run].layers if ls.name == name)


def negative_share(tap: TapStats, edges_zero_bin: int) -> float:
    return (tap.under + sum(tap.counts[:edges_zero_bin])) / (tap.under + tap.over + sum(tap.counts))


def test_every_preset_is_a_valid_spec_with_a_lesson_and_a_view():
    ids = [p.id for p in PRESETS]
    assert len(ids) == len(set(ids))
    for p in PRESETS:
        assert len(p.summary.split(". ")) >= 2, p.id  # what to look for, in sentences
        hidden = {f"hidden{i + 1}" for i in range(len(p.spec.model.hidden))} | {"output"}
        assert p.view.layer in hidden, p.id


@pytest.mark.slow
def test_ioffe_szegedy_bn_far_ahead_at_step_500_and_plain_band_drifts():
    frames = train("ioffe-szegedy")
    f = at_step(frames, 500)
    plain, bn = (r.val.acc for r in f.runs)
    assert bn >= plain + 0.2, (plain, bn)

    def drift(run: int) -> float:
        qs = [
            layer(fr, run, "hidden3").taps.get("normed") or layer(fr, run, "hidden3").taps["preact"]
            for fr in frames
        ]
        return sum(abs(qs[-1].q[k] - qs[0].q[k]) for k in (1, 2, 3))

    assert drift(0) > drift(1)


@pytest.mark.slow
def test_standardized_inputs_learn_and_raw_ones_do_not():
    raw, standardized = last_val(train("normalize-inputs"))
    assert standardized >= 0.9 and standardized >= raw + 0.2, (raw, standardized)


@pytest.mark.slow
def test_at_30x_the_learning_rate_bn_trains_and_plain_does_not():
    frames = train("bigger-lr")
    accs = last_val(frames)
    statuses = [r.status for r in frames[-1].runs]
    plain_high, bn_high = accs[2], accs[3]
    assert bn_high >= 0.9, accs
    assert statuses[2] == "diverged" or plain_high <= bn_high - 0.3, (accs, statuses)


@pytest.mark.slow
def test_bn_before_and_after_relu_both_train_and_after_it_values_go_negative():
    frames = train("before-after")
    _, before, after = last_val(frames)
    assert before >= 0.9 and after >= 0.9, (before, after)
    final = frames[-1]
    relu_out = layer(final, 1, "hidden2").taps["act"]
    assert 0.2 <= relu_out.saturation <= 0.8  # BN before: a unit Gaussian cut in half by the ReLU
    normed_after = layer(final, 2, "hidden2").taps["normed"]
    bins = len(normed_after.counts)  # symmetric edges: the lower half of the bins is below zero
    assert negative_share(normed_after, bins // 2) >= 0.25  # normalized after the ReLU: negative again
