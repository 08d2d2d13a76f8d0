"""Real server processes on loopback: `python -m normscope serve` on a free port with its own data dir."""

import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from normscope.api.launcher import ServerProcess, children_of, start_server

TOKEN = "test-presenter-token"


@dataclass
class Server(ServerProcess):
    def workers(self) -> list[int]:
        """Training workers (spare included): the children of multiprocessing's fork server, which is the
        server's child beside the resource tracker."""
        return [pid for child in self.children() if is_fork_server(child) for pid in children_of(child)]

    def descendants(self) -> list[int]:
        """Every process the server started: fork server, resource tracker, workers."""
        return [pid for child in self.children() for pid in [child, *children_of(child)]]

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def is_fork_server(pid: int) -> bool:
    try:
        return b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def start(data_dir: Path, **env: str) -> Server:
    return Server(**vars(start_server(data_dir, TOKEN, NORMSCOPE_TORCH_THREADS="1", **env)))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start(tmp_path_factory.mktemp("shared") / "data", NORMSCOPE_MAX_RUNNING="3")
    yield s
    s.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A server of the test's own, for tests that kill or restart it."""
    started: list[Server] = []

    def launch(**env: str) -> Server:
        started.append(start(tmp_path / "data", **env))
        return started[-1]

    yield launch
    for s in started:
        s.stop(signal.SIGKILL)


def tiny_spec(**over: object) -> dict:
    spec: dict = {
        "name": "tiny",
        "model": {"hidden": [16, 12], "activation": "tanh"},
        "optimizer": {"lr": 0.1},
        "batch_size": 32,
        "steps": 60,
        "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
        "probe": {"every": 10, "bins": 16, "eval_every": 2},
    }
    spec.update(over)
    return spec


def wait_status(client: httpx.Client, eid: str, statuses: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        e = client.get(f"/api/experiments/{eid}").json()
        if e["status"] in statuses:
            return e
        time.sleep(0.1)
    raise AssertionError(f"experiment {eid} still {e['status']} after {timeout} s, wanted {statuses}")
