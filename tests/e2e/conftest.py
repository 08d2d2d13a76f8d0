"""Browser tests: Debian's chromium driven by Playwright against a real server process on loopback."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, BrowserType, Page, Request

from tests.api.conftest import TOKEN, Server, start, tiny_spec

# Debian's chromium-headless-shell: the same Blink and V8 as its chromium, without the browser's own UI
# (what Playwright itself runs headless): a dashboard page costs 2.5 CPU-s against 3.6, the lesson list 0.3
# against 1.3
CHROMIUM = "/usr/bin/chromium-headless-shell"
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
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (scripts/install-system-deps.sh)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start(tmp_path_factory.mktemp("e2e") / "data", NORMSCOPE_MAX_RUNNING="4")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def profile(
    browser_type: BrowserType,
    browser_type_launch_args: dict,
    browser_context_args: dict,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BrowserContext]:
    """The worker's one browser profile on disk, which every test's pages share in turn. V8 keeps compiled
    code only in a profile on disk: Plotly.js starts in 0.1 s of CPU there, against 1.2 s in every fresh
    off-the-record context (what `browser.new_context()` makes, one per test)."""
    ctx = browser_type.launch_persistent_context(
        tmp_path_factory.mktemp("profile"), **browser_type_launch_args, **browser_context_args
    )
    yield ctx
    ctx.close()


@pytest.fixture
def context(profile: BrowserContext, origins: set[str]) -> Iterator[BrowserContext]:
    """The profile, emptied after each test as a new context would be: its pages closed, its cookies,
    permissions and every origin's storage cleared. Only the HTTP cache and the compiled code stay."""
    yield profile
    for page in profile.pages[1:]:  # the first is the blank tab that keeps the browser open
        page.close()
    profile.clear_cookies()
    profile.clear_permissions()
    cdp = profile.new_cdp_session(profile.pages[0])
    for origin in origins:
        cdp.send("Storage.clearDataForOrigin", {"origin": f"http://{origin}", "storageTypes": "all"})
    cdp.detach()


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

    def on_request(request: Request) -> None:
        seen.append(request.url)

    def on_page(page: Page) -> None:
        page.on("websocket", lambda ws: seen.append(ws.url))

    context.on("request", on_request)
    context.on("page", on_page)
    yield seen
    context.remove_listener("request", on_request)  # the context outlives the test (the `profile`)
    context.remove_listener("page", on_page)
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
