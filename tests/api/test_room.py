"""The room over REST and /ws/room: the presenter moves every follower with one PUT, a follower who joins
later starts on what is shown, followers cannot move it; it survives a restart, not a deleted experiment."""

from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.api.conftest import Server, start, tiny_spec
from tests.api.test_hall import next_of, none_of
from tests.api.test_lectures import tiny_course

EMPTY = {"experiment": None, "lecture": None, "position": None}


def test_the_room_moves_every_follower_and_keeps_its_place_in_the_lecture(tmp_path: Path):
    tiny_course(tmp_path / "data")
    s = start(tmp_path / "data")
    try:
        url = f"{s.ws_url}/ws/room"
        with s.client() as c, connect(url) as a, connect(url) as b:
            for ws in (a, b):
                msg = next_of(ws, "room")
                assert list(msg) == ["type", "experiment", "lecture", "position"] and msg == {
                    "type": "room",
                    **EMPTY,
                }
            assert c.get("/api/room").json() == EMPTY
            second = c.post("/api/lessons/tiny-2/launch", json={"lecture": "tiny"}).json()["id"]
            r = c.put("/api/room", json={"experiment_id": second})
            shown = {"experiment": second, "lecture": "tiny", "position": 2}
            assert r.status_code == 200 and r.json() == shown
            for ws in (a, b):
                assert next_of(ws, "room") == {"type": "room", **shown}
            assert c.get("/api/room").json() == shown
            # a follower that sends a room message is refused; nobody is moved
            a.send('{"type": "room", "experiment": "x"}')
            assert "PUT /api/room" in next_of(a, "error")["detail"]
            none_of(b, "room", 0.3)
            plain = c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
            c.put("/api/room", json={"experiment_id": plain})
            assert next_of(b, "room") == {
                "type": "room",
                "experiment": plain,
                "lecture": None,
                "position": None,
            }
            c.put("/api/room", json={"experiment_id": second})
        with connect(url) as late:
            assert next_of(late, "room") == {"type": "room", **shown}
    finally:
        s.stop()
    s = start(tmp_path / "data")
    try:
        with s.client() as c:
            assert c.get("/api/room").json() == shown, "the room survives a restart"
            assert c.delete(f"/api/experiments/{second}").status_code == 204
            assert c.get("/api/room").json() == EMPTY, "a deleted experiment is no longer shown"
    finally:
        s.stop()


def test_only_the_presenter_moves_the_room_and_only_to_an_experiment(server: Server):
    eid = server.client().post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
    before = server.client(token=None).get("/api/room").json()
    with server.client(token=None) as anyone:
        assert anyone.put("/api/room", json={"experiment_id": eid}).status_code == 401
    with server.client(token="wrong") as wrong:
        assert wrong.put("/api/room", json={"experiment_id": eid}).status_code == 403
    with server.client() as c:
        r = c.put("/api/room", json={"experiment_id": "nope"})
        assert r.status_code == 404 and r.json()["detail"] == "no experiment 'nope'"
        for body, field in [
            ({}, "experiment_id"),
            ({"experiment_id": 3}, "experiment_id"),
            ({"experiment_id": eid, "x": 1}, "x"),
        ]:
            r = c.put("/api/room", json=body)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, r.text
        assert c.get("/api/room").json() == before, "a refused PUT changed nothing"


def test_room_followers_are_viewers_the_limit_and_the_origin_check_hold_them_too(own_server):
    s = own_server(NORMSCOPE_MAX_CLIENTS="2")
    eid = s.client().post("/api/experiments", json=tiny_spec(steps=10)).json()["id"]
    room = f"{s.ws_url}/ws/room"
    with pytest.raises(InvalidStatus):
        connect(room, origin="http://evil.example")
    with connect(f"{s.ws_url}/ws/experiments/{eid}") as viewer, connect(room, origin=s.url) as follower:
        next_of(viewer, "hello")
        next_of(follower, "room")
        with pytest.raises(InvalidStatus), connect(room):
            pass  # a third, past NORMSCOPE_MAX_CLIENTS, whichever socket it asks for
