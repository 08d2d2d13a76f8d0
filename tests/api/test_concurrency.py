"""Launches, controls, deletes and viewers that meet at the same moment, against a real server process."""

import json
import random
import threading
import time
from collections import Counter

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.api.conftest import Server, tiny_spec, wait_status

TERMINAL = {"done", "cancelled", "failed", "interrupted"}
ACTIONS = ["pause", "resume", "step", "cancel", "pace"]
STORM_S = 15
THREADS = 12
MAX_LIVE = 150  # keeps every experiment among the newest 500 that GET /api/experiments lists


def _log_errors(server: Server) -> list[str]:
    return [
        line
        for line in server.log.read_text().splitlines()
        if "Traceback" in line or " ERROR " in line or "Exception" in line
    ]


def _storm(server: Server, ids: list[str], codes: Counter, stop: threading.Event, seed: int) -> None:
    """Random verbs on the experiments still there: launches and deletes meet in the scheduler."""
    rng = random.Random(seed)
    with server.client() as c:
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.4 and len(ids) < MAX_LIVE:
                r = c.post("/api/experiments", json=tiny_spec(steps=rng.choice([5, 20, 100, 2000])))
                if r.status_code == 201:
                    ids.append(r.json()["id"])
            elif not ids:
                continue
            elif roll < 0.75:
                action = rng.choice(ACTIONS)
                body: dict = {"action": action}
                if action == "pace":
                    body["steps_per_second"] = rng.choice([50, 500])
                r = c.post(f"/api/experiments/{rng.choice(ids)}/control", json=body)
            else:
                eid = rng.choice(ids)
                r = c.delete(f"/api/experiments/{eid}")
                if r.status_code == 204:
                    ids.remove(eid)
            codes[r.status_code] += 1


def _watch_running(server: Server, limit: int, stop: threading.Event, seen: list[int]) -> None:
    with server.client(None) as c:
        while not stop.is_set():
            listed = c.get("/api/experiments").json()
            seen.append(sum(e["status"] in ("running", "paused") for e in listed))
            time.sleep(0.05)


def test_a_storm_of_launches_controls_and_deletes_leaves_a_consistent_server(own_server):
    server = own_server(NORMSCOPE_MAX_RUNNING="1")
    ids: list[str] = []
    codes: Counter = Counter()
    running_seen: list[int] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_storm, args=(server, ids, codes, stop, seed)) for seed in range(THREADS)
    ]
    threads.append(threading.Thread(target=_watch_running, args=(server, 1, stop, running_seen)))
    for t in threads:
        t.start()
    time.sleep(STORM_S)
    stop.set()
    for t in threads:
        t.join(30)
    print(f"storm: status codes {dict(codes)}, {len(ids)} left, polls {len(running_seen)}")
    assert not [code for code in codes if code >= 500], codes
    assert codes[201] > 100 and codes[202] > 0 and codes[204] > 50  # every verb did happen, often
    assert max(running_seen) <= 1, "more experiments ran at once than NORMSCOPE_MAX_RUNNING"

    with server.client() as c:  # what is left is cancelled, and everything reaches a terminal status
        for e in c.get("/api/experiments").json():
            if e["status"] not in TERMINAL:
                c.post(f"/api/experiments/{e['id']}/control", json={"action": "cancel"})
        for e in c.get("/api/experiments").json():
            wait_status(c, e["id"], TERMINAL, timeout=60)

        deadline = time.monotonic() + 90  # the wedge left nothing able to start: now a launch starts at once
        while not c.get("/api/health").json()["warm"] or len(server.workers()) > 1:
            assert time.monotonic() < deadline, "no warm spare, or workers still there, after the storm"
            time.sleep(0.1)
        t0 = time.monotonic()
        eid = c.post("/api/experiments", json=tiny_spec(steps=100_000)).json()["id"]
        while c.get(f"/api/experiments/{eid}").json()["status"] == "queued":
            assert time.monotonic() - t0 < 1.0, "a launch after the storm did not start within a second"
            time.sleep(0.02)
        c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})
        wait_status(c, eid, TERMINAL)
    assert _log_errors(server) == []


def _messages(ws, until, timeout: float) -> list[dict]:
    out, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        out.append(json.loads(ws.recv(timeout=deadline - time.monotonic())))
        if until(out[-1]):
            return out
    raise AssertionError(f"no such message in {timeout} s: {out[-3:]}")


def _ended(message: dict) -> bool:
    return message["type"] == "status" and message["status"] != "running"


def test_deleting_a_running_experiment_tells_its_viewers_and_closes_their_sockets(own_server):
    server = own_server(NORMSCOPE_MAX_RUNNING="1")
    with server.client() as c:
        running = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
        queued = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
        with (
            connect(f"{server.ws_url}/ws/experiments/{running}") as live,
            connect(f"{server.ws_url}/ws/experiments/{queued}") as waiting,
        ):
            _messages(live, lambda m: m["type"] == "frame", timeout=60)
            assert json.loads(waiting.recv(timeout=10))["experiment"]["status"] == "queued"
            for ws, eid in ((live, running), (waiting, queued)):
                t0 = time.monotonic()
                assert c.delete(f"/api/experiments/{eid}").status_code == 204
                # a running status already on its way may come first, as frames may; the next is the final one
                final = _messages(ws, _ended, timeout=1.0)[-1]
                assert time.monotonic() - t0 < 1.0
                assert final["status"] == "cancelled" and final["error"] == "deleted by the presenter"
                assert all(r["status"] == "cancelled" for r in final["runs"])
                try:
                    while True:  # frames already on their way may still come; then the close
                        ws.recv(timeout=5)
                except ConnectionClosed as closed:
                    assert ws.close_code == 4410 and ws.close_reason == "experiment deleted", closed
                assert c.get(f"/api/experiments/{eid}").status_code == 404
        assert (
            wait_status(c, c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"], TERMINAL)[
                "status"
            ]
            == "done"
        )  # the freed slot is used
    time.sleep(0.5)  # frames the killed worker had sent are dropped, not logged as failures
    assert _log_errors(server) == []


def test_viewers_connecting_at_the_same_moment_cannot_pass_the_limit(own_server):
    import asyncio

    import websockets

    server = own_server(NORMSCOPE_MAX_CLIENTS="5")
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=10)).json()["id"]

    async def one() -> websockets.ClientConnection | None:
        try:
            ws = await websockets.connect(f"{server.ws_url}/ws/experiments/{eid}")
        except websockets.InvalidStatus:
            return None
        return ws

    async def main() -> tuple[int, int]:
        sockets = await asyncio.gather(*[one() for _ in range(40)])
        accepted = [ws for ws in sockets if ws is not None]
        viewers = httpx.get(f"{server.url}/api/health").json()["viewers"]
        for ws in accepted:
            await ws.close()
        return len(accepted), viewers

    accepted, viewers = asyncio.run(main())
    assert accepted == 5 and viewers == 5
