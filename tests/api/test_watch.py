"""normscope.watch against a real server process: an external experiment fed from a user's own loop."""

import json
import os
import subprocess
import sys
import threading
import time
import warnings
from contextlib import ExitStack

import httpx
import pytest
import torch
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import normscope
from tests.api.conftest import TOKEN, tiny_spec, wait_status
from tests.unit.watching.models import UserNet, batches, train_step


def ingest_url(server, eid: str) -> str:
    return server.url.replace("http://", "ws://") + f"/ws/experiments/{eid}/ingest"


def models_and_opts():
    torch.manual_seed(0)
    models = {"BN": UserNet(bn=True), "plain": UserNet(bn=False)}
    return models, {k: torch.optim.SGD(m.parameters(), lr=0.05) for k, m in models.items()}


def test_a_users_loop_streams_live_and_the_presenter_pauses_it(server):
    models, opts = models_and_opts()
    client = server.client()
    steps, seen_live = 60, []
    session = normscope.watch(models, server=server.url, token=TOKEN, every=5, steps=steps, name="my loop")
    resumed = threading.Event()

    def resume(eid: str) -> None:
        wait_status(client, eid, {"paused"}, timeout=10)  # the loop itself reported it paused
        time.sleep(0.5)
        resumed.set()
        client.post(f"/api/experiments/{eid}/control", json={"action": "resume"})

    with ExitStack() as stack, session:
        for i, (x, y) in enumerate(batches(steps)):
            session.step(loss={k: train_step(m, opts[k], x, y) for k, m in models.items()})
            if i == 0:
                eid = session.outlet.experiment_id
                viewer = stack.enter_context(
                    connect(server.url.replace("http://", "ws://") + f"/ws/experiments/{eid}")
                )
                hello = json.loads(viewer.recv(timeout=10))
                assert hello["experiment"]["spec"]["external"] is not None
            if i == 19:  # live: the viewer has frames while the loop still runs
                while len(seen_live) < 2:
                    msg = json.loads(viewer.recv(timeout=10))
                    if msg["type"] == "frame":
                        seen_live.append(msg["step"])
                assert client.get(f"/api/experiments/{eid}").json()["status"] == "running"
                assert (
                    client.post(f"/api/experiments/{eid}/control", json={"action": "pause"}).status_code
                    == 202
                )
                threading.Thread(target=resume, args=(eid,)).start()
            if i == 21:
                assert resumed.is_set()  # step 22 could not start before the resume
    assert seen_live[:2] == [5, 10]
    e = wait_status(client, eid, {"done"}, timeout=10)
    assert [(r["label"], r["status"]) for r in e["runs"]] == [("BN", "done"), ("plain", "done")]
    frames = client.get(f"/api/experiments/{eid}/frames").json()
    assert [f["step"] for f in frames] == list(range(5, 61, 5))
    untapped = client.get(f"/api/experiments/{eid}").json()["spec"]["external"]["untapped"]
    assert "BN: layer1.0.conv2: no act tap" in untapped[0]  # the functional ReLU after the join is listed
    names = [ls["name"] for ls in frames[-1]["runs"][0]["layers"]]
    assert names == ["stem", "layer1.0.conv1", "layer1.0.conv2", "layer1.1.conv1", "layer1.1.conv2", "head"]


def test_cancel_from_the_page_ends_the_users_with_block(server):
    models, opts = models_and_opts()
    client = server.client()
    with normscope.watch(models, server=server.url, token=TOKEN, every=5) as session:
        for i, (x, y) in enumerate(batches(200)):
            session.step(loss={k: train_step(m, opts[k], x, y) for k, m in models.items()})
            if i == 5:
                client.post(
                    f"/api/experiments/{session.outlet.experiment_id}/control", json={"action": "cancel"}
                )
    assert session.step_count < 200
    e = wait_status(client, session.outlet.experiment_id, {"cancelled"}, timeout=10)
    assert e["status"] == "cancelled"


def test_the_server_killed_mid_run_costs_a_warning_not_the_training(own_server):
    srv = own_server()
    models, opts = models_and_opts()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with normscope.watch(models, server=srv.url, token=TOKEN, every=2) as session:
            for i, (x, y) in enumerate(batches(40)):
                session.step(loss={k: train_step(m, opts[k], x, y) for k, m in models.items()})
                if i == 10:
                    srv.stop()
    assert session.step_count == 40  # every step trained
    assert any("lost the server" in str(w.message) for w in caught)


def test_a_client_that_vanishes_leaves_the_experiment_interrupted(server):
    client = server.client()
    eid = client.post("/api/experiments", json=tiny_spec(external={})).json()["id"]
    code = (
        "import sys, os; from websockets.sync.client import connect; "
        f"c = connect(sys.argv[1], additional_headers={{'Authorization': 'Bearer {TOKEN}'}}); "
        "print('up', flush=True); os._exit(0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, ingest_url(server, eid)], capture_output=True, timeout=30
    )
    assert proc.stdout.strip() == b"up"
    e = wait_status(client, eid, {"interrupted"}, timeout=10)
    assert "disconnected" in e["error"]


def test_uploads_need_the_token_and_bad_frames_are_refused_with_a_reason(server):
    client = server.client()
    spec = tiny_spec(external={}, steps=100)
    eid = client.post("/api/experiments", json=spec).json()["id"]
    assert httpx.post(f"{server.url}/api/experiments", json=spec).status_code == 401
    for headers, code in (({}, 4401), ({"Authorization": "Bearer wrong"}, 4403)):
        with connect(ingest_url(server, eid), additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd.code == code
    assert client.get(f"/api/experiments/{eid}").json()["status"] == "queued"  # nothing changed

    edges = [i / 8 for i in range(9)]
    layers = {"type": "layers", "layers": [{"name": "fc", "taps": ["preact"], "edges": {"preact": edges}}]}
    stats = {"counts": [1] * 8, "under": 0, "over": 0, "mean": 0.5, "std": 0.1, "q": [0, 0.2, 0.5, 0.8, 1]}
    stats["saturation"] = None
    layer = {
        "name": "fc",
        "taps": {"preact": stats},
        "grad_norm": 1.0,
        "weight_norm": 1.0,
        "update_ratio": 0.01,
    }
    frame = {
        "type": "frame",
        "step": 10,
        "prev_step": 0,
        "runs": [{"index": 0, "loss": [1.0] * 10, "train_acc": None, "layers": [layer]}],
    }
    bad = [
        ("not json", "not JSON"),
        (json.dumps(frame), "send the layers message before the first frame"),
        (json.dumps({"type": "frame", "step": "ten"}), "invalid frame"),
    ]
    with connect(ingest_url(server, eid), additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        for text, reason in bad:
            ws.send(text)
            assert reason in json.loads(ws.recv(timeout=10))["detail"]
        ws.send(json.dumps(layers))
        later = [
            ({**frame, "runs": [{**frame["runs"][0], "index": 7}]}, "must be distinct variants"),
            ({**frame, "step": 500}, "be at most 100"),
            (
                {**frame, "runs": [{**frame["runs"][0], "layers": [{**layer, "name": "conv"}]}]},
                "not among the layers",
            ),
            (
                {
                    **frame,
                    "runs": [
                        {
                            **frame["runs"][0],
                            "layers": [{**layer, "taps": {"preact": {**stats, "counts": [1]}}}],
                        }
                    ],
                },
                "1 counts for 8 bins",
            ),
        ]
        for body, reason in later:
            ws.send(json.dumps(body))
            assert reason in json.loads(ws.recv(timeout=10))["detail"]
        assert client.get(f"/api/experiments/{eid}/frames").json() == []  # nothing refused was stored
        ws.send(json.dumps(frame))
        ws.send(json.dumps({"type": "end", "status": "done", "step": 10, "runs": ["done", "done"]}))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert [f["step"] for f in client.get(f"/api/experiments/{eid}/frames").json()] == [10]
    assert wait_status(client, eid, {"done"}, timeout=10)["status"] == "done"
    with connect(ingest_url(server, eid), additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4409  # a finished experiment takes no more frames


def test_a_watch_file_imports_for_replay_from_the_cli_and_the_page(server, tmp_path):
    models, opts = models_and_opts()
    out = tmp_path / "mine.jsonl"
    with normscope.watch(models, out=out, every=5, steps=20, name="offline run") as session:
        for x, y in batches(20):
            session.step(loss={k: train_step(m, opts[k], x, y) for k, m in models.items()})
    lines = out.read_text().splitlines()
    client = server.client()
    assert client.post("/api/import", content="garbage\n").status_code == 400
    assert httpx.post(f"{server.url}/api/import", content=out.read_text()).status_code == 401
    e = client.post("/api/import", content=out.read_text()).json()
    assert (e["status"], e["step"], e["spec"]["name"]) == ("done", 20, "offline run")
    stored = client.get(f"/api/experiments/{e['id']}/frames").json()
    assert stored == [json.loads(line) for line in lines[2:]]  # frame for frame, as written
    env = {**os.environ, "NORMSCOPE_DATA_DIR": str(tmp_path / "cli")}
    cli = [sys.executable, "-m", "normscope", "import", str(out)]
    done = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and "imported" in done.stdout
    (tmp_path / "bad.jsonl").write_text('{"type": "frame", "step": 1}\n')
    bad = subprocess.run([*cli[:-1], str(tmp_path / "bad.jsonl")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "line 1" in bad.stderr
