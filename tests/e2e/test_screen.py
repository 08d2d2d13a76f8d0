"""The projected screen: one chart filling it, keys whatever has focus, the lesson for everyone, the ETA."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from normscope.lessons import builtin_lesson
from tests.api.conftest import wait_status
from tests.e2e.conftest import TOKEN, Server, screenshot, tiny_spec

PLOT_AREA = """(id) => { const r = document.querySelector(`#${id} .nsewdrag`)?.getBoundingClientRect();
  return r ? {w: r.width, h: r.height, vw: innerWidth, vh: innerHeight} : null; }"""


@pytest.fixture(scope="module")
def finished(server: Server) -> str:
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=100)).json()["id"]
        wait_status(c, eid, {"done"})
    return eid


def plot_area(page: Page, chart: str) -> dict:
    """The main plot's area once it has been redrawn at the size its box has now."""
    page.wait_for_function(f"() => window.normscope.renderer.report()['{chart}'].traces > 0")
    page.wait_for_function(
        f"""() => {{ const a = ({PLOT_AREA})('{chart}'); const box = document.getElementById('{chart}');
             const svg = document.querySelector('#{chart} .main-svg');
             const w = (e) => e.getBoundingClientRect().width;
             return a && Math.abs(w(box) - w(svg)) < 2; }}"""
    )
    return page.evaluate(PLOT_AREA, chart)


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_a_focused_chart_fills_the_screen(page: Page, server: Server, finished: str, size: tuple[int, int]):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{server.url}/experiments/{finished}")
    expect(page.locator("#replay")).to_be_visible(timeout=30_000)
    page.select_option("#focus", "loss")
    area = plot_area(page, "chart-loss")
    screenshot(page, f"focus-loss-{size[0]}x{size[1]}")
    assert area["w"] >= 0.9 * area["vw"] and area["h"] >= 0.7 * area["vh"], area
    page.keyboard.press("Escape")  # back to every chart
    expect(page.locator('.panel[data-chart="accuracy"]')).to_be_visible()
    expect(page.locator("#focus")).to_have_value("")

    page.locator("#chart-bands").dblclick()
    expect(page.locator("#focus")).to_have_value("bands")
    area = plot_area(page, "chart-bands")
    screenshot(page, f"focus-bands-{size[0]}x{size[1]}")
    assert area["w"] >= 0.9 * area["vw"] and area["h"] >= 0.7 * area["vh"], area
    page.locator("#chart-bands").dblclick()
    expect(page.locator("#focus")).to_have_value("")
    expect(page.locator('.panel[data-chart="loss"]')).to_be_visible()


def test_a_focused_chart_on_a_phone_keeps_the_phone_s_layout(page: Page, server: Server, finished: str):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/experiments/{finished}?chart=bands")
    area = plot_area(page, "chart-bands")
    sizes = page.evaluate("() => ({doc: document.documentElement.scrollWidth, view: innerWidth})")
    assert sizes["doc"] <= sizes["view"], sizes
    assert area["w"] <= area["vw"] and area["h"] <= area["vh"], area
    screenshot(page, "focus-bands-390x844")


def test_the_keys_work_after_a_click_on_a_control_but_not_in_a_text_field(page: Page, server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=200_000, pace=50)).json()["id"]
    try:
        page.goto(f"{server.url}/experiments/{eid}?token={TOKEN}")
        expect(page.locator("#status")).to_have_text("running", timeout=30_000)
        body = page.locator("body")
        page.click('input[name="tap"][value="act"]')  # the radio keeps the focus
        page.keyboard.press("l")
        expect(body).to_have_class(re.compile("lecture"))
        page.keyboard.press("Space")
        expect(page.locator("#status")).to_have_text("paused")
        page.keyboard.press("ArrowRight")  # a step, not the next tap
        expect(page.locator('input[name="tap"][value="act"]')).to_be_checked()
        page.click("#layer")
        page.keyboard.press("Escape")  # the menu's list closes; the menu keeps the focus
        expect(page.locator("#layer")).to_be_focused()
        page.keyboard.press("l")
        expect(body).not_to_have_class(re.compile("lecture"))
        page.keyboard.press("p")
        expect(body).to_have_class(re.compile("projector"))

        page.locator("#lr-fields input").first.click()  # typing a learning rate is not a shortcut
        page.keyboard.type("l")
        page.keyboard.press("m")
        page.locator("#layer").focus()
        page.keyboard.press("m")  # the mark dialog, from a focused menu
        expect(page.locator("#mark-dialog")).to_be_visible()
        page.keyboard.type("lpf")
        expect(page.locator("#mark-note")).to_have_value("lpf")
        expect(body).not_to_have_class(re.compile("lecture"))
        expect(body).to_have_class(re.compile("projector"))
    finally:
        with server.client() as c:
            c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_every_viewer_gets_the_lesson_s_text_and_view(page: Page, server: Server):
    lesson = builtin_lesson("deep-sigmoid")
    with server.client() as c:
        r = c.post(f"/api/lessons/{lesson.id}/launch", json={"mode": "train"})
        assert r.status_code == 201, r.text
        eid = r.json()["id"]
    try:
        page.goto(f"{server.url}/experiments/{eid}")  # a student: no token, no view in the link
        expect(page.locator("#follow")).to_be_visible()
        expect(page.locator("#lesson")).to_be_visible()
        expect(page.locator("#lesson")).to_have_attribute("open", "")
        expect(page.locator("#lesson-text p").first).to_contain_text("Five sigmoid layers")
        # the layers are known once a worker has started it: a cold start on a busy machine takes a while
        expect(page.locator("#layer")).to_have_value(lesson.view.layer, timeout=30_000)
        expect(page.locator(f'input[name="tap"][value="{lesson.view.tap}"]')).to_be_checked()
        expect(page.locator("#focus")).to_have_value(lesson.view.chart)
        screenshot(page, "lesson-viewer")

        page.select_option("#focus", "bn")  # the output layer has no BN: one line, not four empty plots
        page.select_option("#layer", "output")
        expect(page.locator("#bn-none")).to_be_visible()
        expect(page.locator("#chart-bn-mean")).to_be_hidden()
        page.select_option("#layer", "hidden1")
        expect(page.locator("#chart-bn-mean")).to_be_visible()
    finally:
        with server.client() as c:
            c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_the_form_records_the_lesson_it_was_launched_from_even_edited(page: Page, server: Server):
    page.goto(f"{server.url}/?token={TOKEN}")
    page.select_option("#preset", "deep-sigmoid")
    expect(page.locator("#edited")).to_be_hidden()
    page.fill('[data-path="steps"]', "30")
    expect(page.locator("#edited")).to_be_visible()
    page.click("#start")
    page.wait_for_url(re.compile(r"/experiments/\w+"))
    eid = urlsplit(page.url).path.split("/")[-1]
    with server.client() as c:
        spec = c.get(f"/api/experiments/{eid}").json()["spec"]
    assert spec["lesson"] == "deep-sigmoid" and spec["steps"] == 30


READING = """() => { const m = window.normscope.model();
  const shown = document.getElementById('eta').textContent;
  return m?.latest ? [m.latest.sent_at, m.lastStep, shown ? m.eta() : null] : null; }"""


def test_the_pace_in_force_and_an_eta_within_a_fifth_of_the_truth(page: Page, server: Server):
    """The presenter's page knows the pace and counts with it; a viewer's does not and counts with the recent
    rate (a run at full speed is timed the same way, but its speed on a shared machine is no steady truth).
    Both watch the same run, so one paced run times both. Not `alone`: the rate and the truth both come from
    the frames' server clock, and a tiny model keeps a pace of 25 beside any neighbour."""
    steps = 300  # 12 s at 25 steps/s: the 25% reading comes after 7 frames, as a 600-step run's did after 15
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=steps, pace=25)).json()["id"]
    viewer = page.context.new_page()
    page.goto(f"{server.url}/experiments/{eid}?token={TOKEN}")
    viewer.goto(f"{server.url}/experiments/{eid}")
    expect(page.locator("#pace-label")).to_have_text("25 steps/s")  # not the nearest notch
    # (the newest frame's wall time, its step, the ETA shown from it): the remaining time is measured on the
    # server's clock, from that frame to the last one, so how late a busy browser draws them does not count
    readings: dict[str, list] = {"presenter": [], "viewer": []}
    while any(not r or r[-1][1] < steps for r in readings.values()):
        for who, p in (("presenter", page), ("viewer", viewer)):
            if reading := p.evaluate(READING):
                readings[who].append(reading)
        page.wait_for_timeout(100)
    for who, taken in readings.items():
        finished = taken[-1][0]
        for share in (0.25, 0.5, 0.75):
            at, step, eta = min(
                (r for r in taken if r[2] is not None), key=lambda r: abs(r[1] - share * steps)
            )
            truth = finished - at
            assert abs(eta - truth) <= 0.2 * truth, (who, share, step, eta, truth)
