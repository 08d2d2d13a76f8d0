"""Sweeps over HTTP: a sweep launches as its variants, and refine starts the next round around the best."""

import math
from collections.abc import Callable
from types import ModuleType

from tests.api.conftest import Server, tiny_spec, wait_status

SWEEP = {
    "n": 6,
    "seed": 2,
    "params": {
        "optimizer.lr": {"log_uniform": [1e-3, 10.0]},
        "optimizer.momentum": {"one_minus_log_uniform": [1e-2, 0.5]},
    },
    "norms": ["none", "batch"],
}


def test_a_sweep_runs_and_refine_starts_the_next_round_around_the_best(server: Server):
    spec = {k: v for k, v in tiny_spec(name="search", steps=60).items() if k != "variants"}
    with server.client() as c:
        coarse = c.post("/api/experiments", json={**spec, "sweep": SWEEP}).json()
        assert len(coarse["runs"]) == 12 and coarse["runs"][1]["label"].endswith(" BN")
        early = c.post(f"/api/experiments/{coarse['id']}/refine", json={})
        assert early.status_code == 409 and "refine needs a finished sweep" in early.text
        wait_status(c, coarse["id"], {"done"})
        final = c.get(f"/api/experiments/{coarse['id']}/frames?since=59").json()[-1]
        accs = [r["val"]["acc"] if r["val"] else -1 for r in final["runs"]]

        r = c.post(f"/api/experiments/{coarse['id']}/refine", json={"fraction": 0.34, "n": 4})
        assert r.status_code == 201, r.text
        fine = r.json()
        assert fine["spec"]["name"] == "search · round 2" and len(fine["runs"]) == 8
        sweep = fine["spec"]["sweep"]
        assert sweep["parent"] == coarse["id"] and sweep["seed"] == 3
        low, high = sweep["params"]["optimizer.lr"]["log_uniform"]
        best = max(range(12), key=lambda i: accs[i])
        assert low <= coarse["spec"]["variants"][best]["lr"] <= high
        assert 1e-3 <= low < high <= 10 and math.log10(high / low) < 4  # inside the coarse range, narrower
        c.post(f"/api/experiments/{fine['id']}/control", json={"action": "cancel"})
        viewer = server.client(token=None).post(f"/api/experiments/{coarse['id']}/refine", json={})
        assert viewer.status_code == 401


def test_refine_needs_a_sweep(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
        wait_status(c, eid, {"done"})
        r = c.post(f"/api/experiments/{eid}/refine")
        assert r.status_code == 409 and f"refine needs a finished sweep; {eid} has no sweep" in r.text


def test_a_server_on_ray_trains_a_sweep_in_groups_and_says_why_when_ray_is_not_there(
    own_server: Callable[..., Server], ray_cluster: ModuleType
):
    address = ray_cluster.get_runtime_context().gcs_address  # the module's cluster, joined as a cluster
    server = own_server(
        NORMSCOPE_EXECUTOR="ray",
        NORMSCOPE_RAY_ADDRESS=address,
        NORMSCOPE_RAY_GROUP_VARIANTS="4",
        NORMSCOPE_RAY_GROUP_CPUS="0.5",
    )
    spec = {k: v for k, v in tiny_spec(name="on ray", steps=40).items() if k != "variants"}
    with server.client() as c:
        eid = c.post("/api/experiments", json={**spec, "sweep": {**SWEEP, "n": 4}}).json()["id"]
        done = wait_status(c, eid, {"done", "failed"}, timeout=120)
        assert done["status"] == "done" and done["error"] is None, done["error"]
        assert [r["status"] for r in done["runs"]] == ["done"] * 8
        frames = c.get(f"/api/experiments/{eid}/frames").json()
        assert [f["step"] for f in frames] == [10, 20, 30, 40]
        assert all([r["index"] for r in f["runs"]] == list(range(8)) for f in frames)
        folds = c.get(f"/api/experiments/{eid}/fold").json()  # each group folds its own BN runs
        assert [f["index"] for f in folds] == [1, 3, 5, 7]
    nowhere = own_server(NORMSCOPE_EXECUTOR="ray", NORMSCOPE_RAY_ADDRESS="127.0.0.1:9")
    with nowhere.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
        failed = wait_status(c, eid, {"done", "failed"})
        assert failed["status"] == "failed"
        assert "no Ray cluster answers at NORMSCOPE_RAY_ADDRESS='127.0.0.1:9'" in failed["error"]
