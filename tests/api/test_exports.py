"""Exports over HTTP from a real server: every format streamed as an attachment to anyone who may view, the
JSON lines back through POST /api/import as the same experiment, and clear 4xx for what is not there."""

import io
import json
import time
import zipfile

import pytest

from tests.api.conftest import Server, tiny_spec, wait_status

FORMATS = {
    "tensorboard": ("application/zip", ".tensorboard.zip"),
    "csv": ("text/csv; charset=utf-8", ".csv"),
    "jsonl": ("application/x-ndjson", ".jsonl"),
    "html": ("text/html; charset=utf-8", ".html"),
}


@pytest.fixture(scope="module")
def finished(server: Server) -> dict:
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(name="Exported: BN & plain")).json()["id"]
        wait_status(c, eid, {"done"})
        assert (
            c.post(f"/api/experiments/{eid}/marks", json={"step": 30, "note": "look here"}).status_code == 201
        )
        return c.get(f"/api/experiments/{eid}").json()


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_streams_as_an_attachment_to_a_viewer(server: Server, finished: dict, fmt: str):
    media, suffix = FORMATS[fmt]
    with (
        server.client(token=None) as viewer,
        viewer.stream("GET", f"/api/experiments/{finished['id']}/export", params={"format": fmt}) as r,
    ):
        body = r.read()
    assert r.status_code == 200, body[:300]
    assert r.headers["content-type"] == media
    assert "content-length" not in r.headers and r.headers["transfer-encoding"] == "chunked"
    name = f"normscope-exported-bn-plain-{finished['id']}{suffix}"
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    if fmt == "tensorboard":
        assert sorted({n.split("/")[0] for n in zipfile.ZipFile(io.BytesIO(body)).namelist()}) == [
            "00-plain",
            "01-BN",
        ]
    if fmt == "html":
        assert body.startswith(b"<!doctype html>") and b'id="normscope-data"' in body
        assert b'src="/' not in body and b'href="/static' not in body  # nothing from the server it came from


def test_jsonl_imports_back_as_the_same_experiment(server: Server, finished: dict):
    with server.client() as c:
        eid = finished["id"]
        body = c.get(f"/api/experiments/{eid}/export", params={"format": "jsonl"}).content
        copy = c.post("/api/import", content=body, headers={"Content-Type": "application/x-ndjson"}).json()
        same = ("spec", "status", "step", "error", "runs")
        assert {k: copy[k] for k in same} == {k: finished[k] for k in same}
        for route in ("frames?limit=5000", "fold", "marks"):
            mine, theirs = (
                c.get(f"/api/experiments/{eid}/{route}").json(),
                c.get(f"/api/experiments/{copy['id']}/{route}").json(),
            )
            if route == "marks":
                mine, theirs = (
                    [(m["step"], m["note"]) for m in mine],
                    [(m["step"], m["note"]) for m in theirs],
                )
            assert theirs == mine and mine


def test_a_cancelled_experiment_exports_what_it_has(server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=tiny_spec(steps=100_000)).json()["id"]
        wait_status(c, eid, {"running"})
        while not c.get(f"/api/experiments/{eid}/frames").json():
            time.sleep(0.05)
        c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})
        ended = wait_status(c, eid, {"cancelled"})
        lines = c.get(f"/api/experiments/{eid}/export", params={"format": "jsonl"}).text.splitlines()
    head = json.loads(lines[0])
    assert (head["status"], head["runs"]) == ("cancelled", ["cancelled", "cancelled"])
    frames = [json.loads(line) for line in lines if json.loads(line)["type"] == "frame"]
    assert frames and frames[-1]["step"] <= ended["step"]


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("", 422, "format"),
        ("?format=pdf", 422, "'tensorboard', 'csv', 'jsonl' or 'html'"),
    ],
)
def test_a_missing_or_unknown_format_is_a_clear_422(
    server: Server, finished: dict, query: str, status: int, says: str
):
    r = server.client(token=None).get(f"/api/experiments/{finished['id']}/export{query}")
    assert r.status_code == status and says in r.text


def test_an_unknown_experiment_is_404(server: Server):
    r = server.client(token=None).get("/api/experiments/nope/export?format=csv")
    assert r.status_code == 404 and "no experiment 'nope'" in r.json()["detail"]
