"""Recorded lessons: `normscope record` trains a tiny own lesson on the CPU; a real server plays it as an
experiment like any other, with no worker and no torch, and refuses recordings that are not to be trusted."""

import gzip
import json
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.api.conftest import Server, wait_status
from tests.api.test_lessons import marks_as_dropped
from tests.api.test_ws import _ended, messages_until
from tests.unit.test_cli import env

LESSON = """# a tiny lesson, recorded by the test
title = "Tiny"
summary = "Watch the band."

[view]
layer = "hidden2"

[spec]
name = "tiny"
steps = 100
batch_size = 32
model = { hidden = [16, 12], activation = "tanh" }
variants = [{ label = "plain" }, { label = "BN", norm = "batch" }]
probe = { every = 10, bins = 16, eval_every = 2 }
"""
RECORDING = "tiny.recording.jsonl.gz"


def normscope(*args: str, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "normscope", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env(NORMSCOPE_TORCH_THREADS="1", NORMSCOPE_DATA_DIR=str(data)),
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lessons folder after `normscope record tiny --device cpu`."""
    data = tmp_path_factory.mktemp("recorded") / "data"
    (data / "lessons").mkdir(parents=True)
    (data / "lessons" / "tiny.toml").write_text(LESSON)
    r = normscope("record", "tiny", "--device", "cpu", "--quiet", data=data)
    assert r.returncode == 0, r.stderr
    return data / "lessons"


def lessons_into(tmp_path: Path, recorded: Path, pace: float | None = None) -> Path:
    """The recorded folder copied as an own_server's lessons (the copy a lecturer carries to the hall)."""
    own = tmp_path / "data" / "lessons"
    shutil.copytree(recorded, own)
    if pace is not None:
        text = (own / "tiny.toml").read_text().replace("steps = 100", f"steps = 100\npace = {pace}", 1)
        (own / "tiny.toml").write_text(text)
    return own


def frames_of(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [d for d in map(json.loads, f) if d["type"] == "frame"]


def but_timing(frame: dict) -> dict:
    return {k: v for k, v in frame.items() if k not in ("sent_at", "elapsed")}


def torch_loaded(server: Server) -> bool:
    return "libtorch" in Path(f"/proc/{server.proc.pid}/maps").read_text()


def test_record_keeps_the_frames_beside_the_lesson_and_says_how(recorded: Path):
    text = (recorded / "tiny.toml").read_text()
    assert text.startswith(LESSON.rstrip()), "the author's file, comments and all, is kept"
    recording = tomllib.loads(text)["recording"]
    assert recording["file"] == RECORDING and recording["device"] == "cpu" and recording["steps"] == 100
    assert recording["torch"] and recording["wall_s"] > 0
    assert [f["step"] for f in frames_of(recorded / RECORDING)] == list(range(10, 101, 10))
    assert sorted(p.name for p in recorded.iterdir()) == [RECORDING, "tiny.toml"]


def test_a_recording_plays_as_an_experiment_without_torch(
    tmp_path: Path, recorded: Path, own_server: Callable[..., Server]
):
    lessons_into(tmp_path, recorded, pace=50)
    server = own_server(NORMSCOPE_DEVICE="cpu")
    with server.client() as c:
        r = c.post("/api/lessons/tiny/launch", json={})  # no GPU here: a recorded lesson plays by default
        assert r.status_code == 201, r.text
        played = r.json()
        eid = played["id"]
        assert played["spec"]["lesson"] == "tiny"
        assert played["source"] == {
            "lesson": "tiny",
            "recording": c.get("/api/lessons/tiny").json()["recording"],
        }
        time.sleep(0.5)
        assert c.get(f"/api/experiments/{eid}").json()["status"] == "running"
        assert not torch_loaded(server), "the server loaded torch to play a recording"
        done = wait_status(c, eid, {"done", "failed", "cancelled"})
        assert done["status"] == "done" and [r["status"] for r in done["runs"]] == ["done", "done"], done
        assert not torch_loaded(server)

        stored = c.get(f"/api/experiments/{eid}/frames").json()
        recording = frames_of(recorded / RECORDING)
        assert list(map(but_timing, stored)) == list(map(but_timing, recording))
        assert all(a["elapsed"] >= b["elapsed"] for a, b in zip(stored[1:], stored, strict=False))
        export = c.get(f"/api/experiments/{eid}/export", params={"format": "jsonl"}).text.splitlines()
        exported = [d for d in map(json.loads, export) if d["type"] == "frame"]
        assert list(map(but_timing, exported)) == list(map(but_timing, recording))
        assert c.get(f"/api/experiments/{eid}/fold").json()[0]["label"] == "BN"
        assert c.get("/api/experiments").json()[0]["source"]["lesson"] == "tiny"

        r = c.post("/api/lessons/panda/launch", json={"mode": "recording"})
        assert r.status_code == 409 and r.json()["detail"] == "this lesson has no recording"


def test_a_played_recording_drops_the_lesson_s_marks_at_their_steps(
    tmp_path: Path, recorded: Path, own_server: Callable[..., Server]
):
    own = lessons_into(tmp_path, recorded, pace=40)  # a frame every quarter second
    with (own / "tiny.toml").open("a") as f:
        f.write('\n[[marks]]\nstep = 35\nnote = "drifts"\n\n[[marks]]\nstep = 100\nnote = "the end"\n')
    server = own_server(NORMSCOPE_DEVICE="cpu", NORMSCOPE_WARM_SPARE="false")
    with server.client() as c:
        eid = c.post("/api/lessons/tiny/launch", json={"mode": "recording"}).json()["id"]
        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            msgs = messages_until(ws, _ended)
        assert msgs[-1]["status"] == "done"
        assert marks_as_dropped(msgs) == [(35, 40, "drifts"), (100, 100, "the end")]
        marks = c.get(f"/api/experiments/{eid}/marks").json()
        assert [(m["step"], m["note"]) for m in marks] == [(35, "drifts"), (100, "the end")]


def test_pause_step_resume_pace_cancel_and_no_learning_rate(
    tmp_path: Path, recorded: Path, own_server: Callable[..., Server]
):
    lessons_into(tmp_path, recorded, pace=20)  # a frame every half second
    server = own_server(NORMSCOPE_DEVICE="cpu", NORMSCOPE_WARM_SPARE="false")
    with server.client() as c:
        eid = c.post("/api/lessons/tiny/launch", json={"mode": "recording"}).json()["id"]

        def control(**body: object) -> dict:
            r = c.post(f"/api/experiments/{eid}/control", json=body)
            assert r.status_code == 202, r.text
            return r.json()

        def steps() -> list[int]:
            return [f["step"] for f in c.get(f"/api/experiments/{eid}/frames").json()]

        r = c.post(f"/api/experiments/{eid}/control", json={"action": "set_lr", "lr": 0.5})
        assert r.status_code == 409
        assert r.json()["detail"] == (
            "a recording cannot change its learning rate; train the lesson live to use the knob"
        )
        control(action="pause")
        at = wait_status(c, eid, {"paused"}, timeout=10)["step"]
        time.sleep(1.2)
        assert steps()[-1:] == ([at] if at else [])
        control(action="step")
        time.sleep(0.5)
        assert steps()[-1] == at + 10 and c.get(f"/api/experiments/{eid}").json()["status"] == "paused"
        control(action="pace", steps_per_second=1000)
        control(action="resume")
        time.sleep(0.5)
        assert c.get(f"/api/experiments/{eid}").json()["status"] in ("running", "done")
        assert steps()[-1] > at + 10

        slow = c.post("/api/lessons/tiny/launch", json={"mode": "recording"}).json()["id"]
        wait_status(c, eid, {"done"}, timeout=10)
        time.sleep(0.3)
        c.post(f"/api/experiments/{slow}/control", json={"action": "cancel"}).raise_for_status()
        cancelled = wait_status(c, slow, {"cancelled"}, timeout=10)
        assert [r["status"] for r in cancelled["runs"]] == ["cancelled", "cancelled"]
        assert len(c.get(f"/api/experiments/{slow}/frames").json()) < 10

        playing = c.post("/api/lessons/tiny/launch", json={"mode": "recording"}).json()["id"]
        time.sleep(0.8)
    server.stop()
    again = own_server(NORMSCOPE_DEVICE="cpu", NORMSCOPE_WARM_SPARE="false")
    with again.client() as c:
        interrupted = c.get(f"/api/experiments/{playing}").json()
        assert interrupted["status"] == "interrupted" and interrupted["source"]["lesson"] == "tiny"
        kept = c.get(f"/api/experiments/{playing}/frames").json()
        assert 0 < len(kept) < 10 and kept[-1]["step"] == interrupted["step"]


def test_recordings_not_to_trust_are_refused(
    tmp_path: Path, recorded: Path, own_server: Callable[..., Server]
):
    own = lessons_into(tmp_path, recorded)
    good = gzip.decompress((own / RECORDING).read_bytes())
    head, layers, first, *rest = good.decode().splitlines(keepends=True)
    bad_frame = json.loads(rest[2]) | {"runs": "none"}
    cases = {
        "bomb": b"0" * (9 * 2**20),  # one line past the line bound: refused at launch
        "blanks": ("\n" * (2 * 2**20)).encode(),  # past NORMSCOPE_MAX_RECORDING_MB before any line
        "late-bomb": good + b"\n" * (2 * 2**20),  # plays, then inflates past the bound
        "broken": "".join([head, layers, first, rest[0], rest[1], json.dumps(bad_frame) + "\n"]).encode(),
    }
    lesson = (own / "tiny.toml").read_text()
    for name, body in cases.items():
        (own / f"{name}.recording.jsonl.gz").write_bytes(gzip.compress(body))
        text = lesson.replace(f'file = "{RECORDING}"', f'file = "{name}.recording.jsonl.gz"')
        (own / f"{name}.toml").write_text(text)

    checked = normscope("lessons", "check", str(own), data=tmp_path / "data")
    assert checked.returncode == 1, checked.stderr
    said = checked.stdout.splitlines()
    assert (
        f"{own}/broken.toml: recording broken.recording.jsonl.gz: line 6: runs: Input should be a valid list"
        in said
    )
    assert (
        f"{own}/bomb.toml: recording bomb.recording.jsonl.gz: line 1 is longer than 8,388,608 bytes, "
        "the most a line may be" in said
    )
    assert f"{own}/tiny.toml: ok" in said

    server = own_server(NORMSCOPE_DEVICE="cpu", NORMSCOPE_WARM_SPARE="false", NORMSCOPE_MAX_RECORDING_MB="1")
    with server.client() as c:
        r = c.post("/api/lessons/bomb/launch", json={"mode": "recording"})
        assert r.status_code == 422
        assert r.json()["detail"] == (
            "lessons/bomb.toml: recording bomb.recording.jsonl.gz: "
            f"line 1 is longer than {8 * 2**20:,} bytes, the most a line may be"
        )
        r = c.post("/api/lessons/blanks/launch", json={"mode": "recording"})
        assert r.status_code == 422 and f"inflates past {2**20:,} bytes" in r.json()["detail"]
        for name, why, frames in [
            ("late-bomb", f"inflates past {2**20:,} bytes", 10),
            ("broken", "line 6: runs: Input should be a valid list", 3),
        ]:
            r = c.post(f"/api/lessons/{name}/launch", json={"mode": "recording"})
            assert r.status_code == 201, r.text
            failed = wait_status(c, r.json()["id"], {"failed", "done"})
            assert failed["status"] == "failed" and why in failed["error"], failed
            assert failed["error"].startswith(f"the recording {name}.recording.jsonl.gz was refused: ")
            assert len(c.get(f"/api/experiments/{failed['id']}/frames").json()) == frames
        assert c.get("/api/lessons/tiny").json()["errors"] == []
