"""Browser tests: Debian's chromium driven by Playwright against a real server process on loopback."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.api.conftest import TOKEN, Server, start, tiny_spec

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"

__all__ = ["TOKEN", "Server", "tiny_spec"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium (scripts/install-system-deps.sh)"
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start(tmp_path_factory.mktemp("e2e") / "data", NORMSCOPE_MAX_RUNNING="4")
    yield s
    s.stop()


@pytest.fixture
def origins(server: Server) -> set[str]:
    """The app's own origins in this test: the shared server's, and any server the test starts."""
    return {urlsplit(server.url).netloc}


@pytest.fixture
def own_server(tmp_path: Path, origins: set[str]) -> Iterator[Callable[..., Server]]:
    """A server of the test's own, with its own settings."""
    started: list[Server] = []

    def launch(**env: str) -> Server:
        started.append(start(tmp_path / "data", **env))
        origins.add(urlsplit(started[-1].url).netloc)
        return started[-1]

    yield launch
    for s in started:
        s.stop()


@pytest.fixture(autouse=True)
def only_our_origin(context: BrowserContext, origins: set[str]) -> Iterator[list[str]]:
    """Every request the pages make goes to the app's own origin: nothing from a CDN or anywhere else."""
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    context.on("page", lambda p: p.on("websocket", lambda ws: seen.append(ws.url)))
    yield seen
    foreign = [
        u for u in seen if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc not in origins
    ]
    assert not foreign, f"requests to other hosts: {foreign}"
    assert seen, "no request was recorded: the origin check saw nothing"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def wait_for(page: Page, js: str, timeout: float = 60, arg: object = None) -> object:
    """Polls a JS expression (a function of `ns`, the page's window.normscope) until it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(f"(arg) => {{ const ns = window.normscope; return ({js}); }}", arg)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {js}")


def wait_for_status(page: Page, status: str, timeout: float = 60) -> None:
    page.wait_for_function(
        "s => document.getElementById('status').textContent === s", arg=status, timeout=timeout * 1000
    )
