"""The projected screen's layout, measured from the DOM and Plotly's drawn layout: every chart with data draws
it (after a change of experiment in the same tab, and after scrolling to it), no title runs past its chart, no
legend covers an axis title, the charts use the width, and nothing scrolls sideways; at 1920x1080, 1280x720
and 390x844, in lecture mode too.

The experiments: the Ioffe lesson live (paced: it runs through the module), `lr-sweep` and `search-random`
run to done with 60 steps instead of 500 and 400 (the claims are about drawing, not about what the sweep
finds; 60 steps give them 3 frames each, trained in seconds)."""

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.api.conftest import wait_status
from tests.e2e.conftest import Server, screenshot

SIZES = [(1920, 1080), (1280, 720), (390, 844)]

# Per chart shown: the traces holding points, the marks drawn, the drawn size against the box's, and the boxes
# of its title, legend and axis titles (page coordinates).
CHARTS = """(only) => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return {l: r.left + scrollX, r: r.right + scrollX, t: r.top + scrollY, b: r.bottom + scrollY,
      w: r.width, h: r.height}; };
  const out = {};
  for (const [id, rep] of Object.entries(window.normscope.renderer.report())) {
    if (only && id !== only) continue;
    const el = document.getElementById(id);
    if (!el.offsetParent || !el.clientWidth || !el.clientHeight) continue;
    const points = (el.data ?? [])
      .filter((t) => t.x?.length || t.z?.length || t.dimensions?.[0]?.values?.length).length;
    const marks = el.querySelectorAll(`.scatterlayer .trace path.js-line:not([d=""]),
      .scatterlayer path.point, .heatmaplayer image, .barlayer path, .parcoords .y-axis`).length;
    const svg = el.querySelector(".main-svg");
    out[id] = { points, marks, error: rep.error, box: box(el), svg: svg ? box(svg) : null,
      title: [...el.querySelectorAll(".gtitle")].map(box),
      plot: [...el.querySelectorAll(".nsewdrag")].slice(0, 1).map(box),
      legend: [...el.querySelectorAll(".legend")].map(box),
      axisTitles: [...el.querySelectorAll(`.xtitle, .ytitle, [class^='x'][class$='title'],
        [class^='y'][class$='title']`)].filter((e) => e.textContent).map(box) };
  }
  return out;
}"""

# The charts not drawn right, each with why; empty when all are.
BLANK = f"""(only) => Object.entries(({CHARTS})(only)).flatMap(([id, c]) => {{
  if (c.error) return [`${{id}}: ${{c.error}}`];
  if (c.points && !c.marks) return [`${{id}}: ${{c.points}} traces with points, none drawn`];
  if (c.points && (!c.svg || Math.abs(c.svg.w - c.box.w) > 2)) return [`${{id}}: drawn at another size`];
  return [];
}})"""


def overlaps(a: dict, b: dict) -> bool:
    return a["l"] < b["r"] - 1 and b["l"] < a["r"] - 1 and a["t"] < b["b"] - 1 and b["t"] < a["b"] - 1


def layout_faults(charts: dict) -> list[str]:
    """Titles past their chart's box, legends over an axis title."""
    faults = []
    for id, c in charts.items():
        b = c["box"]
        for t in c["title"]:
            if t["l"] < b["l"] - 1 or t["r"] > b["r"] + 1 or t["t"] < b["t"] - 1:
                faults.append(f"{id}: title {t} past the chart {b}")
            faults += [f"{id}: title {t} over the plot {p}" for p in c["plot"] if t["b"] > p["t"] + 1]
        for leg in c["legend"]:
            for a in c["axisTitles"]:
                if overlaps(leg, a):
                    faults.append(f"{id}: legend {leg} over an axis title {a}")
    return faults


@pytest.fixture(scope="module")
def lessons(server: Server) -> Iterator[dict[str, str]]:
    def launch(c, lesson: str, **over: object) -> str:
        spec = {**c.get(f"/api/lessons/{lesson}").json()["spec"], **over, "lesson": lesson}
        r = c.post("/api/experiments", json=spec)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    with server.client() as c:
        ids = {
            "lr-sweep": launch(c, "lr-sweep", steps=60),
            "search-random": launch(c, "search-random", steps=60),
            "ioffe-szegedy": launch(c, "ioffe-szegedy", pace=10),
        }
        for done in ("lr-sweep", "search-random"):
            wait_status(c, ids[done], {"done"}, timeout=120)
    yield ids
    with server.client() as c:
        c.post(f"/api/experiments/{ids['ioffe-szegedy']}/control", json={"action": "cancel"})


def check_page(page: Page, name: str) -> list[str]:
    """Each chart scrolled to: drawn, and laid out right once its redraws settle (a legend is moved below the
    axis title in a few); then the page's width (and a screenshot of its top)."""
    page.wait_for_function("() => window.normscope?.model()?.latest")
    ids = page.evaluate(
        "() => Object.keys(window.normscope.renderer.report())"
        ".filter((id) => document.getElementById(id).offsetParent)"
    )
    faults = []
    for id in ids:
        page.evaluate("(id) => document.getElementById(id).scrollIntoView({block: 'nearest'})", id)
        page.wait_for_function(f"(id) => !({BLANK})(id).length", arg=id, timeout=20_000)
        deadline = time.monotonic() + 3
        while (found := layout_faults(page.evaluate(CHARTS, id))) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        faults += found
    page.evaluate("() => scrollTo(0, 0)")
    page.wait_for_function(f"() => !({BLANK})(null).length", timeout=20_000)
    screenshot(page, name)
    sideways = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    return faults + ([f"scrolls sideways by {sideways}px"] if sideways > 0 else [])


@pytest.mark.parametrize("lecture", [False, True], ids=["plain", "lecture"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_chart_draws_its_data_and_fits(
    page: Page, server: Server, lessons: dict[str, str], size: tuple[int, int], lecture: bool
):
    """All charts (not the lesson's one chart), in one tab: lr-sweep, then search-random (where 25 traces once
    stayed empty), then the live lesson."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    faults = []
    for lesson in ("lr-sweep", "search-random", "ioffe-szegedy"):
        query = "tap=normed" + ("&lecture=1" if lecture else "")
        page.goto(f"{server.url}/experiments/{lessons[lesson]}?{query}")
        mode = "lecture" if lecture else "plain"
        faults += [f"{lesson}: {f}" for f in check_page(page, f"layout-{lesson}-{size[0]}x{size[1]}-{mode}")]
    assert not faults, "\n".join(faults)


@pytest.mark.parametrize("size", SIZES[:2], ids=[f"{w}x{h}" for w, h in SIZES[:2]])
def test_a_row_of_charts_uses_the_width(
    page: Page, server: Server, lessons: dict[str, str], size: tuple[int, int]
):
    """Each row of cards spans the panels' width: no card beside an empty third (loss and accuracy once
    took two thirds of 1920 px), and the BN card spans the row."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{server.url}/experiments/{lessons['ioffe-szegedy']}?tap=normed")
    page.wait_for_function("() => window.normscope?.model()?.latest")
    rows = page.evaluate("""() => {
      const panels = document.getElementById('panels').getBoundingClientRect();
      const rows = new Map();
      for (const p of document.querySelectorAll('.panel')) {
        if (!p.offsetParent) continue;
        const r = p.getBoundingClientRect(), top = Math.round(r.top);
        rows.set(top, [...(rows.get(top) ?? []), {chart: p.dataset.chart, l: r.left, r: r.right}]);
      }
      return {width: panels.width, left: panels.left, rows: [...rows.values()]};
    }""")
    for row in rows["rows"]:
        used = max(p["r"] for p in row) - min(p["l"] for p in row)
        assert used >= 0.98 * rows["width"], (row, rows["width"])
    bn = next(p for row in rows["rows"] for p in row if p["chart"] == "bn")
    assert bn["r"] - bn["l"] >= 0.98 * rows["width"], bn


def test_a_focused_chart_follows_the_window_s_size(page: Page, server: Server, lessons: dict[str, str]):
    """Focused at 1920x1080, then the window made 1280x720: the chart is redrawn at the new size,
    filling it."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{server.url}/experiments/{lessons['lr-sweep']}?chart=loss")
    expect(page.locator("#replay")).to_be_visible(timeout=30_000)
    for w, h in [(1920, 1080), (1280, 720)]:
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_function(
            """([w, h]) => {
                const a = document.querySelector('#chart-loss .nsewdrag')?.getBoundingClientRect();
                return a && a.width >= 0.9 * w && a.height >= 0.7 * h; }""",
            arg=[w, h],
            timeout=10_000,
        )


def test_parallel_coordinates_speak_in_real_units(page: Page, server: Server, lessons: dict[str, str]):
    """The log-scaled axes are labelled 0.001, 0.01 … (not log10s like −2.8996), every axis' name inside the
    chart, and a sweep's fold table (none here: no BN) takes no room."""
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server.url}/experiments/{lessons['search-random']}?chart=sweep")
    chart = page.locator("#chart-sweep-parallel")
    expect(chart.locator(".parcoords .y-axis").first).to_be_attached(timeout=30_000)
    ticks = chart.locator(".parcoords .tick text").evaluate_all("ts => ts.map((t) => t.textContent)")
    assert {"0.001", "0.01", "0.1", "1", "10"} <= set(ticks), ticks
    assert not [t for t in ticks if "." in t and len(t) > 6], ticks  # no −2.8996
    names = page.evaluate(
        """() => { const box = document.getElementById('chart-sweep-parallel').getBoundingClientRect();
        return [...document.querySelectorAll('#chart-sweep-parallel .axis-title')].map((t) => {
          const r = t.getBoundingClientRect();
          return [t.textContent, r.left >= box.left && r.right <= box.right]; }); }"""
    )
    assert len(names) == 3 and all(inside for _, inside in names), names


def test_the_phone_s_header_is_one_compact_line(page: Page, server: Server, lessons: dict[str, str]):
    """At 390x844 the header takes one line (it was 28% of the first screen), and Plotly's toolbar stays
    hidden until the chart is hovered or tapped (it covered titles)."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/experiments/{lessons['ioffe-szegedy']}?tap=normed")
    page.wait_for_function("() => window.normscope?.model()?.latest")
    header = page.evaluate("() => document.querySelector('header').getBoundingClientRect().height")
    assert header <= 0.075 * 844, header
    sideways = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert sideways <= 0, sideways
    expect(page.locator("#chart-loss .modebar--hover")).to_be_attached(timeout=20_000)
    group = "document.querySelector('#chart-loss .modebar-group')"
    assert page.evaluate(f"() => getComputedStyle({group}).opacity") == "0"
    page.locator("#chart-loss").hover()
    page.wait_for_function(f"() => getComputedStyle({group}).opacity === '1'")
