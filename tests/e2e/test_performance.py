"""The page under load, measured in the browser: update times at 10 frames/s, and memory over a long run."""

import json
import statistics
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import ARTIFACTS, Server, wait_for

UPDATE_TARGET_MS = 50  # the target for every update; how many miss it is in the figures
# On a 2-core CI machine one Plotly.react costs 20-60 ms even for a small chart, and two to three times
# that when the server, the trainer and chromium's own processes take the CPU at once, so absolute limits
# either fail on a busy minute or hold nothing. What the suite holds is measured against the same run's
# own unit, the cost of drawing one chart: an update is about one chart's draw (the renderer draws in
# turns), where drawing every chart at once would cost as many draws as there are charts (7 here).
UPDATE_TO_CHART_P95 = 2.0
FROZEN_MS = 1000  # no update freezes the page for a second, however busy the machine

FOUR_BY_FOUR = {
    "name": "4 variants x 4 layers x 3 taps",
    # narrow layers keep the trainer ahead of 10 frames/s on a busy 2-core box: the page is what is measured
    "model": {"hidden": [16, 16, 16, 16], "activation": "tanh"},
    "batch_size": 16,
    "steps": 100_000,
    "variants": [
        {"label": "plain"},
        {"label": "BN before", "norm": "batch"},
        {"label": "BN after", "norm": "batch", "placement": "after"},
        {"label": "LayerNorm", "norm": "layer"},
    ],
    "probe": {"every": 10, "bins": 64, "eval_every": 5},
}
# A 25-run search: colour bars instead of a legend, per-layer charts drawing the best run and the band of the
# rest. Smaller layers and a frame every 2 steps keep the trainer at 10 frames/s with 25 models to step.
TWENTY_FIVE = {
    "name": "25 variants x 4 layers x 3 taps",
    "model": {"hidden": [8, 8, 8, 8], "activation": "tanh"},
    "batch_size": 8,
    "steps": 40_000,  # a frame every 2 steps: 20,000 frames, as many as an experiment keeps
    "sweep": {
        "n": 25,
        "seed": 1,
        "params": {"optimizer.lr": {"log_uniform": [0.001, 1.0]}},
        "norms": ["none"],
    },
    "probe": {"every": 2, "bins": 32, "eval_every": 5},
}
# (spec, steps per second for 10 frames/s, the artifact's name)
CASES = {
    "4-runs": (FOUR_BY_FOUR, 100, "update-times.json"),
    "25-runs": (TWENTY_FIVE, 20, "update-times-25-runs.json"),
}


@pytest.mark.alone
@pytest.mark.parametrize("case", CASES)
def test_updates_stay_short_at_ten_frames_per_second(page: Page, server: Server, case: str):
    spec, pace, artifact = CASES[case]
    every = spec["probe"]["every"]
    with server.client() as c:
        eid = c.post("/api/experiments", json=spec).json()["id"]
        c.post(f"/api/experiments/{eid}/control", json={"action": "pace", "steps_per_second": pace})
    try:
        page.goto(f"{server.url}/experiments/{eid}")
        wait_for(
            page, "ns.model() && ns.model().lastStep >= 5 * arg && ns.renderer.timings.length > 10", arg=every
        )
        page.evaluate(
            "window.normscope.renderer.timings.length = 0"
        )  # first draws build the plots: not updates
        start = page.evaluate("window.normscope.model().lastStep")
        page.wait_for_timeout(12_000)
        timings = page.evaluate("window.normscope.renderer.timings")
        chart_timings = page.evaluate("window.normscope.renderer.chartTimings")
        report = page.evaluate("window.normscope.renderer.report()")
        frames = (page.evaluate("window.normscope.model().lastStep") - start) / every
    finally:
        with server.client() as c:
            c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})
    figures = {
        "runs": len(page.evaluate("window.normscope.model().runs")),
        "frames_received": frames,
        "updates": len(timings),
        "update_ms_max": round(max(timings), 1),
        "update_ms_p95": round(statistics.quantiles(timings, n=20)[-1], 1),
        "update_ms_median": round(statistics.median(timings), 1),
        "updates_over_target": sum(t > UPDATE_TARGET_MS for t in timings),
        "slowest_ms": sorted(round(t) for t in timings)[-8:],
        "charts_drawn": len(chart_timings),
        "chart_draw_ms_median": round(statistics.median(chart_timings), 1),
        "chart_draw_ms_p95": round(statistics.quantiles(chart_timings, n=20)[-1], 1),
        "chart_ms": {k: round(v["cost"], 1) for k, v in report.items() if v["visible"]},
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / artifact).write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
    # paced to 10 frames/s; with chromium drawing on the same 2 cores the trainer manages 4-5 here
    assert frames >= 36, f"the stream stopped: {figures}"
    assert len(timings) >= frames / 2, f"the charts stopped following the frames: {figures}"
    assert figures["update_ms_p95"] <= UPDATE_TO_CHART_P95 * figures["chart_draw_ms_p95"], figures
    assert figures["update_ms_max"] <= FROZEN_MS, figures
    out_of_view = [k for k, v in report.items() if not v["visible"]]
    assert out_of_view and all(report[k]["traces"] == 0 for k in out_of_view)  # never drawn


HEAP_GROWTH_LIMIT = 8 * 1024 * 1024  # from 1,000 to 2,000 frames; keeping them all would add ~50 MB


def test_memory_stays_bounded_over_a_20000_step_run(page: Page, server: Server):
    """The page's own model module fed 2,000 frames (20,000 steps), 4 variants × 4 layers × 3 taps, with the
    JS heap measured after a garbage collection every 500 frames."""
    page.goto(server.url)
    page.evaluate((Path(__file__).parent / "long_run.js").read_text())
    cdp = page.context.new_cdp_session(page)

    def heap() -> int:
        cdp.send("HeapProfiler.collectGarbage")
        return cdp.send("Runtime.getHeapUsage")["usedSize"]

    limits = page.evaluate("window.longRun.limits")
    sizes, heaps = [], [heap()]
    for _ in range(4):
        sizes.append(page.evaluate("window.longRun.feed(500)"))
        heaps.append(heap())
    print(json.dumps({"heap_mb": [round(h / 2**20, 2) for h in heaps], "kept": sizes}))
    assert heaps[4] - heaps[2] < HEAP_GROWTH_LIMIT, heaps  # the second thousand frames cost no memory
    for s in sizes:
        assert s["frames"] <= limits["MAX_FRAMES"] + 1
        assert s["loss"] <= limits["MAX_LOSS_POINTS"] + 1
        assert s["val"] <= limits["MAX_POINTS"] + 1 and s["train"] <= limits["MAX_POINTS"] + 1
    last = sizes[-1]
    assert last["frames"] >= limits["MAX_FRAMES"] / 2 and last["val"] >= 200  # thinned, not emptied
    assert last["lossEnd"] > 19_000  # the curve still reaches the newest steps
