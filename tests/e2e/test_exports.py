"""Exports in a real browser: the HTML export opened from file:// with every network request refused, the
charts' PNG and SVG downloads and view links, and the experiment page's download menu."""

import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.api.conftest import wait_status
from tests.e2e.conftest import TOKEN, Server, screenshot, tiny_spec, wait_for

PNG_TITLE = "download PNG for a slide (1920×1080 at 2×)"


@pytest.fixture(scope="module")
def finished(server: Server) -> str:
    with server.client() as c:
        spec = tiny_spec(
            name="export in a browser", steps=300, probe={"every": 5, "bins": 16, "eval_every": 2}
        )
        eid = c.post("/api/experiments", json=spec).json()["id"]
        wait_status(c, eid, {"done"})
        assert (
            c.post(f"/api/experiments/{eid}/marks", json={"step": 150, "note": "halfway"}).status_code == 201
        )
        return eid


@pytest.fixture
def offline_page(
    browser: Browser,
    server: Server,
    finished: str,
    tmp_path: Path,
    origins: set[str],
    only_our_origin: list[str],
) -> Iterator[tuple[Page, list[str]]]:
    """The HTML export saved to disk and opened from file:// in an offline context that refuses any
    request that is not the file itself."""
    path = tmp_path / "replay.html"
    path.write_bytes(server.client(token=None).get(f"/api/experiments/{finished}/export?format=html").content)
    origins.add("")  # file:// has no host: the autouse origin check must accept the file itself
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000})
    refused: list[str] = []

    def only_the_file(route: Route) -> None:
        if route.request.url == path.as_uri():
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_file)
    context.on("request", lambda r: only_our_origin.append(r.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    yield page, refused
    assert not errors, errors
    context.close()


def test_the_html_export_replays_from_file_with_no_network(offline_page: tuple[Page, list[str]]):
    page, refused = offline_page
    wait_for(page, "ns && ns.model() && ns.renderer.report()['chart-loss'].traces === 2", timeout=30)
    expect(page.locator("#conn")).to_have_text("replay")
    expect(page.locator("#exports")).to_be_hidden()
    expect(page.locator("#fold")).to_be_visible()  # BN folded for inference, from the embedded folds
    expect(page.locator("#mark-list")).to_contain_text("halfway")
    assert page.locator("#chart-loss .main-svg").count() >= 1
    assert wait_for(page, "ns.renderer.report()['chart-hist-0'].traces > 0")
    expect(page.locator("#replay-step")).to_have_text("step 300 / 300")

    page.locator("#scrubber").fill("10")  # the scrubber moves: the charts show step 55
    expect(page.locator("#replay-step")).to_have_text("step 55 / 300")
    assert wait_for(page, "ns.model().lastStep === 55")

    page.locator("#speed").select_option("1")
    page.locator("#scrubber").fill("0")
    page.locator("#play").click()  # play advances frame by frame
    wait_for(page, "Number(document.getElementById('scrubber').value) >= 5", timeout=10)
    assert page.evaluate("window.normscope.model().lastStep") > 5
    screenshot(page, "html-export-offline")
    assert not refused, f"the export asked the network for {refused}"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_a_chart_downloads_as_slide_png_and_svg_and_copies_its_link(
    page: Page, server: Server, finished: str
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{server.url}/experiments/{finished}?token={TOKEN}")
    wait_for(page, "ns && ns.model() && ns.renderer.report()['chart-loss'].traces === 2")
    chart = page.locator("#chart-loss")
    chart.hover()
    with page.expect_download() as png:
        chart.locator(f'.modebar-btn[data-title="{PNG_TITLE}"]').click()
    assert png.value.suggested_filename == "export-in-a-browser-loss.png"
    assert png_size(Path(png.value.path()).read_bytes()) == (3840, 2160)

    chart.hover()
    with page.expect_download() as svg:
        chart.locator('.modebar-btn[data-title="download SVG"]').click()
    text = Path(svg.value.path()).read_text()
    assert svg.value.suggested_filename.endswith("-loss.svg")
    assert text.startswith("<svg") and 'width="1920"' in text and 'height="1080"' in text
    assert "halfway" in text  # the mark is on the slide too

    chart.hover()
    chart.locator('.modebar-btn[data-title="copy link to this view"]').click()
    expect(page.locator(".toast")).to_have_text("link to this view copied")
    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(f"{server.url}/experiments/{finished}?") and "chart=loss" in link
    assert TOKEN not in link


def test_the_download_menu_serves_each_format(page: Page, server: Server, finished: str):
    page.goto(f"{server.url}/experiments/{finished}")  # a viewer: no token
    wait_for(page, "ns && ns.model()")
    page.locator("#exports summary").click()
    for label, suffix in (("CSV", ".csv"), ("JSON lines", ".jsonl"), ("TensorBoard", ".tensorboard.zip")):
        with page.expect_download() as download:
            page.locator("#exports a", has_text=label).click()
        assert download.value.suggested_filename.endswith(f"-{finished}{suffix}")
        assert Path(download.value.path()).stat().st_size > 1000
    with page.expect_download() as download:
        page.locator("#exports a", has_text="offline replay").click()
    head = Path(download.value.path()).read_bytes()[:200]
    assert head.startswith(b"<!doctype html>"), head
    started = time.monotonic()
    lines = (
        server.client(token=None).get(f"/api/experiments/{finished}/export?format=jsonl").text.splitlines()
    )
    assert json.loads(lines[0])["status"] == "done" and time.monotonic() - started < 10
