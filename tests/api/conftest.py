"""Real server processes on loopback: `python -m normscope serve` on a free port with its own data dir."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

TOKEN = "test-presenter-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    data_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_server(data_dir: Path, **env: str) -> Server:
    port = free_port()
    log = data_dir.parent / f"server-{port}.log"
    full_env = {
        **os.environ,
        "NORMSCOPE_DATA_DIR": str(data_dir),
        "NORMSCOPE_TOKEN": TOKEN,
        "NORMSCOPE_TORCH_THREADS": "1",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "normscope", "serve", "--port", str(port)],
        env=full_env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(proc, port, data_dir, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/api/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server not up in 90 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("shared") / "data", NORMSCOPE_MAX_RUNNING="3")
    yield s
    s.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """A server of the test's own, for tests that kill or restart it."""
    started: list[Server] = []

    def start(**env: str) -> Server:
        started.append(start_server(tmp_path / "data", **env))
        return started[-1]

    yield start
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
