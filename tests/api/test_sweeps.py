"""Sweeps over HTTP: a sweep launches as its variants, and refine starts the next round around the best."""

import math

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
