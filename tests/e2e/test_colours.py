"""Many runs in a browser: colour says what the lesson compares (plain blue, BN red, the swept value as
lightness), the key stays small, and a highlighted run is picked out in every chart. Measured from what
Plotly drew: each chart's traces and its legend in the DOM."""

import colorsys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from normscope.lessons import builtin_lesson
from tests.api.conftest import wait_status
from tests.e2e.conftest import Server, wait_for

SHOTS = Path("/tmp/shots-colour")
SIZES = [(1920, 1080), (1280, 720), (390, 844)]
HUES = {"none": (190, 230), "batch": (345, 375)}  # blue; red across 0°
GREY = "#c8c8c8"  # highlight.js: every run but the highlighted one
MAX_LEGEND = 12
# What each chart drew: per run line its run (meta.run, or each of meta.runs where runs drawn alike share
# a trace), family band (meta.family), colour and legend entry; Plotly's traces; and the legend entries and
# colour bars in the DOM.
DRAWN = """(id) => {
  const el = document.getElementById(id);
  return {
    traces: (el.data ?? []).flatMap((t) => (t.meta?.runs ?? [t.meta?.run ?? null]).map((run) => ({ run,
      family: t.meta?.family ?? null, colour: t.line?.color ?? null, n: t.x?.length ?? 0 }))),
    plotted: (el.data ?? []).length,
    legend: el.querySelectorAll('.legend .traces').length,
    colourBars: el.querySelectorAll('.colorbar').length,
  };
}"""


def hue(hex_colour: str) -> float:
    return colorsys.rgb_to_hls(*(int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)))[0] * 360


def in_family(hex_colour: str, norm: str) -> bool:
    low, high = HUES[norm]
    return any(low <= hue(hex_colour) + turn <= high for turn in (0, 360))


def short(lesson_id: str, steps: int) -> dict:
    """A lesson's spec with fewer steps: the colours and the key do not depend on how long it trained."""
    spec = builtin_lesson(lesson_id).spec.model_dump(mode="json", exclude={"variants"})
    return {**spec, "steps": steps, "probe": {**spec["probe"], "every": 10, "eval_every": 2}}


@pytest.fixture(scope="module")
def sweeps(server: Server) -> dict[str, str]:
    """lr-sweep (8 learning rates × plain and BN) and search-random (25 plain runs), trained once."""
    with server.client() as c:
        ids = {
            k: c.post("/api/experiments", json=short(k, 20)).json()["id"]
            for k in ("lr-sweep", "search-random")
        }
        for eid in ids.values():
            wait_status(c, eid, {"done"}, timeout=120)
    return ids


def open_done(page: Page, server: Server, eid: str, charts: list[str]) -> None:
    """The finished experiment's replay on a tall page, each chart scrolled to until drawn (off screen
    nothing draws)."""
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.goto(f"{server.url}/experiments/{eid}?layer=hidden3&tap=normed")
    expect(page.locator("#conn")).to_have_text("replay", timeout=30_000)
    for chart in charts:
        page.locator(f"#{chart}").scroll_into_view_if_needed()
        wait_for(page, "ns.renderer.report()[arg]?.traces > 0", arg=chart)


def drawn(page: Page, chart: str) -> dict:
    return page.evaluate(DRAWN, chart)


def test_lr_sweep_plain_is_blue_bn_red_and_a_highlight_greys_the_rest(
    page: Page, server: Server, sweeps: dict[str, str]
):
    open_done(page, server, sweeps["lr-sweep"], ["chart-loss", "chart-accuracy", "chart-grad"])
    norms = page.evaluate("window.normscope.model().experiment.spec.variants.map((v) => v.norm)")
    assert norms.count("none") == 8 and norms.count("batch") == 8
    for chart in ("chart-loss", "chart-accuracy"):
        d = drawn(page, chart)
        runs = [t for t in d["traces"] if t["run"] is not None]
        assert {t["run"] for t in runs} == set(range(16)), chart
        wrong = [t for t in runs if not in_family(t["colour"], norms[t["run"]])]
        assert not wrong, (chart, wrong)
        assert d["legend"] <= MAX_LEGEND and d["colourBars"] == 2, (chart, d["legend"], d["colourBars"])

    grad = drawn(page, "chart-grad")
    lines = {t["run"] for t in grad["traces"] if t["run"] is not None}
    assert len(lines) == 2 and {norms[r] for r in lines} == {"none", "batch"}  # the best of each
    bands = [t for t in grad["traces"] if t["family"]]
    assert len(bands) == 2 and all(t["n"] > 0 for t in bands)  # the other 7 of each, in the chosen layer
    assert grad["legend"] <= MAX_LEGEND
    assert page.locator("#heatmaps .chart").count() == 3  # the best plain, the best BN, the highlighted run

    assert page.locator("#runs .run").all_text_contents() == ["16 done"]  # not 16 badges: the table has them
    page.locator("#run-table summary").click()  # the table, best first; hovering a row highlights its run
    page.locator('#run-table tr[data-run="5"]').hover()  # run 5: not one of the chosen two
    grey = f"t.colour === '{GREY}'"
    greyed = f"(() => {{ const d = ({DRAWN})(arg); return d.traces.filter((t) => {grey}).length && d; }})()"
    loss = wait_for(page, greyed, arg="chart-loss")
    own = [t for t in loss["traces"] if t["run"] == 5]
    assert own and all(in_family(t["colour"], norms[5]) for t in own)
    assert all(t["colour"] == GREY for t in loss["traces"] if t["run"] not in (None, 5))
    page.mouse.move(5, 5)
    wait_for(page, "ns.highlight.active === null")

    # a row pins its run; Esc frees it
    accs = page.locator("#run-table tbody tr td:last-child").all_text_contents()
    values = [float(a.rstrip("%")) for a in accs if a.endswith("%")]
    assert len(values) == 16 and values == sorted(values, reverse=True), accs
    row = page.locator("#run-table tbody tr").nth(3)
    run = int(row.get_attribute("data-run"))
    row.click()
    page.mouse.move(5, 5)
    wait_for(page, "ns.highlight.pinned === arg && ns.highlight.active === arg", arg=run)
    expect(row).to_have_class("highlighted pinned")
    page.locator("#chart-grad").scroll_into_view_if_needed()  # per-layer: the chosen two and the pinned run
    # the chart, off screen while the run was picked, is redrawn once in view: wait for that drawing
    # (the pinned run may be one of the chosen two, already drawn before the pin)
    pinned = (
        f"(() => {{ const d = ({DRAWN})('chart-grad'); return d.traces.some((t) => t.run === arg)"
        f" && d.traces.every((t) => t.run === null || t.run === arg || {grey}) && d; }})()"
    )
    grad = wait_for(page, pinned, arg=run)
    assert {t["run"] for t in grad["traces"]} - {None} == lines | {run}
    page.keyboard.press("Escape")
    wait_for(page, "ns.highlight.pinned === null")


def test_search_random_s_25_runs_have_a_colour_bar_not_a_legend(
    page: Page, server: Server, sweeps: dict[str, str]
):
    charts = ["chart-loss", "chart-accuracy", "chart-grad", "chart-bands"]
    open_done(page, server, sweeps["search-random"], charts)
    for chart in charts:
        d = drawn(page, chart)
        assert d["legend"] <= MAX_LEGEND, (chart, d["legend"])
        assert all(in_family(t["colour"], "none") for t in d["traces"] if t["run"] is not None), chart
    loss = drawn(page, "chart-loss")
    assert len({t["run"] for t in loss["traces"]} - {None}) == 25 and loss["colourBars"] == 1
    assert loss["plotted"] <= 8 + 1  # 25 runs in eight shades share eight traces, and the colour bar's
    assert loss["legend"] == 0  # 25 runs: the colour bar says which is which
    assert page.locator("#heatmaps .chart").count() == 2  # not 25 heatmaps: the best and the highlighted run


SHOWN = ["loss", "accuracy", "grad", "bands"]  # the bands: the per-layer chart of one layer, chosen few only
FITTED = """(id) => { const el = document.getElementById(id); const grey = (t) => t.line?.color === '#c8c8c8';
  return Math.abs((el._fullLayout?.width ?? 0) - el.clientWidth) < 2 && (el.data ?? []).some(grey); }"""


@pytest.mark.parametrize("lesson", ["lr-sweep", "search-random"])
def test_screenshots_with_a_run_pinned_at_three_sizes(
    page: Page, server: Server, sweeps: dict[str, str], lesson
):
    """Not a claim: the pictures a person looks at (/tmp/shots-colour), each chart drawn at its size first."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    open_done(page, server, sweeps[lesson], ["chart-loss"])
    page.evaluate("window.normscope.highlight.pin(3)")
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=SHOTS / f"{lesson}-{width}x{height}-top.png")
        for chart in SHOWN:
            panel = page.locator(f'.panel[data-chart="{chart}"]')
            panel.scroll_into_view_if_needed()
            wait_for(page, f"({FITTED})(arg)", arg=f"chart-{chart}")
            panel.screenshot(path=SHOTS / f"{lesson}-{width}x{height}-{chart}.png")
