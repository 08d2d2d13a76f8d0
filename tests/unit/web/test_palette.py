"""The variant colours stay apart for every viewer: 16 of them, for normal and colour-blind vision."""

import itertools
import re

import numpy as np

from normscope.assets import web_dir

FIGURES = web_dir() / "lib" / "figures.js"
# Machado, Oliveira & Fernandes (2009): simulated dichromacy at full severity, on linear RGB.
VISION = {
    "normal": np.eye(3),
    "protan": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deutan": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritan": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
WHITE = np.array([0.95047, 1.0, 1.08883])
MIN_DELTA_E = 10.0  # CIE76; 2.3 is a just-noticeable difference, 10 is plainly two colours on a chart


def palette() -> list[str]:
    block = re.search(r"export const COLORS = \[(.*?)\];", FIGURES.read_text(), re.S)
    assert block, "COLORS not found in figures.js"
    return re.findall(r'"(#[0-9a-fA-F]{6})"', block.group(1))


def lab(hex_colour: str, vision: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    t = SRGB_TO_XYZ @ np.clip(VISION[vision] @ linear, 0, 1) / WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_sixteen_variants_stay_apart_in_every_vision_and_from_the_paper():
    colours = palette()
    assert len(colours) == 16 and len(set(colours)) == 16
    worst = min(
        (float(np.linalg.norm(lab(a, v) - lab(b, v))), a, b, v)
        for a, b in itertools.combinations([*colours, "#ffffff"], 2)
        for v in VISION
    )
    assert worst[0] >= MIN_DELTA_E, (
        f"{worst[1]} and {worst[2]} are too close for {worst[3]} vision: {worst[0]:.1f}"
    )


def test_plain_and_bn_keep_their_colours():
    assert palette()[:2] == ["#1f77b4", "#d62728"]


def test_the_old_palette_would_have_failed():
    """The check can fail: the palette before this one put green and orange together for protans."""
    assert float(np.linalg.norm(lab("#2ca02c", "protan") - lab("#ff7f0e", "protan"))) < MIN_DELTA_E
