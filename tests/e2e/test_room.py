"""One room link for a lecture, in real browsers: a presenter and three viewers (one on a phone) open it once;
the presenter launches three lessons of a lecture in a row (one played from its recording) and every viewer
lands on each new experiment, on the presenter's view, within a second; one who stopped following stays put
and is told where the presenter went; a presenter switched to private moves nobody."""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Frame, Page, expect

from tests.api.conftest import start
from tests.api.test_lectures import tiny_course
from tests.e2e.conftest import ARTIFACTS, TOKEN, Server
from tests.e2e.test_hall import STATE
from tests.unit.test_cli import env

MOVE_S = 1.0  # the bound: each viewer shows the new experiment's charts within a second
# Each document of a viewer notes when Plotly first drew one of its charts (timed in the browser): those of
# the presenter's view, as a chart focused alone hides the others (and no chart is drawn into a hidden box).
CHARTS_AT = """(() => {
  const seen = () => [...document.querySelectorAll('.chart')].some((c) => c._fullLayout);
  const tick = () => (seen() ? (window.chartsAt = Date.now()) : requestAnimationFrame(tick));
  requestAnimationFrame(tick);
})()"""
# The presenter's context notes when the first PUT /api/room of each experiment leaves the page.
PUT_AT = """(() => {
  const fetch0 = window.fetch;
  window.fetch = (url, options = {}) => {
    if (url === '/api/room' && options.method === 'PUT') {
      const key = `roomPutAt:${JSON.parse(options.body).experiment_id}`;
      if (!localStorage.getItem(key)) localStorage.setItem(key, String(Date.now()));
    }
    return fetch0(url, options);
  };
})()"""


@pytest.fixture(scope="module")
def room_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Three tiny lessons in a lecture, the second recorded (`normscope record`), so it is played."""
    data = tmp_path_factory.mktemp("room") / "data"
    tiny_course(data)
    recorded = subprocess.run(
        [sys.executable, "-m", "normscope", "record", "tiny-2", "--device", "cpu", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env(NORMSCOPE_TORCH_THREADS="1", NORMSCOPE_DATA_DIR=str(data)),
    )
    assert recorded.returncode == 0, recorded.stderr
    s = start(data, NORMSCOPE_MAX_RUNNING="4")
    yield s
    s.stop()


@pytest.fixture
def origins(room_server: Server) -> set[str]:
    return {urlsplit(room_server.url).netloc}


@pytest.fixture
def contexts(browser: Browser, only_our_origin: list[str]) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for c in made:
        c.close()


def open_context(browser: Browser, made: list[BrowserContext], seen: list[str], script: str, **args) -> Page:
    made.append(browser.new_context(**args))
    made[-1].on("request", lambda r: seen.append(r.url))
    made[-1].add_init_script(script)
    return made[-1].new_page()


def page_of(viewer: Page, eid: str) -> Frame | None:
    """The room page's frame showing the experiment (the room keeps each experiment's page in a frame)."""
    for frame in viewer.frames[1:]:
        try:
            if frame.evaluate("location.pathname") == f"/experiments/{eid}":
                return frame
        except Error:  # a frame on its way out
            pass
    return None


def landed(viewer: Page, eid: str, timeout: float = 15) -> int:
    """When (Date.now() in the viewer's browser) its page of the experiment first drew its charts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = page_of(viewer, eid)
        try:
            at = frame is not None and frame.evaluate("window.chartsAt")
        except Error:  # the frame was being replaced
            at = None
        if at:
            return at
        time.sleep(0.05)
    raise AssertionError(f"{viewer.url} did not open {eid}: {[f.url for f in viewer.frames]}")


def settled(viewers: list[Page]) -> None:
    """Each room page has its next page loaded, as between two lessons of a lecture (not seconds apart)."""
    for v in viewers:
        v.wait_for_function("() => document.body.dataset.spare === 'ready'", timeout=30_000)


def moved_within(lead: Page, viewers: list[Page], eid: str) -> list[float]:
    """Seconds from the presenter's PUT /api/room to each viewer's charts of the new experiment."""
    shown = [landed(v, eid) for v in viewers]
    put_at = int(lead.evaluate("id => localStorage.getItem(`roomPutAt:${id}`)", eid))
    for v in viewers:  # on the presenter's view of it
        frame = page_of(v, eid)
        assert frame is not None
        expect(frame.locator("#layer")).to_have_value(lead.locator("#layer").input_value())
        assert frame.evaluate(STATE) == lead.evaluate(STATE)
    return [(at - put_at) / 1000 for at in shown]


@pytest.mark.alone  # four pages timed against the one-second bound: a neighbour test took it to 1.36 s
def test_one_room_link_follows_the_presenter_through_a_lecture(
    browser: Browser, room_server: Server, contexts: list[BrowserContext], only_our_origin: list[str]
):
    lead = open_context(browser, contexts, only_our_origin, PUT_AT)
    sizes = [{"width": 1400, "height": 1000}, {"width": 1280, "height": 720}, {"width": 390, "height": 844}]
    viewers = [open_context(browser, contexts, only_our_origin, CHARTS_AT, viewport=size) for size in sizes]
    for v in viewers:
        v.goto(f"{room_server.url}/room")  # once: the QR code's link
        expect(v.locator("#standby-title")).to_have_text("Waiting for the presenter")
    settled(viewers)
    lead.goto(f"{room_server.url}/?token={TOKEN}")  # the lecture starts from the start page
    lead.select_option("#lecture", "tiny")
    expect(lead.locator("#lecture-info")).to_have_text("tiny-1 → tiny-2 → tiny-3")
    lead.click("#lecture-start")
    lead.wait_for_url("**/experiments/*")
    first = urlsplit(lead.url).path.split("/")[-1]
    delays = {"tiny-1": moved_within(lead, viewers, first)}
    expect(lead.locator("#lecture-place")).to_have_text("1 of 3: tiny-1")
    phone = page_of(viewers[2], first)
    assert phone is not None
    expect(phone.locator("#lecture-place")).to_have_text("1 of 3: tiny-1")
    expect(phone.locator("#lecture-next")).to_be_hidden()  # only the presenter moves on

    made = [first]
    for lesson in ("tiny-2", "tiny-3"):
        settled(viewers)
        lead.click("#lecture-next")
        lead.wait_for_url(lambda url: urlsplit(url).path.split("/")[-1] not in made)
        made.append(urlsplit(lead.url).path.split("/")[-1])
        delays[lesson] = moved_within(lead, viewers, made[-1])
    with room_server.client() as c:
        experiments = [c.get(f"/api/experiments/{eid}").json() for eid in made]
    assert [e["spec"]["lesson"] for e in experiments] == ["tiny-1", "tiny-2", "tiny-3"]
    assert [e["source"] is not None for e in experiments] == [False, True, False], "the second one is played"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the figures, for the README
    (ARTIFACTS / "room-moves.json").write_text(json.dumps({"seconds_per_viewer": delays, "bound_s": MOVE_S}))
    assert all(max(d) < MOVE_S for d in delays.values()), delays
    expect(lead.locator("#lecture-next")).to_be_hidden()  # the last lesson: nothing follows
    for v in viewers:  # and the charts fill with the new experiment's frames
        frame = page_of(v, made[-1])
        assert frame is not None
        frame.wait_for_function("() => window.normscope.model()?.lastStep > 0", timeout=30_000)

    stays = page_of(viewers[1], made[-1])
    assert stays is not None
    stays.locator("#follow").click()  # looks on their own: the room moves on without them
    settled([viewers[0], viewers[2]])
    lead.evaluate("id => localStorage.removeItem(`roomPutAt:${id}`)", first)
    lead.goto(f"{room_server.url}/experiments/{first}")  # the presenter goes back to the first lesson
    moved_within(lead, [viewers[0], viewers[2]], first)
    expect(stays.locator("#moved-on")).to_be_visible()
    expect(stays.locator("#moved-on-link")).to_have_text("tiny 1")
    assert page_of(viewers[1], first) is None, "an unfollowed viewer stays put"
    stays.locator("#moved-on-follow").click()
    landed(viewers[1], first)

    # "private": the presenter prepares another experiment without moving the room, then shows it
    lead.click("#to-room")
    expect(lead.locator("#to-room")).to_have_text("private")
    lead.goto(f"{room_server.url}/experiments/{made[1]}")
    expect(lead.locator("#to-room")).to_have_attribute("aria-pressed", "false")  # kept across pages
    lead.wait_for_function("() => window.normscope.model()")
    with room_server.client() as c:
        assert c.get("/api/room").json()["experiment"] == first
        lead.click("#to-room")
        expect(lead.locator("#to-room")).to_have_text("shown to the room")
        landed(viewers[0], made[1])
        assert c.get("/api/room").json() == {"experiment": made[1], "lecture": "tiny", "position": 2}
