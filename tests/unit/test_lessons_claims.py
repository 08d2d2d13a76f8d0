"""Each built-in lesson, trained headless as shipped, shows the effect its "what to look for" promises."""

import re
import time
from pathlib import Path

import pytest
import torch

from normscope.assets import web_dir
from normscope.engine.trainer import Trainer
from normscope.lessons import builtin_lesson
from normscope.lessons.catalogue import builtins
from normscope.schemas import ControlCommand, Frame, LayerStats, TapStats

HEADLESS_LIMIT_S = 60  # CPU seconds of this process (training and frames threads): a neighbour cannot pad it
EXPERIMENT_PAGE = web_dir() / "experiment.html"


def train(lesson_id: str, orders: dict[int, ControlCommand] | None = None) -> list[Frame]:
    """The lesson at full speed (a starting pace is for the room), with the presenter's orders by step."""
    torch.set_num_threads(1)
    frames: list[Frame] = []
    t0 = time.process_time()
    pending = dict(orders or {})
    trainer: Trainer
    spec = builtin_lesson(lesson_id).spec.model_copy(update={"pace": None})
    trainer = Trainer(
        spec, "cpu", on_frame=frames.append, control=lambda timeout: pending.pop(trainer.step, None)
    )
    trainer.run()
    assert time.process_time() - t0 < HEADLESS_LIMIT_S
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


def test_every_lesson_is_a_valid_spec_with_a_summary_and_a_view():
    panels = set(re.findall(r'data-chart="(\w+)"', EXPERIMENT_PAGE.read_text()))
    lessons = [e.lesson for e in builtins() if e.lesson is not None]
    ids = [p.id for p in lessons]
    assert len(ids) == len(set(ids))
    claims = set(re.findall(r'(?:train|on_files)\("([\w-]+)"', Path(__file__).read_text()))
    claims |= set(re.findall(r'"(cifar-resnet\w*)"', Path(__file__).read_text()))
    for p in lessons:
        assert p.id in claims, f"{p.id}: no test here trains it and asserts what its text promises"
        assert p.view.layer in p.spec.model.layer_names, p.id
        taps = {"preact"} if p.view.layer == "output" else {"preact", "act"}
        if any(v.norm != "none" for v in p.spec.variants) and p.view.layer != "output":
            taps.add("normed")
        assert p.view.tap in taps, f"{p.id}: {p.view.layer} has no {p.view.tap} tap"
        assert p.view.chart in panels, p.id  # the dashboard opens on it


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


def median(tap: TapStats) -> float:
    return tap.q[2]


@pytest.mark.slow
def test_deep_sigmoid_top_layer_sinks_toward_zero_without_bn():
    frames = train("deep-sigmoid")
    standard, _, bn = last_val(frames)
    assert bn >= 0.9 and standard <= 0.5, (standard, bn)
    first, last = frames[0], frames[-1]
    top = "hidden5"
    assert median(layer(last, 0, top).taps["act"]) < 0.15 < median(layer(first, 0, top).taps["act"]) - 0.1
    assert 0.35 <= median(layer(last, 2, top).taps["act"]) <= 0.65  # BN keeps it centred

    def reaching_first(run: int) -> float:  # the gradient at hidden1's pre-activation, relative to hidden5's
        return layer(first, run, "hidden1").taps["grad"].norm / layer(first, run, top).taps["grad"].norm

    assert reaching_first(0) < 0.01 < 0.1 < reaching_first(2), (reaching_first(0), reaching_first(2))


@pytest.mark.slow
def test_eval_mode_lags_train_mode_while_slow_running_averages_catch_up():
    frames = train("train-vs-eval")
    early = at_step(frames, 90)
    gaps = [r.val_train_mode.acc - r.val.acc for r in early.runs]
    assert gaps[0] >= 0.3, gaps  # momentum 0.01: the running averages still describe the first weights
    assert abs(gaps[1]) <= 0.05, gaps
    final = [r.val_train_mode.acc - r.val.acc for r in frames[-1].runs]
    assert all(abs(g) <= 0.03 for g in final), final  # caught up
    # a single example at test time: in train mode its class depends on its companions, most in pairs
    dependence = [r.batch_dependence for r in frames[-1].runs]
    assert all(0 < d.flips < d.flips_pairs for d in dependence), dependence
    assert all(d.flips_pairs >= 0.05 for d in dependence), dependence


@pytest.mark.slow
def test_tiny_batches_break_bn_but_not_layernorm():
    frames = train("small-batches")
    tail = [f for f in frames[-30:] if f.runs[0].val is not None]

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs)

    acc = [mean([f.runs[i].val.acc for f in tail]) for i in range(5)]
    gap = [mean([abs(f.runs[i].val_train_mode.acc - f.runs[i].val.acc) for f in tail]) for i in range(5)]
    bn2, bn4, bn64, ln2, ln64 = range(5)
    assert acc[bn2] <= acc[ln2] - 0.3, acc  # same batch size, LayerNorm learns
    assert acc[bn64] >= 0.95 and acc[ln64] >= 0.95, acc
    assert gap[bn2] >= 0.1 and gap[bn4] >= gap[bn64] + 0.05, gap  # train/eval gap grows as batches shrink
    assert gap[ln2] == 0 and gap[ln64] == 0, gap  # LayerNorm has no train/eval difference


@pytest.mark.slow
def test_panda_plain_net_is_rescued_by_hand_lowered_rates_and_bn_needs_none():
    assert builtin_lesson("panda").spec.pace == 20  # slow enough to turn the knob while the room watches
    alone = last_val(train("panda"))
    by_hand = {
        150: ControlCommand(action="set_lr", variant=0, lr=0.1),
        450: ControlCommand(action="set_lr", variant=0, lr=0.02),
    }
    frames = train("panda", by_hand)
    rescued = last_val(frames)
    assert alone[0] <= 0.8 and rescued[0] >= 0.9, (alone, rescued)
    assert alone[1] >= 0.95 and rescued[1] == alone[1], (alone, rescued)  # BN untouched, same run
    changes = [(c.step, c.lr) for f in frames for c in f.runs[0].lr_changes]
    assert changes == [(151, 0.1), (451, 0.02)] and frames[-1].runs[0].lr == 0.02


@pytest.mark.slow
def test_with_the_same_25_runs_random_search_tries_25_learning_rates_and_the_grid_5():
    grid, random = builtin_lesson("search-grid").spec, builtin_lesson("search-random").spec
    assert len(grid.variants) == len(random.variants) == 25
    assert len({v.lr for v in grid.variants}) == 5 and len({v.lr for v in random.variants}) == 25
    grid_best, random_best = max(last_val(train("search-grid"))), max(last_val(train("search-random")))
    assert random_best >= grid_best - 0.02 and random_best > 0.8, (grid_best, random_best)


@pytest.mark.slow
def test_random_lr_search_finds_more_good_learning_rates_with_bn():
    lesson = builtin_lesson("lr-sweep")
    lrs = [v.lr for v in lesson.spec.variants]
    assert len(set(lrs)) == len(lrs) // 2 and min(lrs) >= 1e-3 and max(lrs) <= 10  # one draw per pair
    accs = last_val(train("lr-sweep"))
    good = {
        norm: sum(a >= 0.9 for a, v in zip(accs, lesson.spec.variants, strict=True) if v.norm == norm)
        for norm in ("none", "batch")
    }
    assert good["batch"] > good["none"], (good, accs)


@pytest.mark.slow
def test_landscape_is_smoother_and_gradients_more_predictive_with_bn():
    frames = train("landscape")
    probed = [f for f in frames if f.runs[0].landscape is not None]
    assert len(probed) == len(frames) // 2
    late = [f for f in probed if f.step > 400]  # the plain net has left its plateau

    def median(xs: list[float]) -> float:
        return sorted(xs)[len(xs) // 2]

    def measure(run: int, pick) -> float:
        return median([pick(f.runs[run].landscape) for f in late])

    band = [measure(i, lambda ls: max(ls.loss_at) - min(ls.loss_at)) for i in (0, 1)]
    change = [measure(i, lambda ls: ls.grad_change[2]) for i in (0, 1)]  # at η = lr
    beta = [measure(i, lambda ls: ls.beta) for i in (0, 1)]
    cos = [measure(i, lambda ls: ls.shift[3].cos) for i in (0, 1)]
    assert band[1] < band[0], band
    assert change[1] <= 0.5 * change[0], change
    assert beta[1] <= 0.5 * beta[0], beta
    assert cos[1] > cos[0], cos


def dead_relu_share(frame: Frame, run: int, name: str) -> float:
    return layer(frame, run, name).taps["act"].saturation


@pytest.mark.slow
def test_shapes_vgg_bn_trains_at_lr_01_and_plain_stays_at_chance_with_dead_relus():
    frames = train("shapes-vgg")
    bn, plain, plain_slow = last_val(frames)
    assert bn >= 0.9, (bn, plain, plain_slow)
    assert plain_slow >= 0.5, (bn, plain, plain_slow)  # at lr 0.01 the plain net trains
    # When BN has passed 90%, the plain net at the same rate is still at chance (0.1), its last ReLUs dead.
    # Judged there, not at the last step: on one CPU (AMD EPYC) the stuck net began to climb at its last
    # evaluation (0.19 at step 300, 0.095 at 250), elsewhere it stayed at chance to the end.
    evaluated = [f for f in frames if f.runs[0].val is not None]
    passed = next(f for f in evaluated if f.runs[0].val.acc >= 0.9)
    assert passed.runs[1].val.acc <= 0.15, [(f.step, f.runs[1].val.acc) for f in evaluated]
    dead = [dead_relu_share(f, 1, "stage5.conv2") for f in evaluated if f.step <= passed.step + 100]
    assert max(dead) >= 0.99, dead  # the stuck net's last ReLUs output only zeros
    assert dead_relu_share(frames[-1], 0, "stage5.conv2") <= 0.9


def on_files(lesson_id: str, gpu: bool) -> list[Frame]:
    """Trains a lesson on its real files when they are present (skips, naming the folder, when not)."""
    from normscope.catalog import FILE_DATASETS
    from normscope.config import Settings
    from normscope.engine.data import DataRoot

    spec = builtin_lesson(lesson_id).spec
    catalog = FILE_DATASETS[spec.dataset.name]
    folder = Settings().datasets_dir / catalog.name
    if catalog.missing(folder):
        pytest.skip(f"{lesson_id} needs {catalog.where()} in {folder}")
    if gpu and not torch.cuda.is_available():
        pytest.skip(f"{lesson_id} as shipped needs a CUDA GPU (hours on a CPU)")
    frames: list[Frame] = []
    root = DataRoot(Settings().datasets_dir, downloads=False)
    Trainer(spec, "cuda" if gpu else "cpu", on_frame=frames.append, data_root=root).run()
    return frames


@pytest.mark.slow
def test_mnist_ioffe_bn_passes_95_percent_while_plain_still_climbs():
    frames = on_files("mnist-ioffe", gpu=False)
    f = at_step(frames, 3000)
    plain, bn = (r.val.acc for r in f.runs)
    assert bn >= 0.95 and bn >= plain + 0.02, (plain, bn)
    assert last_val(frames)[1] >= 0.97


@pytest.mark.slow
def test_cifar_vgg_bn_passes_85_percent_and_plain_at_the_same_lr_stays_at_chance():
    frames = on_files("cifar-vgg", gpu=True)
    bn, plain, plain_slow = last_val(frames)
    assert bn >= 0.85 and plain <= 0.15 and plain_slow > plain + 0.2, (bn, plain, plain_slow)
    assert dead_relu_share(frames[-1], 1, "stage5.conv3") >= 0.99


@pytest.mark.slow
@pytest.mark.parametrize("lesson_id", ["cifar-resnet", "cifar-resnet56"])
def test_cifar_resnets_train_with_and_without_bn_and_bn_leads(lesson_id):
    plain, bn = last_val(on_files(lesson_id, gpu=True))
    assert plain >= 0.6 and bn >= 0.85 and bn > plain, (plain, bn)
