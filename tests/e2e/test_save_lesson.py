"""Save as lesson, end to end: a live experiment with two marks saved from its page as an own lesson, a
restart of the server on the same data dir, and the lesson launched from the start page's list: the same
spec, its view, and its two marks dropped at their steps."""

import time
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.api.conftest import wait_status
from tests.e2e.conftest import TOKEN, Server, screenshot, tiny_spec, wait_for

LESSON_ID = "paced-week-3"
STATE = """() => ({
  layer: document.getElementById('layer').value,
  tap: document.querySelector('input[name="tap"]:checked')?.value,
})"""
STEP_AND_MARKS = "[window.normscope.model()?.lastStep ?? 0, window.normscope.marks.list.map((m) => m.step)]"


def step_of(c, eid: str, at_least: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (step := c.get(f"/api/experiments/{eid}").json()["step"]) < at_least:
        assert time.monotonic() < deadline, f"experiment {eid} still at step {step}, wanted {at_least}"
        time.sleep(0.05)
    return step


def test_save_as_lesson_from_a_live_experiment_then_restart_and_launch_it(
    page: Page, own_server: Callable[..., Server]
):
    server = own_server()
    with server.client() as c:
        # 20 steps a second, a frame every 10: live for 15 s, long past the marks and the save
        spec = tiny_spec(name="paced", steps=300, pace=20.0, model={"hidden": [16, 12, 8]})
        first = c.post("/api/experiments", json=spec).json()
        eid = first["id"]
        page.goto(f"{server.url}/experiments/{eid}?token={TOKEN}")
        expect(page.locator("#save-lesson")).to_be_visible()
        wait_for(page, "ns.model()?.lastStep >= 30")

        page.keyboard.press("m")  # the presenter's first mark, at the step the page shows
        expect(page.locator("#mark-dialog")).to_be_visible()
        page.fill("#mark-note", "the plain band drifts")
        page.keyboard.press("Enter")
        expect(page.locator("#mark-list li")).to_have_count(1)
        m_step = int(page.locator("#mark-list li").first.get_attribute("data-step"))
        assert m_step >= 30
        second = step_of(c, eid, m_step + 20)  # and one over the marks REST, at the step reached now
        r = c.post(f"/api/experiments/{eid}/marks", json={"step": second, "note": "BN holds"})
        assert r.status_code == 201, r.text
        expect(page.locator("#mark-list li")).to_have_count(2)

        page.select_option("#layer", "hidden1")  # the view the lesson will open on
        page.check('input[name="tap"][value="act"]')
        page.click("#save-lesson")
        dialog = page.locator("#save-lesson-dialog")
        expect(dialog).to_be_visible()
        assert page.input_value("#save-lesson-layer") == "hidden1"  # the presenter's view
        expect(page.locator("#save-lesson-keeps")).to_have_text(
            f"opens on the act tap and the bands chart; marks: step {m_step} “the plain band drifts”, "
            f"step {second} “BN holds”"
        )
        page.fill("#save-lesson-title", "Paced: week 3")
        assert page.input_value("#save-lesson-id") == LESSON_ID  # the id follows the title
        page.fill("#save-lesson-summary", "Watch the plain band drift.\n\nBN holds it.")
        screenshot(page, "save-lesson-dialog")
        page.click("#save-lesson-dialog button[value=save]")
        expect(dialog).to_be_hidden()
        expect(page.locator(".toast")).to_contain_text(f"lessons/{LESSON_ID}.toml")
        assert c.get(f"/api/experiments/{eid}").json()["status"] == "running"  # saved from a live run

        page.click("#save-lesson")  # the same id again: the server's 409, in the dialog
        page.fill("#save-lesson-title", "Paced: week 3")
        page.fill("#save-lesson-summary", "Again.")
        page.click("#save-lesson-dialog button[value=save]")
        expect(page.locator("#save-lesson-error")).to_have_text(
            f"a lesson '{LESSON_ID}' exists already (lessons/{LESSON_ID}.toml)"
        )
        page.click("#save-lesson-dialog button[value=cancel]")

        file = server.data_dir / "lessons" / f"{LESSON_ID}.toml"
        assert file.is_file(), sorted(p.name for p in (server.data_dir / "lessons").iterdir())
        c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})
        stored = c.get(f"/api/experiments/{eid}").json()["spec"]
    server.stop()

    again = own_server()  # the same data dir
    assert again.data_dir == server.data_dir
    with again.client() as c:
        listed = {item["id"]: item for item in c.get("/api/lessons").json()}
        lesson = listed[LESSON_ID]
        assert (lesson["source"], lesson["errors"], lesson["title"]) == ("own", [], "Paced: week 3")
        assert lesson["view"] == {"layer": "hidden1", "tap": "act", "chart": "bands"}
        assert lesson["marks"] == [
            {"step": m_step, "note": "the plain band drifts"},
            {"step": second, "note": "BN holds"},
        ]
        assert lesson["spec"] == stored == first["spec"]  # the experiment's spec, lesson null

        page.goto(f"{again.url}/?token={TOKEN}")  # a new port: a new origin, the token given again
        item = page.locator(f'#lessons-own li[data-id="{LESSON_ID}"]')
        expect(item.locator(".lesson-name")).to_have_text("Paced: week 3")
        expect(item).to_contain_text("2 marks")
        screenshot(page, "lessons-list")
        item.locator("button.launch").click()
        page.wait_for_url(f"{again.url}/experiments/*")
        launched_id = page.url.split("/experiments/")[1].split("?")[0]
        launched = c.get(f"/api/experiments/{launched_id}").json()
        # the one field a launch sets: the lesson it came from
        assert launched["spec"] == {**lesson["spec"], "lesson": LESSON_ID}
        expect(page.locator("#lesson-title")).to_have_text(": Paced: week 3")
        wait_for(page, "ns.model()?.layers.length > 0")
        assert page.evaluate(STATE) == {"layer": "hidden1", "tap": "act"}

        # each mark appears once the page has the frame that reaches its step, never before
        seen: list[tuple[int, list[int]]] = []
        deadline = time.monotonic() + 40
        while len(seen[-1][1] if seen else []) < 2:
            assert time.monotonic() < deadline, f"the marks did not appear: {seen[-3:]}"
            seen.append(page.evaluate(STEP_AND_MARKS))
            time.sleep(0.1)
        assert all(step <= last for last, steps in seen for step in steps), seen
        assert seen[-1][1] == [m_step, second]
        expect(page.locator("#mark-list li")).to_have_count(2)
        marks = c.get(f"/api/experiments/{launched_id}/marks").json()
        assert [(m["step"], m["note"]) for m in marks] == [
            (m_step, "the plain band drifts"),
            (second, "BN holds"),
        ]
        c.post(f"/api/experiments/{launched_id}/control", json={"action": "cancel"})
        wait_status(c, launched_id, {"cancelled"})
