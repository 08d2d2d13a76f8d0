"""The lecture hall over REST and the websocket: the presenter's view and marks reach every viewer, a late
joiner starts on them, viewers cannot send them, and they are kept with the experiment."""

import json
import re
import time

import psutil
import pytest
from websockets.sync.client import ClientConnection, connect

from normscope.api.share import lan_addresses
from tests.api.conftest import Server, tiny_spec, wait_status

VIEW = {"layer": "hidden2", "tap": "act", "chart": "bands", "lecture": True, "replay_step": None}


def next_of(ws: ClientConnection, kind: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if msg["type"] == kind:
            return msg


def none_of(ws: ClientConnection, kind: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            return
        assert msg["type"] != kind, msg


@pytest.fixture
def live(server: Server):
    """A long experiment, paused, so the test owns its pace; cancelled at the end."""
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
        wait_status(c, eid, {"running"})
        c.post(f"/api/experiments/{eid}/control", json={"action": "pause"})
        wait_status(c, eid, {"paused"})
        yield eid
        c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_a_view_reaches_every_viewer_and_a_late_joiner_starts_on_it(server: Server, live: str):
    url = f"{server.ws_url}/ws/experiments/{live}"
    with connect(url) as a, connect(url) as b, server.client() as c:
        assert next_of(a, "hello")["view"] is None and next_of(b, "hello")["view"] is None
        r = c.put(f"/api/experiments/{live}/view", json=VIEW)
        assert r.status_code == 200 and r.json() == VIEW
        for ws in (a, b):
            msg = next_of(ws, "view")
            assert next(iter(msg)) == "type" and {k: msg[k] for k in VIEW} == VIEW
        assert c.get(f"/api/experiments/{live}/view").json() == VIEW
    with connect(url) as late:
        assert next_of(late, "hello")["view"] == VIEW


def test_a_view_needs_the_token_and_a_good_body(server: Server, live: str):
    path = f"/api/experiments/{live}/view"
    with server.client(token=None) as anon, server.client(token="wrong") as wrong, server.client() as c:
        assert anon.put(path, json=VIEW).status_code == 401
        assert wrong.put(path, json=VIEW).status_code == 403
        assert c.put(path, json={**VIEW, "tap": "everything"}).status_code == 422
        assert c.put(path, json={**VIEW, "chart": "<script>"}).status_code == 422
        assert c.put(path, json={**VIEW, "colour": "red"}).status_code == 422
        assert c.put(path, json={**VIEW, "lecture": 0}).status_code == 422  # strict: 0 is not false
        assert c.put("/api/experiments/nope/view", json=VIEW).status_code == 404
        assert c.get(path).json() is None  # nothing refused was kept


def test_viewers_cannot_send_a_view_or_a_mark_over_the_socket(server: Server, live: str):
    url = f"{server.ws_url}/ws/experiments/{live}"
    with connect(url) as forger, connect(url) as other:
        next_of(forger, "hello"), next_of(other, "hello")
        for kind in ("view", "mark"):
            forger.send(json.dumps({"type": kind, **VIEW, "step": 0, "note": "forged"}))
            assert "only the presenter" in next_of(forger, "error")["detail"]
        forger.send('{"type": "ping"}')  # the connection stays
        assert next_of(forger, "pong")
        none_of(other, "view", 1.0)
        none_of(other, "mark", 0.1)
    with server.client() as c:
        assert c.get(f"/api/experiments/{live}/view").json() is None
        assert c.get(f"/api/experiments/{live}/marks").json() == []


def test_marks_are_broadcast_listed_bounded_and_taken_back(server: Server, live: str):
    url = f"{server.ws_url}/ws/experiments/{live}"
    path = f"/api/experiments/{live}/marks"
    with server.client() as c, connect(url) as ws:
        step = next_of(ws, "hello")["experiment"]["step"]
        assert step > 0
        r = c.post(path, json={"step": step, "note": "the plain band starts to drift here"})
        assert r.status_code == 201
        mark = r.json()
        msg = next_of(ws, "mark")
        assert next(iter(msg)) == "type" and {k: msg[k] for k in ("id", "step", "note")} == {
            "id": mark["id"],
            "step": step,
            "note": "the plain band starts to drift here",
        }
        assert c.post(path, json={"step": step + 10**6, "note": "future"}).status_code == 409
        assert c.post(path, json={"step": 0, "note": "x" * 141}).status_code == 422
        with server.client(token=None) as anon:
            assert anon.post(path, json={"step": 0}).status_code == 401
            assert anon.delete(f"{path}/{mark['id']}").status_code == 401
        c.post(path, json={"step": 0})  # no note: a plain flag
        assert [(m["step"], m["note"]) for m in c.get(path).json()] == [
            (0, ""),
            (step, "the plain band starts to drift here"),
        ]
        with connect(url) as late:
            assert [m["id"] for m in next_of(late, "hello")["marks"]] == [m["id"] for m in c.get(path).json()]
        assert c.delete(f"{path}/{mark['id']}").status_code == 204
        assert next_of(ws, "unmark") == {"type": "unmark", "id": mark["id"]}
        assert c.delete(f"{path}/{mark['id']}").status_code == 404
        assert c.delete(f"{path}/{2**64}").status_code == 422  # past SQLite's integers: refused, not a 500
        assert [m["step"] for m in c.get(path).json()] == [0]


def test_an_experiment_holds_at_most_200_marks(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
        wait_status(c, eid, {"done"})
        codes = [c.post(f"/api/experiments/{eid}/marks", json={"step": 10}).status_code for _ in range(201)]
        assert codes == [201] * 200 + [409]
        assert len(c.get(f"/api/experiments/{eid}/marks").json()) == 200


def test_view_and_marks_survive_a_restart_and_go_with_a_deleted_experiment(own_server):
    s = own_server()
    with s.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
        wait_status(c, eid, {"done"})
        c.put(f"/api/experiments/{eid}/view", json={**VIEW, "replay_step": 10})
        c.post(f"/api/experiments/{eid}/marks", json={"step": 20, "note": "end"})
    s.stop()
    s = own_server()
    with s.client() as c, connect(f"{s.ws_url}/ws/experiments/{eid}") as ws:
        hello = next_of(ws, "hello")
        assert hello["view"]["replay_step"] == 10 and [m["note"] for m in hello["marks"]] == ["end"]
        assert c.delete(f"/api/experiments/{eid}").status_code == 204
        assert c.get(f"/api/experiments/{eid}/marks").status_code == 404
        assert c.get(f"/api/experiments/{eid}/view").status_code == 404


def test_share_names_the_room_s_addresses_when_bound_to_every_address(own_server):
    s = own_server(NORMSCOPE_HOST="0.0.0.0", NORMSCOPE_DEVICE="cpu", NORMSCOPE_WARM_SPARE="false")
    expected = [f"http://{a}:{s.port}" for a in lan_addresses("0.0.0.0")]
    ours = {a.address for addrs in psutil.net_if_addrs().values() for a in addrs}
    assert all(u.split("//")[1].rsplit(":", 1)[0] in ours for u in expected)
    with s.client() as c:
        share = c.get("/api/share").json()
    assert share["urls"] == expected
    assert (share["hint"] is None) == bool(expected)
    printed = re.findall(r"viewers:\s+(\S+)/", s.log.read_text())
    assert printed == (expected or [f"http://127.0.0.1:{s.port}"])


def test_share_on_loopback_says_the_room_cannot_reach_it(server: Server):
    with server.client(token=None) as c:
        share = c.get("/api/share").json()
    assert share["urls"] == [] and "--host 0.0.0.0" in share["hint"]
    assert "this machine only" in server.log.read_text()


def test_qr_codes_are_svg_and_bounded(server: Server):
    with server.client(token=None) as c:
        r = c.get("/api/qr", params={"text": "http://192.0.2.1:8000/experiments/abc?tap=act"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
        assert r.text.startswith("<svg")
        assert c.get("/api/qr", params={"text": "x" * 1001}).status_code == 422
        assert c.get("/api/qr").status_code == 422


def test_marks_travel_in_a_json_lines_file(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=30)).json()["id"]
        wait_status(c, eid, {"done"})
        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            hello = next_of(ws, "hello")
        frames = c.get(f"/api/experiments/{eid}/frames").json()
        head = [
            json.dumps({"type": "experiment", "spec": hello["experiment"]["spec"]}),
            json.dumps({"type": "layers", "layers": hello["layers"]}),
            *map(json.dumps, frames),
        ]
        marks = [{"type": "mark", "step": 10, "note": "first"}, {"type": "mark", "step": 30, "note": "last"}]
        body = "\n".join([*head, *map(json.dumps, marks)])
        r = c.post("/api/import", content=body, headers={"Content-Type": "text/plain"})
        assert r.status_code == 201, r.text
        got = c.get(f"/api/experiments/{r.json()['id']}/marks").json()
        assert [(m["step"], m["note"]) for m in got] == [(10, "first"), (30, "last")]
        late = "\n".join([*head, json.dumps({"type": "mark", "step": 31, "note": "past the end"})])
        r = c.post("/api/import", content=late, headers={"Content-Type": "text/plain"})
        assert r.status_code == 400 and "past the last frame" in r.json()["detail"]
