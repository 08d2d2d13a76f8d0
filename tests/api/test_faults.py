import json
import os
import signal
import time
from pathlib import Path

from websockets.sync.client import connect

from tests.api.conftest import Server, tiny_spec, wait_status


def _started(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])  # starttime


def _training_worker(server: Server) -> int:
    """The oldest worker: it was the warm spare when the experiment launched; its replacement came later."""
    return min(server.workers(), key=_started)


def _long_run_with_frames(server: Server, frames: int) -> str:
    """A run that would train for ever, once it has stored this many frames."""
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
        deadline = time.monotonic() + 30
        while len(c.get(f"/api/experiments/{eid}/frames").json()) < frames:
            assert time.monotonic() < deadline, f"fewer than {frames} frames after 30 s"
            time.sleep(0.1)
    return eid


# the failure comes from the worker's pipe closing, at once: its 2 s bound holds beside another test
def test_a_killed_worker_fails_its_experiment_fast_and_the_server_goes_on(own_server):
    server = own_server()
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            while json.loads(ws.recv(timeout=30))["type"] != "frame":
                pass
            pid = _training_worker(server)
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            while True:
                msg = json.loads(ws.recv(timeout=5))
                if msg["type"] == "status" and msg["status"] == "failed":
                    break
            assert time.monotonic() - killed_at < 2.0
            assert "SIGKILL" in msg["error"]
        assert c.get("/api/health").json()["status"] == "ok"
        again = c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
        assert wait_status(c, again, {"done", "failed"})["status"] == "done"


def test_a_worker_that_raises_fails_with_a_reason(own_server, tmp_path):
    server = own_server()
    with server.client() as c:
        spec = tiny_spec(dataset={"name": "idx", "path": str(tmp_path / "no-such-folder")})
        eid = c.post("/api/experiments", json=spec).json()["id"]
        e = wait_status(c, eid, {"failed"}, timeout=30)
        assert "not a folder" in e["error"]
        assert c.get("/api/health").status_code == 200


def test_divergence_marks_one_run_and_the_other_finishes(server: Server):
    spec = tiny_spec(model={"hidden": [64, 64], "activation": "relu"}, optimizer={"lr": 5.0}, steps=300)
    with server.client() as c:
        eid = c.post("/api/experiments", json=spec).json()["id"]
        e = wait_status(c, eid, {"done", "failed"})
    assert e["status"] == "done"
    assert [r["status"] for r in e["runs"]] == ["diverged", "done"]


def test_server_killed_mid_run_restarts_with_the_experiment_interrupted_and_frames_intact(own_server):
    server = own_server()
    eid = _long_run_with_frames(server, 5)
    server.stop(signal.SIGKILL)
    restarted = own_server()
    assert restarted.data_dir == server.data_dir
    with restarted.client() as c:
        e = c.get(f"/api/experiments/{eid}").json()
        assert e["status"] == "interrupted" and e["error"]
        assert all(r["status"] == "interrupted" for r in e["runs"])
        frames = c.get(f"/api/experiments/{eid}/frames").json()
        assert len(frames) >= 5
        steps = [f["step"] for f in frames]
        assert steps == list(range(10, 10 * len(frames) + 1, 10))
        assert c.post("/api/experiments", json=tiny_spec(steps=10)).status_code == 201


def test_workers_exit_when_their_server_dies(own_server):
    server = own_server()
    _long_run_with_frames(server, 1)
    workers = server.descendants()
    assert server.workers()
    server.stop(signal.SIGKILL)
    # a spare still warming up (~10 s on a busy CI box) notices when it reports
    deadline = time.monotonic() + 45
    while any(Path(f"/proc/{p}").exists() and "Z" not in _state(p) for p in workers):
        assert time.monotonic() < deadline, "orphaned workers kept running"
        time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "Z"


def test_sigterm_stops_the_server_gracefully_and_keeps_what_it_trained(own_server):
    server = own_server()
    eid = _long_run_with_frames(server, 3)
    # the training workers, not multiprocessing's resource tracker, which exits on its own after the server
    workers = server.workers()
    assert workers
    t0 = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down, then re-raises the signal it caught so the exit status still says SIGTERM
    assert server.proc.wait(20) in (0, -signal.SIGTERM)
    assert time.monotonic() - t0 < 10
    assert not [p for p in workers if Path(f"/proc/{p}").exists() and _state(p) != "Z"]
    log = server.log.read_text()
    assert "Traceback" not in log and "Application shutdown complete" in log
    restarted = own_server()
    with restarted.client() as c:
        e = c.get(f"/api/experiments/{eid}").json()
        assert e["status"] == "interrupted" and e["error"] == "the server stopped while it ran"
        assert len(c.get(f"/api/experiments/{eid}/frames").json()) >= 3
