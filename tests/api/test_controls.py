import json
import time
from collections.abc import Callable

from websockets.sync.client import ClientConnection, connect

from tests.api.conftest import Server, tiny_spec, wait_status

EVERY = 10


def _recv(ws: ClientConnection, timeout: float) -> dict | None:
    try:
        return json.loads(ws.recv(timeout=timeout))
    except TimeoutError:
        return None


def _until(ws: ClientConnection, pred, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        msg = _recv(ws, left)
        if msg is not None and pred(msg):
            return msg
    raise AssertionError("expected message did not come")


def _frames_during(ws: ClientConnection, seconds: float) -> list[dict]:
    out, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        msg = _recv(ws, left)
        if msg is not None and msg["type"] == "frame":
            out.append(msg)
    return out


def test_pause_step_resume_pace_cancel(server: Server):
    with server.client() as c:
        eid = c.post(
            "/api/experiments", json=tiny_spec(steps=200_000, probe={"every": EVERY, "bins": 16})
        ).json()["id"]

        def control(**body: object) -> None:
            r = c.post(f"/api/experiments/{eid}/control", json=body)
            assert r.status_code == 202, r.text

        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            _until(ws, lambda m: m["type"] == "frame")
            control(action="pause")
            paused = _until(ws, lambda m: m["type"] == "status" and m["status"] == "paused")
            at = paused["step"]
            assert c.get(f"/api/experiments/{eid}").json()["status"] == "paused"
            late = [f for f in _frames_during(ws, 1.0) if f["step"] > at]
            assert late == [], "frames kept coming while paused"

            control(action="step")
            stepped = _frames_during(ws, 1.5)
            assert [f["step"] for f in stepped] == [at - at % EVERY + EVERY]  # exactly one sample
            assert c.get(f"/api/experiments/{eid}").json()["status"] == "paused"

            control(action="pace", steps_per_second=100)
            control(action="resume")
            _until(ws, lambda m: m["type"] == "status" and m["status"] == "running")
            _until(ws, lambda m: m["type"] == "frame")
            frames = _frames_during(ws, 3.0)
            # the trainer's own clock, so a busy test machine delaying delivery does not count
            rate = (frames[-1]["step"] - frames[0]["step"]) / (frames[-1]["sent_at"] - frames[0]["sent_at"])
            assert 60 <= rate <= 120, rate  # paced to 100 steps/s

            control(action="cancel")
            end = _until(ws, lambda m: m["type"] == "status" and m["status"] == "cancelled")
            assert all(r["status"] == "cancelled" for r in end["runs"])
        assert c.get(f"/api/experiments/{eid}").json()["status"] == "cancelled"


def test_queued_experiments_wait_for_a_slot_and_can_be_cancelled(own_server):
    server = own_server(NORMSCOPE_MAX_RUNNING="1")
    with server.client() as c:
        long = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
        queued = c.post("/api/experiments", json=tiny_spec(steps=10)).json()
        assert queued["status"] == "queued"
        r = c.post(f"/api/experiments/{queued['id']}/control", json={"action": "pause"})
        assert r.status_code == 409 and "queued" in r.json()["detail"]
        assert (
            c.post(f"/api/experiments/{queued['id']}/control", json={"action": "cancel"}).json()["status"]
            == "cancelled"
        )
        third = c.post("/api/experiments", json=tiny_spec(steps=10)).json()["id"]
        time.sleep(0.5)
        assert c.get(f"/api/experiments/{third}").json()["status"] == "queued"
        c.post(f"/api/experiments/{long}/control", json={"action": "cancel"})
        deadline = time.monotonic() + 30
        while c.get(f"/api/experiments/{third}").json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_set_lr_reaches_the_run_and_its_frames(server: Server):
    with server.client() as c:
        spec = tiny_spec(steps=200_000, pace=200, probe={"every": EVERY, "bins": 16})
        eid = c.post("/api/experiments", json=spec).json()["id"]
        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            _until(ws, lambda m: m["type"] == "frame")
            r = c.post(
                f"/api/experiments/{eid}/control", json={"action": "set_lr", "variant": 1, "lr": 0.025}
            )
            assert r.status_code == 202, r.text
            changed = _until(ws, lambda m: m["type"] == "frame" and m["runs"][1]["lr_changes"])
        assert changed["runs"][1]["lr"] == 0.025 and changed["runs"][0]["lr"] == 0.1
        assert changed["runs"][1]["lr_changes"][0]["lr"] == 0.025
        assert changed["prev_step"] < changed["runs"][1]["lr_changes"][0]["step"] <= changed["step"]
        refused = c.post(
            f"/api/experiments/{eid}/control", json={"action": "set_lr", "variant": 2, "lr": 0.1}
        )
        assert refused.status_code == 409 and "no variant 2: the experiment has 2 (0 to 1)" in refused.text
        missing = c.post(f"/api/experiments/{eid}/control", json={"action": "set_lr", "variant": 0})
        assert missing.status_code == 422 and "set_lr needs an lr" in missing.text
        c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_set_lr_is_refused_for_a_watched_loop(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(external={})).json()["id"]
        r = c.post(f"/api/experiments/{eid}/control", json={"action": "set_lr", "lr": 0.1})
        assert r.status_code == 409 and "watched loop" in r.text
        c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_a_late_joiners_thinned_history_keeps_every_frame_with_a_learning_rate_change(
    own_server: Callable[..., Server],
):
    server = own_server(NORMSCOPE_HISTORY_LIMIT="3")
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=300, pace=100)).json()["id"]
        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            _until(ws, lambda m: m["type"] == "frame" and m["step"] >= 50)
            c.post(f"/api/experiments/{eid}/control", json={"action": "set_lr", "variant": 0, "lr": 0.02})
            changed = _until(ws, lambda m: m["type"] == "frame" and m["runs"][0]["lr_changes"])
        wait_status(c, eid, {"done"})
    with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        expected = sorted({10, 150, 300, changed["step"]})  # 3 evenly spaced, and the change
        history = [json.loads(ws.recv(timeout=10)) for _ in expected]
    assert [f["step"] for f in history] == expected
    kept = next(f for f in history if f["step"] == changed["step"])
    assert kept["runs"][0]["lr_changes"] == changed["runs"][0]["lr_changes"]
