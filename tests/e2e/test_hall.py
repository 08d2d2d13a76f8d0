"""The lecture hall in real browsers: a presenter's page (with the token) and viewers' pages (without).
The room follows the presenter's layer, tap and chart, sees the marks, joins by QR code, fits a phone."""

import io
import time
from collections.abc import Callable, Iterator

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from normscope.lessons import builtin_lesson
from tests.api.conftest import wait_status
from tests.e2e.conftest import TOKEN, Server, tiny_spec

FOLLOW_S = 0.5  # the bound: a viewer shows the presenter's change within half a second

STATE = """() => ({
  layer: document.getElementById('layer').value,
  tap: document.querySelector('input[name="tap"]:checked')?.value,
  chart: document.getElementById('focus').value,
})"""


@pytest.fixture
def live(server: Server) -> Iterator[str]:
    """A long experiment, paused after its first frames so the charts have something to draw."""
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=200_000, model={"hidden": [16, 12, 8]})).json()[
            "id"
        ]
        deadline = time.monotonic() + 60
        while c.get(f"/api/experiments/{eid}").json()["step"] < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        c.post(f"/api/experiments/{eid}/control", json={"action": "pause"})
        wait_status(c, eid, {"paused"})
        yield eid
        c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


@pytest.fixture
def viewer(browser: Browser, server: Server, only_our_origin: list[str]) -> Iterator[Callable[..., Page]]:
    """Viewers' pages, each in a context of its own: no presenter token in their storage. Their requests
    join the origin check's record, so they too must ask nothing of another host."""
    contexts = []

    def open_page(eid: str, query: str = "", **context_args: object) -> Page:
        contexts.append(browser.new_context(**context_args))
        contexts[-1].on("request", lambda r: only_our_origin.append(r.url))
        p = contexts[-1].new_page()
        p.goto(f"{server.url}/experiments/{eid}{query}")
        expect(p.locator("#follow")).to_be_visible()
        p.wait_for_function("() => document.getElementById('layer').options.length > 0")
        return p

    yield open_page
    for c in contexts:
        c.close()


def presenter(page: Page, server: Server, eid: str) -> Page:
    page.goto(f"{server.url}/experiments/{eid}?token={TOKEN}")
    expect(page.locator("#share")).to_be_visible()
    expect(page.locator("#follow")).to_be_hidden()
    page.wait_for_function("() => document.getElementById('layer').options.length > 0")
    return page


def followed_within(viewer: Page, want: dict, act: Callable[[], None], lead: Page | None = None) -> float:
    """Seconds from the change (on the lead page: its change event, timed in the browser, not counting how
    long the test driver takes to get there) until the viewer's page shows it."""
    if lead is not None:
        lead.evaluate(
            """() => { window.changedAt = null;
                 document.addEventListener('change', () => { window.changedAt ??= Date.now(); },
                                           {capture: true, once: true}); }"""
        )
    start = time.time() * 1000
    act()
    shown = viewer.wait_for_function(
        f"""want => {{ const s = ({STATE})();
              return Object.keys(want).every((k) => s[k] === want[k]) && Date.now(); }}""",
        arg=want,
        timeout=5000,
    ).json_value()
    changed = lead.evaluate("window.changedAt") if lead is not None else start
    return (shown - changed) / 1000


@pytest.mark.alone
def test_viewers_follow_the_presenter_and_may_look_on_their_own(
    page: Page, server: Server, live: str, viewer
):
    lead = presenter(page, server, live)
    room = viewer(live)
    expect(room.locator("#follow")).to_have_attribute("aria-pressed", "true")
    delays = [
        followed_within(room, {"layer": "hidden1"}, lambda: lead.select_option("#layer", "hidden1"), lead),
        followed_within(room, {"tap": "act"}, lambda: lead.check('input[name="tap"][value="act"]'), lead),
        followed_within(room, {"chart": "bands"}, lambda: lead.select_option("#focus", "bands"), lead),
    ]
    assert max(delays) < FOLLOW_S, delays
    assert "chart=bands" in room.url  # the viewer's own link says what it shows

    room.click("#follow")  # look on one's own: the presenter's changes no longer move this page
    expect(room.locator("#follow")).to_have_attribute("aria-pressed", "false")
    room.select_option("#layer", "hidden3")
    lead.check('input[name="tap"][value="preact"]')
    lead.select_option("#layer", "hidden2")
    time.sleep(1.0)
    assert room.evaluate(STATE) == {"layer": "hidden3", "tap": "act", "chart": "bands"}
    room.click("#follow")  # and back: straight to what the presenter shows now
    assert followed_within(room, {"layer": "hidden2", "tap": "preact"}, lambda: None) < FOLLOW_S

    room.select_option("#layer", "hidden1")  # choosing a layer of one's own ends following by itself
    expect(room.locator("#follow")).to_have_attribute("aria-pressed", "false")

    late = viewer(live)  # a late joiner starts where the presenter is
    assert late.evaluate(STATE) == {"layer": "hidden2", "tap": "preact", "chart": "bands"}
    expect(late.locator("#follow")).to_have_attribute("aria-pressed", "true")


def test_a_viewer_cannot_set_the_view_or_drop_a_mark(page: Page, server: Server, live: str, viewer):
    lead = presenter(page, server, live)
    lead.select_option("#layer", "hidden1")
    room, other = viewer(live), viewer(live)
    expect(room.locator("#share")).to_be_hidden()
    room.keyboard.press("m")  # no mark dialog for a viewer
    expect(room.locator("#mark-dialog")).not_to_be_visible()
    answers = room.evaluate(
        """async (eid) => {
          const put = await fetch(`/api/experiments/${eid}/view`, {method: 'PUT', headers: {'Content-Type':
            'application/json'}, body: JSON.stringify({layer: 'hidden3', tap: 'act'})});
          const post = await fetch(`/api/experiments/${eid}/marks`, {method: 'POST', headers: {'Content-Type':
            'application/json'}, body: JSON.stringify({step: 0, note: 'forged'})});
          const ws = new WebSocket(`ws://${location.host}/ws/experiments/${eid}`);
          const errors = [];
          await new Promise((done) => {
            setTimeout(done, 10000);
            ws.onmessage = (ev) => {
              const msg = JSON.parse(ev.data);
              // one error reply waits at a time: the second forgery goes after the first is answered
              if (msg.type === 'hello') ws.send(JSON.stringify({type: 'view', layer: 'hidden3', tap: 'act'}));
              if (msg.type === 'error') errors.push(msg.detail);
              if (msg.type === 'error' && errors.length === 1) ws.send('{"type": "mark", "step": 0}');
              if (errors.length === 2) done();
            };
          });
          ws.close();
          return {put: put.status, post: post.status, errors};
        }""",
        live,
    )
    assert answers["put"] == 401 and answers["post"] == 401
    assert len(answers["errors"]) == 2, answers
    assert all("only the presenter" in e for e in answers["errors"]), answers
    time.sleep(0.5)
    assert other.evaluate(STATE)["layer"] == "hidden1"  # nothing was broadcast
    expect(other.locator("#marks")).to_be_hidden()


def wait_mark_drawn(p: Page, chart: str, step: int) -> None:
    p.locator(f"#{chart}").scroll_into_view_if_needed()  # charts off screen are drawn when they show
    p.wait_for_function(
        "([id, step]) => (document.getElementById(id).layout?.shapes ?? []).some((s) => s.x0 === step)",
        arg=[chart, step],
    )


def loss_marks(p: Page) -> list[float]:
    return p.evaluate(
        """() => (document.getElementById('chart-loss').layout?.shapes ?? [])
             .filter((s) => s.line?.dash === 'dash').map((s) => s.x0)"""
    )


def test_a_mark_reaches_the_room_and_survives_a_reload_and_the_replay(
    page: Page, server: Server, live: str, viewer
):
    lead = presenter(page, server, live)
    room = viewer(live)
    step = lead.wait_for_function("() => window.normscope.model()?.lastStep").json_value()
    lead.keyboard.press("m")
    expect(lead.locator("#mark-dialog")).to_be_visible()
    expect(lead.locator("#mark-step")).to_have_text(f"at step {step}")
    lead.fill("#mark-note", "the plain band starts to drift here")
    lead.keyboard.press("Enter")
    expect(lead.locator("#mark-dialog")).not_to_be_visible()
    expect(room.locator("#mark-list")).to_contain_text("the plain band starts to drift here")
    wait_mark_drawn(room, "chart-loss", step)
    wait_mark_drawn(room, "chart-heat-0", step)  # every time-axis chart carries the mark, the heatmaps too

    room.reload()
    expect(room.locator("#mark-list")).to_contain_text("the plain band starts to drift here")
    wait_mark_drawn(room, "chart-loss", step)

    lead.click("#cancel")  # finished: both pages replay, the mark still drawn
    expect(room.locator("#replay")).to_be_visible(timeout=30_000)
    wait_mark_drawn(room, "chart-loss", step)
    assert step in loss_marks(room)


@pytest.mark.alone
def test_the_room_follows_the_presenter_s_replay_position(page: Page, server: Server, viewer):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=300)).json()["id"]
        wait_status(c, eid, {"done"})
    lead = presenter(page, server, eid)
    expect(lead.locator("#replay")).to_be_visible()
    room = viewer(eid)
    expect(room.locator("#replay-step")).to_have_text("step 300 / 300")
    lead.locator("#scrubber").fill("9")  # the 10th frame: step 100
    expect(lead.locator("#replay-step")).to_have_text("step 100 / 300")
    expect(room.locator("#replay-step")).to_have_text("step 100 / 300", timeout=int(FOLLOW_S * 1000) + 500)
    late = viewer(eid)
    expect(late.locator("#replay-step")).to_have_text("step 100 / 300")


def test_the_share_screen_s_qr_code_is_the_room_s_link(page: Page, server: Server, live: str):
    lead = presenter(page, server, live)
    lead.click("#share")
    expect(lead.locator("#share-screen")).to_be_visible()
    url = lead.locator("#share-url").inner_text()
    assert url == f"{server.url}/room"  # one scan for the lecture: the room follows the presenter
    expect(lead.locator("#share-hint")).to_contain_text("--host 0.0.0.0")  # this server listens on loopback
    lead.wait_for_function("() => document.getElementById('share-qr').complete")
    shot = Image.open(io.BytesIO(lead.locator("#share-qr").screenshot()))
    decoded = zxingcpp.read_barcodes(shot)
    assert [d.text for d in decoded] == [url]
    assert shot.width >= 400  # large enough to scan from the back of the room
    lead.keyboard.press("Escape")
    expect(lead.locator("#share-screen")).to_be_hidden()


@pytest.mark.parametrize("width", [360, 390, 430])
def test_the_experiment_page_fits_a_phone(server: Server, live: str, viewer, width: int):
    phone = viewer(live, viewport={"width": width, "height": 844}, is_mobile=True, has_touch=True)
    for chart in ("chart-loss", "chart-hist-0", "chart-heat-0", "chart-grad"):  # drawn once scrolled to
        phone.locator(f"#{chart}").scroll_into_view_if_needed()
        phone.wait_for_function(f"() => document.querySelector('#{chart} .main-svg') !== null")
    sizes = phone.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
        " view: innerWidth, chart: document.getElementById('chart-loss').getBoundingClientRect().right})"
    )
    assert sizes["doc"] <= sizes["view"] and sizes["body"] <= sizes["view"], sizes
    assert sizes["chart"] <= sizes["view"], sizes
    height = phone.evaluate("() => document.getElementById('follow').getBoundingClientRect().height")
    assert height >= 40, "a thumb-sized button"


def test_preset_alone_opens_the_preset_s_view(page: Page, server: Server):
    preset = builtin_lesson("deep-sigmoid")
    with server.client() as c:
        spec = {**preset.spec.model_dump(), "steps": 20}
        eid = c.post("/api/experiments", json=spec).json()["id"]
    page.goto(f"{server.url}/experiments/{eid}?preset={preset.id}")
    expect(page.locator("#layer")).to_have_value(preset.view.layer, timeout=30_000)  # queued on a busy server
    expect(page.locator(f'input[name="tap"][value="{preset.view.tap}"]')).to_be_checked()
    expect(page.locator("#focus")).to_have_value(preset.view.chart)
    expect(page.locator("#lesson")).to_be_visible()
    page.goto(
        f"{server.url}/experiments/{eid}?preset={preset.id}&layer=hidden2&tap=preact"
    )  # a named view wins
    expect(page.locator("#layer")).to_have_value("hidden2")
    expect(page.locator('input[name="tap"][value="preact"]')).to_be_checked()
