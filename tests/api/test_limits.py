"""What an outside fuzzer found, and the limits on queue, frames and storage, on real servers."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, start, tiny_spec, wait_status

TERMINAL = {"done", "cancelled", "failed", "interrupted"}


def test_a_since_past_sqlites_range_is_a_422_not_a_500(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=10)).json()["id"]
        r = c.get(f"/api/experiments/{eid}/frames", params={"since": 50432166648138162176})
        assert r.status_code == 422 and "less than or equal to 9223372036854775807" in r.text
        assert c.get(f"/api/experiments/{eid}/frames", params={"since": 2**63 - 1}).json() == []


def test_every_status_a_route_answers_is_declared_with_one_error_model(server: Server):
    with server.client(None) as c:
        doc = c.get("/openapi.json").json()
    declared = {
        (path, method): set(op["responses"])
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    }
    exp = "/api/experiments/{experiment_id}"
    assert declared[("/api/experiments", "post")] >= {"201", "400", "401", "403", "413", "422", "429", "507"}
    assert declared[(exp + "/control", "post")] >= {"202", "400", "401", "403", "404", "409", "413", "422"}
    assert declared[(exp, "get")] >= {"200", "404", "422"} and declared[(exp, "delete")] >= {
        "204",
        "401",
        "404",
    }
    assert declared[(exp + "/frames", "get")] >= {"200", "404", "422"}
    assert declared[("/api/health", "get")] >= {"200", "503"}
    ref = doc["paths"][exp]["delete"]["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ApiError")


def test_a_pace_sent_with_another_action_is_accepted_and_ignored(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"]
        try:
            wait_status(c, eid, {"running"})
            r = c.post(f"/api/experiments/{eid}/control", json={"action": "pause", "steps_per_second": 5})
            assert r.status_code == 202, r.text
            wait_status(c, eid, {"paused"})
        finally:
            c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_a_method_a_path_lacks_gets_405_with_every_method_it_has(server: Server):
    with server.client() as c:
        r = c.options("/api/experiments/abc")
        assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"
        r = c.put("/api/experiments")
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


def test_the_queue_is_bounded(own_server):
    server = own_server(NORMSCOPE_MAX_RUNNING="1", NORMSCOPE_MAX_QUEUED="2")
    with server.client() as c:
        ids = [c.post("/api/experiments", json=tiny_spec(steps=200_000)).json()["id"] for _ in range(3)]
        before = len(c.get("/api/experiments").json())
        r = c.post("/api/experiments", json=tiny_spec(steps=10))
        assert r.status_code == 429
        assert "1 experiments are training and 2 are queued" in r.json()["detail"]
        assert "NORMSCOPE_MAX_QUEUED" in r.json()["detail"]
        assert len(c.get("/api/experiments").json()) == before  # nothing stored for it
        c.post(f"/api/experiments/{ids[1]}/control", json={"action": "cancel"})
        assert c.post("/api/experiments", json=tiny_spec(steps=10)).status_code == 201  # room again
        for eid in ids:
            c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_a_spec_past_the_frame_budget_is_refused_with_the_every_that_fits(server: Server):
    with server.client() as c:
        r = c.post("/api/experiments", json=tiny_spec(steps=1_000_000, probe={"every": 1}))
    assert r.status_code == 422
    assert "1,000,000 frames; an experiment keeps at most 20,000: set probe.every to 50" in r.text


def test_a_full_store_fails_the_run_keeps_its_frames_and_refuses_launches(own_server):
    """The store's limit (3 MB here) is SQLite's own: past it, writes fail as on a full disk."""
    server = own_server(NORMSCOPE_MAX_DATA_GB="0.003")
    with server.client() as c:
        eid = c.post(
            "/api/experiments", json=tiny_spec(steps=200_000, probe={"every": 10, "bins": 64})
        ).json()["id"]
        c.post(f"/api/experiments/{eid}/control", json={"action": "pace", "steps_per_second": 100_000})
        e = wait_status(c, eid, TERMINAL, timeout=120)
        assert e["status"] == "failed", e
        assert e["error"] == (
            "the store reached its limit of 0.003 GB (NORMSCOPE_MAX_DATA_GB); "
            "the frames stored until then are kept"
        )
        frames = c.get(f"/api/experiments/{eid}/frames", params={"limit": 5000}).json()
        assert len(frames) > 100
        assert [f["prev_step"] for f in frames[1:]] == [f["step"] for f in frames[:-1]]  # an unbroken chain
        assert c.get("/api/health").json()["status"] == "ok"  # the server goes on

        r = c.post("/api/experiments", json=tiny_spec(steps=10))
        assert r.status_code == 507
        assert "NORMSCOPE_MAX_DATA_GB" in r.json()["detail"] and "normscope prune" in r.json()["detail"]
        assert c.delete(f"/api/experiments/{eid}").status_code == 204
        again = c.post("/api/experiments", json=tiny_spec(steps=10))
        assert again.status_code == 201  # deleting made room
        assert wait_status(c, again.json()["id"], TERMINAL)["status"] == "done"
    time.sleep(0.2)
    assert "Traceback" not in server.log.read_text()


def test_a_number_where_the_schema_says_boolean_is_refused(server: Server):
    """The fuzzer's ST201: {"standardize": 0.0} was taken as false though the schema says boolean."""
    with server.client() as c:
        before = len(c.get("/api/experiments").json())
        r = c.post("/api/experiments", json=tiny_spec(variants=[{"label": "a", "standardize": 0.0}]))
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "variants", 0, "standardize"]
        assert len(c.get("/api/experiments").json()) == before


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB filesystem of the test's own: a disk that really fills up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_fails_the_run_and_the_server_goes_on_serving_what_it_stored(small_disk: Path):
    server = start(small_disk)  # the data dir is the small disk; the server's log is beside it
    try:
        with server.client() as c:
            spec = tiny_spec(steps=200_000, probe={"every": 10, "bins": 64})
            eid = c.post("/api/experiments", json=spec).json()["id"]
            c.post(f"/api/experiments/{eid}/control", json={"action": "pace", "steps_per_second": 100_000})
            e = wait_status(c, eid, TERMINAL, timeout=120)
            assert (
                e["status"] == "failed" and "is full; the frames stored until then are kept" in e["error"]
            ), e
            assert str(small_disk) in e["error"]
            frames = c.get(f"/api/experiments/{eid}/frames", params={"limit": 5000}).json()
            assert len(frames) > 20
            assert [f["prev_step"] for f in frames[1:]] == [f["step"] for f in frames[:-1]]
            assert c.get("/api/health").json()["status"] == "ok"
            r = c.post("/api/experiments", json=tiny_spec(steps=10))
            assert r.status_code == 507 and f"the disk holding {small_disk}" in r.json()["detail"], r.text
            assert len(c.get("/api/experiments").json()) == 1
            r = c.delete(f"/api/experiments/{eid}")  # SQLite needs room even to delete
            assert r.status_code == 507 and "free space on that disk first" in r.json()["detail"]
            assert c.get(f"/api/experiments/{eid}").json()["status"] == "failed"  # nothing changed
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


def test_a_boolean_where_the_schema_says_number_is_refused(server: Server):
    """The fuzzer's second ST201: {"action": "pace", "steps_per_second": true} was taken as 1 step/s."""
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=10)).json()["id"]
        r = c.post(f"/api/experiments/{eid}/control", json={"action": "pace", "steps_per_second": True})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "steps_per_second"]
        r = c.post("/api/experiments", json=tiny_spec(batch_size=True))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "batch_size"]
