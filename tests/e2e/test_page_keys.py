"""The page as a presenter and a viewer use it: the kept token, the keys, replay speeds, a deleted run."""

import itertools
import re

from playwright.sync_api import Page, expect

from tests.api.conftest import wait_status
from tests.e2e.conftest import TOKEN, Server, tiny_spec


def test_the_presenter_token_is_kept_for_later_visits(page: Page, server: Server):
    page.goto(f"{server.url}/?token={TOKEN}")
    expect(page.locator("#who")).to_have_text("presenter")
    assert "token" not in page.url  # not left in the address bar, where the room could read it
    page.goto(f"{server.url}/")  # a second visit, without the token in the link
    expect(page.locator("#who")).to_have_text("presenter")
    expect(page.locator("#launch")).to_be_visible()
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
    try:
        page.goto(f"{server.url}/experiments/{eid}")
        expect(page.locator("#controls")).to_be_visible()
        page.click("#pause")  # the kept token is sent with the control
        expect(page.locator("#status")).to_have_text("paused", timeout=30_000)
    finally:
        with server.client() as c:
            c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_the_l_and_f_keys(page: Page, server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
    page.goto(f"{server.url}/experiments/{eid}")
    expect(page.locator("#status")).to_have_text("done", timeout=60_000)
    page.keyboard.press("l")
    expect(page.locator("body")).to_have_class(re.compile("lecture"))
    assert "lecture=1" in page.url
    page.keyboard.press("L")
    expect(page.locator("body")).not_to_have_class(re.compile("lecture"))
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement !== null")
    page.keyboard.press("f")
    page.wait_for_function("() => document.fullscreenElement === null")
    page.locator("#layer").focus()  # a focused menu does not swallow the shortcuts
    page.keyboard.press("l")
    expect(page.locator("body")).to_have_class(re.compile("lecture"))


def test_replay_plays_at_each_speed(page: Page, server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=600, probe={"every": 10, "bins": 16})).json()[
            "id"
        ]
        wait_status(c, eid, {"done"})
    page.goto(f"{server.url}/experiments/{eid}")
    expect(page.locator("#replay-step")).to_have_text("step 600 / 600")
    for speed in (2, 20):
        page.locator("#scrubber").fill("0")
        page.select_option("#speed", str(speed))
        page.evaluate(
            """() => { window.shown = []; const out = document.getElementById('replay-step');
                new MutationObserver(() => window.shown.push(out.textContent))
                    .observe(out, {childList: true, characterData: true, subtree: true}); }"""
        )
        page.click("#play")
        expect(page.locator("#play")).to_have_text("play", timeout=20_000)  # played to the end and stopped
        shown = [int(re.match(r"step (\d+)", t).group(1)) for t in page.evaluate("window.shown")]
        steps = [s for i, s in enumerate(shown) if i == 0 or s != shown[i - 1]]  # one entry per change
        jumps = {b - a for a, b in itertools.pairwise(steps)}
        assert steps[-1] == 600 and jumps <= {10 * speed, 600 - steps[-2]}, (speed, steps)
        assert 10 * speed in jumps


def test_a_page_watching_a_deleted_experiment_says_so(page: Page, server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
        page.goto(f"{server.url}/experiments/{eid}")
        expect(page.locator("#conn")).to_have_text("live", timeout=30_000)
        page.wait_for_function("() => window.normscope.model()?.lastStep > 0", timeout=30_000)
        assert c.delete(f"/api/experiments/{eid}").status_code == 204
    expect(page.locator("#conn")).to_have_text("deleted", timeout=2_000)
    expect(page.locator("#error")).to_have_text("This experiment was deleted by the presenter.")
    expect(page.locator("#replay")).to_be_hidden()
    page.wait_for_timeout(1500)
    expect(page.locator("#conn")).to_have_text("deleted")  # it does not try to reconnect
