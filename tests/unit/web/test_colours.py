"""Run colours encode what the lesson compares: the norm as a hue family, the swept value as lightness."""

import colorsys
import itertools

import numpy as np

from normscope.lessons import builtin_lesson
from tests.unit.web.node import call, evaluate
from tests.unit.web.test_palette import MIN_DELTA_E, VISION, lab

HUES = {"none": (190, 230), "batch": (345, 375), "layer": (30, 50)}  # blue, red (across 0°), amber
STEPS = [0, 0.25, 0.5, 0.75, 1]


def hue(hex_colour: str) -> float:
    h, _, _ = colorsys.rgb_to_hls(*(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)))
    return h * 360


def in_family(hex_colour: str, norm: str) -> bool:
    low, high = HUES[norm]
    return any(low <= hue(hex_colour) + turn <= high for turn in (0, 360))


def lr_sweep() -> dict:
    return builtin_lesson("lr-sweep").spec.model_dump(mode="json")


def test_the_lr_sweep_is_blue_for_plain_and_red_for_bn_darker_with_a_larger_lr():
    spec = lr_sweep()
    out = call("colours", "runColours", spec)
    colours = out["colours"]
    assert len(colours) == len(spec["variants"]) == 16
    for norm in ("none", "batch"):
        runs = sorted((v["lr"], colours[i]) for i, v in enumerate(spec["variants"]) if v["norm"] == norm)
        assert len(runs) == 8 and all(in_family(c, norm) for _, c in runs), (norm, runs)
        lightness = [lab(c, "normal")[0] for _, c in runs]
        assert all(a > b for a, b in itertools.pairwise(lightness)), (norm, runs, lightness)
    assert out["scale"]["log"] and out["scale"]["title"] == "learning rate"
    assert [f["name"] for f in out["families"]] == ["plain", "BN"]


def test_without_a_sweep_a_lone_run_keeps_its_family_colour_and_two_bn_runs_two_reds():
    variants = [
        {"label": "plain", "norm": "none"},
        {"label": "BN before", "norm": "batch"},
        {"label": "BN after", "norm": "batch"},
        {"label": "LayerNorm", "norm": "layer"},
    ]
    spec = {"optimizer": {"lr": 0.1}, "sweep": None, "variants": variants}
    colours = call("colours", "runColours", spec)["colours"]
    assert colours[0] == "#1f77b4" and colours[3] == "#e69f00"
    assert colours[1] != colours[2] and in_family(colours[1], "batch") and in_family(colours[2], "batch")
    assert call("colours", "runColours", spec)["scale"] is None


def test_families_stay_apart_for_the_colour_blind_at_every_lightness():
    """Plain against BN at any two lightnesses, and every two families at the same place in the swept
    range, differ by CIELAB ΔE ≥ 10 under normal, protan, deutan and tritan vision."""
    every = evaluate(
        "colours", "norms.map((n) => steps.map((t) => m.shade(n, t)))", norms=list(HUES), steps=STEPS
    )
    shades = {(n, t): c for n, row in zip(HUES, every, strict=True) for t, c in zip(STEPS, row, strict=True)}
    pairs = [(("none", a), ("batch", b)) for a in STEPS for b in STEPS]
    pairs += [((m, t), (n, t)) for m, n in itertools.combinations(HUES, 2) for t in STEPS]
    distance = lambda p, q, v: float(np.linalg.norm(lab(shades[p], v) - lab(shades[q], v)))  # noqa: E731
    worst = min((distance(p, q, v), p, q, v) for p, q in pairs for v in VISION)
    assert worst[0] >= MIN_DELTA_E, worst
    assert all(in_family(shades[n, t], n) for n, t in shades)


def test_a_family_of_more_than_eight_runs_is_drawn_in_eight_shades_darker_with_a_larger_value():
    """search-random's 25 plain runs: eight lightness steps, each run in the step of its learning rate."""
    spec = builtin_lesson("search-random").spec.model_dump(mode="json")
    out = call("colours", "runColours", spec)
    shades = evaluate(
        "colours", "[...Array(m.SHADES).keys()].map((k) => m.shade('none', k / (m.SHADES - 1)))"
    )
    assert len(shades) == 8 and len(spec["variants"]) == 25
    assert set(out["colours"]) <= set(shades) and len(set(out["colours"])) > 4
    by_lr = sorted((v["lr"], shades.index(out["colours"][i])) for i, v in enumerate(spec["variants"]))
    steps = [s for _, s in by_lr]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 7, by_lr
    assert [f["stepped"] for f in out["families"]] == [True]
    scale = call("colours", "familyScale", "none", True)
    assert (
        [c for _, c in scale] == [s for s in shades for _ in (0, 1)]
        and scale[0][0] == 0
        and scale[-1][0] == 1
    )
