"""A sweep in a browser: its charts against each swept parameter, parallel coordinates, and the presenter's
refine, which opens the next round with both rounds drawn on the same axes."""

from playwright.sync_api import Page, expect

from tests.api.conftest import wait_status
from tests.e2e.conftest import TOKEN, Server, screenshot, tiny_spec, wait_for

SWEEP = {
    "n": 4,
    "seed": 5,
    "params": {
        "optimizer.lr": {"log_uniform": [1e-3, 10.0]},
        "optimizer.momentum": {"one_minus_log_uniform": [1e-2, 0.5]},
    },
    "norms": ["none", "batch"],
}
TRACES = "(id) => document.getElementById(id)?.data?.map((t) => t.name) ?? []"


def test_a_sweep_is_charted_and_refined_into_a_second_round(page: Page, server: Server):
    spec = {k: v for k, v in tiny_spec(name="sweep in a browser", steps=40).items() if k != "variants"}
    with server.client() as c:
        coarse = c.post("/api/experiments", json={**spec, "sweep": SWEEP}).json()["id"]
        wait_status(c, coarse, {"done"})
    page.goto(f"{server.url}/experiments/{coarse}?token={TOKEN}&chart=sweep")
    expect(page.locator('.panel[data-chart="sweep"]')).to_be_visible()
    wait_for(page, "[0, 1].every((i) => ns.renderer.report()[`chart-sweep-${i}`]?.traces === 2)")
    assert page.evaluate(TRACES, "chart-sweep-0") == ["no norm", "BatchNorm"]
    assert page.evaluate("document.getElementById('chart-sweep-0').layout.xaxis.type") == "log"
    assert page.evaluate("document.getElementById('chart-sweep-1').layout.xaxis.title.text") == "1 − β"
    wait_for(page, "document.getElementById('chart-sweep-parallel')?.data?.[0]?.dimensions?.length === 3")

    page.locator("#refine").click()
    page.wait_for_url(lambda url: coarse not in url, timeout=30_000)
    fine = page.url.split("/experiments/")[1].split("?")[0]
    with server.client() as c:
        wait_status(c, fine, {"done"})
    expect(page.locator("#status")).to_have_text("done", timeout=30_000)
    expect(page.locator("#sweep-round")).to_contain_text("the coarse round, sweep in a browser")
    wait_for(page, "ns.renderer.report()['chart-sweep-0']?.traces === 4")
    assert page.evaluate(TRACES, "chart-sweep-0") == [
        "no norm · coarse round",
        "BatchNorm · coarse round",
        "no norm · this round",
        "BatchNorm · this round",
    ]
    labels = "document.getElementById('chart-sweep-parallel').data?.[0]?.dimensions.map((d) => d.label)"
    dims = wait_for(page, f"({labels})?.[0] === 'round' && {labels}")
    assert dims == ["round", "learning rate", "1 − β", "val accuracy"]  # log axes labelled in real units
    screenshot(page, "sweep-refined")
