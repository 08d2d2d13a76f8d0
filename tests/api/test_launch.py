import json
import time

import httpx
from websockets.sync.client import connect

from tests.api.conftest import tiny_spec

# the target is 1 s (bench/launch.py); a launch from the fork server's spare takes ~0.2 s, so a test running
# beside it under xdist still leaves ample slack: it need not run alone
WARM_LAUNCH_LIMIT_S = 2.5


def test_a_warm_spare_starts_training_at_once(own_server):
    server = own_server()
    deadline = time.monotonic() + 90
    while not httpx.get(f"{server.url}/api/health").json()["warm"]:
        assert time.monotonic() < deadline, "the spare never warmed up"
        time.sleep(0.1)
    with server.client() as c:
        t0 = time.perf_counter()
        eid = c.post("/api/experiments", json=tiny_spec(steps=5, probe={"every": 1})).json()["id"]
        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            while json.loads(ws.recv(timeout=30))["type"] != "frame":
                pass
        assert time.perf_counter() - t0 < WARM_LAUNCH_LIMIT_S
    # its replacement forks from the fork server, which imported torch: warm again at once, not in ~4 s
    while not httpx.get(f"{server.url}/api/health").json()["warm"]:
        assert time.perf_counter() - t0 < WARM_LAUNCH_LIMIT_S + 1, "the replacement spare is still warming up"
        time.sleep(0.05)


def test_missing_dataset_files_with_downloads_off_are_a_422_that_names_them(own_server):
    server = own_server(NORMSCOPE_DOWNLOADS="false", NORMSCOPE_DEVICE="cpu", NORMSCOPE_WARM_SPARE="false")
    with server.client() as c:
        r = c.post("/api/experiments", json=tiny_spec(dataset={"name": "cifar10"}))
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert "cifar-10-python.tar.gz" in detail and "cifar-10-batches-py" in detail
        assert str(server.data_dir / "datasets" / "cifar10") in detail and "NORMSCOPE_DOWNLOADS" in detail
        assert c.get("/api/experiments").json() == []  # nothing was created


def test_a_download_is_shown_live_and_a_wrong_file_fails_the_experiment_with_the_reason(
    own_server, file_server
):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        file_server.files[f"lab/mnist/{name}"] = bytes(3_000_000)  # not MNIST: its checksum will not match
        file_server.slow.add(f"lab/mnist/{name}")
    server = own_server(NORMSCOPE_DATASET_MIRROR=file_server.url("lab"))
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(dataset={"name": "mnist"})).json()["id"]
        downloads, final = [], None
        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            while final is None:
                msg = json.loads(ws.recv(timeout=60))
                if msg["type"] == "download":
                    downloads.append(msg)
                elif msg["type"] == "status" and msg["status"] == "failed":
                    final = msg
    assert downloads and downloads[0]["file"] == "train-images-idx3-ubyte.gz"
    assert 0 < downloads[-1]["done"] <= downloads[-1]["total"] == 3_000_000
    assert "checksum" in final["error"] and str(server.data_dir / "datasets" / "mnist") in final["error"]
    assert "Traceback" not in final["error"]
    assert not list((server.data_dir / "datasets" / "mnist").iterdir())  # nothing half-downloaded is kept
