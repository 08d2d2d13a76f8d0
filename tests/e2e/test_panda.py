"""The panda's knob in a browser: the presenter types a variant's learning rate, the run takes it from the
next step, and the change is marked on the loss and accuracy charts."""

from playwright.sync_api import Page, expect

from tests.e2e.conftest import TOKEN, Server, tiny_spec, wait_for


def test_the_presenter_sets_a_variants_learning_rate_and_the_charts_mark_it(page: Page, server: Server):
    with server.client() as c:
        spec = tiny_spec(steps=200_000, pace=100, probe={"every": 10, "bins": 16, "eval_every": 1})
        eid = c.post("/api/experiments", json=spec).json()["id"]
    try:
        page.goto(f"{server.url}/experiments/{eid}?token={TOKEN}&chart=loss")
        field = page.get_by_label("plain learning rate")
        expect(field).to_have_value("0.1", timeout=30_000)  # the rate the run trains at, from its frames
        expect(page.locator("#pace-label")).to_have_text("100 steps/s")  # the spec's starting pace
        field.fill("0.025")
        field.press("Enter")
        wait_for(page, "ns.model().runs[0].lrChanges.length === 1 && ns.model().runs[0].lr === 0.025")
        assert page.evaluate("window.normscope.model().runs[1].lr") == 0.1  # the BN run keeps its own
        loss = page.locator("#chart-loss")
        expect(loss.locator(".annotation-text", has_text="plain lr → 0.0250")).to_be_visible()
        page.locator("#focus").select_option("accuracy")
        expect(page.locator("#chart-accuracy .annotation-text", has_text="plain lr → 0.0250")).to_be_visible()
        expect(page.locator("#control-error")).to_have_text("")
    finally:
        with server.client() as c:
            c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})
