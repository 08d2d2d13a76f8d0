"""An external experiment's page, live while the user's own loop trains: the same charts as any other."""

import threading

import torch
from playwright.sync_api import Page, expect

import normscope
from tests.e2e.conftest import TOKEN, Server, screenshot, wait_for, wait_for_status
from tests.unit.watching.models import UserNet, batches, train_step


def test_a_watched_loop_draws_live_on_its_page(page: Page, server: Server):
    torch.manual_seed(0)
    models = {"plain": UserNet(bn=False), "BN": UserNet(bn=True)}
    opts = {k: torch.optim.SGD(m.parameters(), lr=0.05) for k, m in models.items()}
    session = normscope.watch(
        models, server=server.url, token=TOKEN, every=5, steps=4000, name="watched live"
    )
    started = threading.Event()
    errors: list[BaseException] = []

    def loop() -> None:
        try:
            with session:
                for x, y in batches(4000, size=8):
                    session.step(loss={k: train_step(m, opts[k], x, y) for k, m in models.items()})
                    started.set()
        except BaseException as e:  # surfaced by the assertion below
            errors.append(e)

    trainer = threading.Thread(target=loop)
    trainer.start()
    try:
        assert started.wait(60)
        page.set_viewport_size({"width": 1400, "height": 2400})
        page.goto(f"{session.url}?token={TOKEN}")
        wait_for_status(page, "running")
        expect(page.locator("#external")).to_be_visible()
        expect(page.locator("#untapped")).to_contain_text("layer1.0.conv2: no act tap")
        wait_for(
            page, "ns.model() && ns.model().lastStep >= 50 && ns.renderer.report()['chart-loss'].traces === 2"
        )
        wait_for(page, "ns.renderer.report()['chart-hist-0']?.traces > 0")
        expect(page.locator("#layer option")).to_have_count(6)
        screenshot(page, "watch-live")
        page.click("#pause")  # the presenter's button pauses the user's loop
        wait_for_status(page, "paused", timeout=30)
        paused_at = session.step_count
        page.wait_for_timeout(1000)
        assert session.step_count == paused_at
        page.click("#cancel")
    finally:
        trainer.join(60)
    assert not errors and not trainer.is_alive()
    wait_for_status(page, "cancelled", timeout=30)
