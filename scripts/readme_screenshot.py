"""Refreshes docs/screenshot.png: the Ioffe & Szegedy preset in a real server, shown in Debian's chromium."""

import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from normscope.api.launcher import start_server
from normscope.presets import get_preset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

STEP = 1200


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data", "shot")
        try:
            spec = get_preset("ioffe-szegedy").spec.model_dump()
            auth = {"Authorization": "Bearer shot"}
            eid = httpx.post(f"{server.url}/api/experiments", json=spec, headers=auth).json()["id"]
            while httpx.get(f"{server.url}/api/experiments/{eid}").json()["step"] < STEP:
                time.sleep(0.5)
            httpx.post(f"{server.url}/api/experiments/{eid}/control", json={"action": "pause"}, headers=auth)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1150})
                page.goto(f"{server.url}/experiments/{eid}?preset=ioffe-szegedy&layer=hidden3&tap=normed")
                page.wait_for_function(f"() => window.normscope.model()?.lastStep >= {STEP}")
                page.wait_for_timeout(4000)  # every chart on screen drawn
                page.screenshot(path=ROOT / "docs" / "screenshot.png")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
