import pytest
import torch

from normscope import __version__
from normscope.api.routes import accepts_gzip
from tests.api.conftest import Server, is_fork_server, tiny_spec, wait_status


def test_health_and_presets(server: Server):
    with server.client(None) as c:
        h = c.get("/api/health").json()
        expected = "cuda:0" if torch.cuda.is_available() else "cpu"  # what 'auto' means, written out
        assert h == {
            "status": "ok",
            "detail": None,
            "device": expected,
            "version": __version__,
            "viewers": 0,
            "warm": h["warm"],
        }
        presets = c.get("/api/presets").json()
    ids = [p["id"] for p in presets]
    assert "ioffe-szegedy" in ids
    assert all({"id", "title", "summary", "spec"} <= set(p) for p in presets)


def test_a_newcomers_first_screen_holds_no_warning(own_server):
    """`make run` prints the URLs and uvicorn's start, not a deprecated protocol's warning."""
    server = own_server()
    with server.client(None) as c:
        assert c.get("/api/health").status_code == 200
    assert "warning" not in server.log.read_text().lower(), server.log.read_text()


def test_create_run_done_frames_list_delete(server: Server):
    with server.client() as c:
        r = c.post("/api/experiments", json=tiny_spec(name="first"))
        assert r.status_code == 201, r.text
        first = r.json()
        assert set(first) >= {"id", "spec", "status", "step", "created_at", "runs", "error"}
        assert [run["label"] for run in first["runs"]] == ["plain", "BN"]
        second = c.post("/api/experiments", json=tiny_spec(name="second", steps=20)).json()
        done = wait_status(c, first["id"], {"done"})
        assert done["step"] == 60 and [r["status"] for r in done["runs"]] == ["done", "done"]
        wait_status(c, second["id"], {"done"})

        frames = c.get(f"/api/experiments/{first['id']}/frames").json()
        assert [f["step"] for f in frames] == [10, 20, 30, 40, 50, 60]
        page = c.get(f"/api/experiments/{first['id']}/frames", params={"since": 20, "limit": 2}).json()
        assert [f["step"] for f in page] == [30, 40]
        assert page[0]["prev_step"] == 20
        # gzipped for a client that accepts it (httpx unpacks it), the same JSON as for one that does not
        url = f"/api/experiments/{first['id']}/frames"
        packed = c.get(url, headers={"Accept-Encoding": "gzip"})
        plain = c.get(url, headers={"Accept-Encoding": "identity"})
        refused = c.get(url, headers={"Accept-Encoding": "gzip;q=0, *"})
        assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
        assert "content-encoding" not in plain.headers and "content-encoding" not in refused.headers
        assert packed.json() == plain.json() == frames
        assert int(packed.headers["content-length"]) < len(plain.content) / 2

        listed = [e["id"] for e in c.get("/api/experiments").json()]
        assert listed.index(second["id"]) < listed.index(first["id"])  # newest first

        assert c.delete(f"/api/experiments/{second['id']}").status_code == 204
        assert c.get(f"/api/experiments/{second['id']}").status_code == 404
        assert c.get(f"/api/experiments/{second['id']}/frames").status_code == 404
        assert c.delete(f"/api/experiments/{second['id']}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/experiments", tiny_spec()),
        ("POST", "/api/experiments/any/control", {"action": "pause"}),
        ("DELETE", "/api/experiments/any", None),
    ],
)
def test_mutating_routes_need_the_presenter_token(server: Server, method, path, body):
    before = len(server.client().get("/api/experiments").json())
    with server.client(None) as anonymous:
        r = anonymous.request(method, path, json=body)
        assert r.status_code == 401 and "token" in r.json()["detail"]
    with server.client("wrong") as wrong:
        r = wrong.request(method, path, json=body)
        assert r.status_code == 403 and r.json()["detail"] == "wrong presenter token"
    assert len(server.client().get("/api/experiments").json()) == before


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"model": {"hidden": [1_000_000]}}, ["body", "model", "hidden", 0]),
        ({"optimizer": {"lr": -1}}, ["body", "optimizer", "lr"]),
        ({"dataset": {"name": "imagenet"}}, ["body", "dataset", "name"]),
        ({"variants": []}, ["body", "variants"]),
        ({"batch_size": 100_000}, ["body", "batch_size"]),
    ],
)
def test_out_of_bound_specs_get_field_level_422_and_change_nothing(server: Server, patch, loc):
    with server.client() as c:
        before = len(c.get("/api/experiments").json())
        r = c.post("/api/experiments", json=tiny_spec(**patch))
        assert r.status_code == 422
        errors = r.json()["detail"]
        assert any(e["loc"] == loc and e["msg"] for e in errors), errors
        assert len(c.get("/api/experiments").json()) == before


def test_bad_input_never_500(server: Server):
    with server.client() as c:
        assert (
            c.post(
                "/api/experiments", content=b"{not json", headers={"content-type": "application/json"}
            ).status_code
            == 422
        )
        assert (
            c.post(
                "/api/experiments", content=b"x" * 300_000, headers={"content-type": "application/json"}
            ).status_code
            == 413
        )
        assert c.get("/api/experiments/nope").status_code == 404
        assert c.get("/api/experiments/nope/frames", params={"limit": 0}).status_code == 422
        assert c.post("/api/experiments/nope/control", json={"action": "explode"}).status_code == 422
        assert c.post("/api/experiments/nope/control", json={"action": "pause"}).status_code == 404


def test_control_of_a_finished_experiment_is_a_conflict(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=10)).json()["id"]
        wait_status(c, eid, {"done"})
        r = c.post(f"/api/experiments/{eid}/control", json={"action": "pause"})
        assert r.status_code == 409 and "done" in r.json()["detail"]


def test_openapi_documents_every_route_with_models(server: Server):
    with server.client(None) as c:
        doc = c.get("/openapi.json").json()
        assert c.get("/docs").status_code == 200
    paths = doc["paths"]
    for path, method in [
        ("/api/health", "get"),
        ("/api/presets", "get"),
        ("/api/experiments", "post"),
        ("/api/experiments", "get"),
        ("/api/experiments/{experiment_id}", "get"),
        ("/api/experiments/{experiment_id}", "delete"),
        ("/api/experiments/{experiment_id}/control", "post"),
        ("/api/experiments/{experiment_id}/frames", "get"),
    ]:
        assert method in paths[path], (path, method)
    assert {"ExperimentSpec", "Experiment", "Frame", "ControlCommand"} <= set(doc["components"]["schemas"])


def test_a_finished_bn_run_is_folded_for_inference(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=30)).json()["id"]
        plain = c.post("/api/experiments", json=tiny_spec(steps=30, variants=[{"label": "plain"}])).json()[
            "id"
        ]
        wait_status(c, eid, {"done"})
        wait_status(c, plain, {"done"})
        folds = c.get(f"/api/experiments/{eid}/fold").json()
        assert [(f["index"], f["label"], f["bn_folded"], f["bn_kept"]) for f in folds] == [(1, "BN", 2, 0)]
        assert folds[0]["layers_after"] == folds[0]["layers_before"] - 2
        assert folds[0]["max_abs_diff"] < 1e-4 and folds[0]["same_predictions"] == 1.0
        r = c.get(f"/api/experiments/{plain}/fold")
        assert r.status_code == 404 and "BN" in r.json()["detail"]
        assert c.get("/api/experiments/nope/fold").status_code == 404


def test_a_device_the_machine_lacks_stops_the_server_with_a_clear_message(tmp_path):
    from normscope.api.launcher import start_server

    device = f"cuda:{torch.cuda.device_count() + 3}"  # never there
    with pytest.raises(RuntimeError, match=f"NORMSCOPE_DEVICE={device}"):  # the server exits, saying why
        start_server(tmp_path / "data", "t", timeout=60, NORMSCOPE_DEVICE=device)


def test_an_explicit_cpu_device_is_what_health_reports(own_server):
    """On the cpu with no warm spare there is nothing to check or keep warm: the server starts no worker
    (nor the fork server that imports torch) until a launch, which then trains as any other."""
    server = own_server(NORMSCOPE_DEVICE="cpu", NORMSCOPE_WARM_SPARE="false")
    with server.client(None) as c:
        assert c.get("/api/health").json()["device"] == "cpu"
    assert not any(is_fork_server(p) for p in server.descendants())  # and so no worker
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=20)).json()["id"]
        assert wait_status(c, eid, {"done", "failed"})["status"] == "done"


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip, deflate, br", True),
        ("deflate;q=1.0, GZIP;q=0.5", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("*, gzip;q=0", False),  # named beats the wildcard
        ("gzip;q=0, *", False),
        ("br, *;q=0.1", True),
        ("gzip;q=bad", False),
    ],
)
def test_accept_encoding_is_read_as_http_says(header: str, takes: bool):
    assert accepts_gzip(header) is takes
