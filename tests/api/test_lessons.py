"""/api/lessons on a real server whose data dir holds own lessons, a hand-broken one and one too large, with a
course folder on NORMSCOPE_LESSONS_PATH."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from websockets.sync.client import connect

from normscope.lessons.catalogue import BUILTIN_DIR, BUILTIN_ORDER
from tests.api.conftest import Server, start, wait_status
from tests.api.test_ws import _ended, messages_until

TINY = '''# week 3: the band drifts
title = "Week 3"
summary = """
Watch the band.

Then the loss."""

[view]
layer = "hidden2"
chart = "bands"

[spec]
name = "week 3"
steps = 20
batch_size = 32
model = { hidden = [16, 12], activation = "tanh" }
probe = { every = 10, bins = 16, eval_every = 2 }

[[marks]]
step = 10
note = "here"
'''
BROKEN_ERROR = "lessons/bn-week3.toml: spec.optimizer.lr: Input should be greater than 0"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("lessons")
    own, course = root / "data" / "lessons", root / "course"
    own.mkdir(parents=True)
    course.mkdir()
    (own / "week3.toml").write_text(TINY)
    (own / "bn-week3.toml").write_text(TINY.replace("steps = 20", "steps = 20\noptimizer = { lr = -0.1 }"))
    (own / "huge.toml").write_text("#" * (256 * 1024 + 1))
    (course / "course-week.toml").write_text(TINY)
    s = start(root / "data", NORMSCOPE_LESSONS_PATH=str(course))
    yield s
    s.stop()


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and not p.name.startswith("normscope.sqlite3")}


def test_the_list_holds_builtin_own_and_broken_lessons(server: Server):
    with server.client(None) as c:
        listed = c.get("/api/lessons").json()
        by_id = {item["id"]: item for item in listed}
        assert [item["id"] for item in listed] == [
            *BUILTIN_ORDER,
            "bn-week3",
            "huge",
            "week3",
            "course-week",
        ]
        assert all(
            item["source"] == "builtin" and item["errors"] == [] for item in listed[: len(BUILTIN_ORDER)]
        )
        week3 = by_id["week3"]
        assert set(week3) == {
            "id",
            "title",
            "summary",
            "spec",
            "view",
            "marks",
            "recording",
            "source",
            "errors",
        }
        assert (week3["source"], week3["errors"], week3["title"]) == ("own", [], "Week 3")
        assert week3["summary"] == "Watch the band.\n\nThen the loss."
        assert week3["view"] == {"layer": "hidden2", "tap": "normed", "chart": "bands"}
        assert week3["marks"] == [{"step": 10, "note": "here"}] and week3["spec"]["steps"] == 20
        assert by_id["course-week"]["source"] == "own"
        broken = by_id["bn-week3"]
        assert broken == {
            "id": "bn-week3",
            "title": None,
            "summary": None,
            "spec": None,
            "view": None,
            "marks": None,
            "recording": None,
            "source": "own",
            "errors": [BROKEN_ERROR],
        }
        assert by_id["huge"]["errors"] == [
            "lessons/huge.toml: larger than 256 KB, the most a lesson file may be; not read"
        ]

        assert c.get("/api/lessons/week3").json() == week3
        assert c.get("/api/lessons/bn-week3").json() == broken
        r = c.get("/api/lessons/week9")
        assert r.status_code == 404 and r.json() == {"detail": "no lesson 'week9'"}

        presets = c.get("/api/presets").json()  # the shape it always had, valid lessons only
        assert [p["id"] for p in presets] == [*BUILTIN_ORDER, "week3", "course-week"]
        assert all(set(p) == {"id", "title", "summary", "spec", "view"} for p in presets)
        assert presets[0]["spec"] == by_id["ioffe-szegedy"]["spec"]


def test_a_lesson_s_file_is_an_attachment(server: Server):
    with server.client(None) as c:
        r = c.get("/api/lessons/panda/file")
        assert r.status_code == 200 and r.text == (BUILTIN_DIR / "panda.toml").read_text()
        assert r.headers["content-type"] == "application/toml"
        assert r.headers["content-disposition"] == 'attachment; filename="panda.toml"'
        assert c.get("/api/lessons/week3/file").text == TINY  # comments and all
        assert c.get("/api/lessons/bn-week3/file").status_code == 200  # a broken file can be fetched to fix
        huge = c.get("/api/lessons/huge/file")
        assert huge.status_code == 409 and "larger than 256 KB" in huge.json()["detail"]
        assert c.get("/api/lessons/week9/file").status_code == 404


def test_the_presenter_adds_replaces_and_deletes_own_lessons(server: Server):
    own = server.data_dir / "lessons"
    with server.client() as c:
        lesson = {
            k: v for k, v in c.get("/api/lessons/week3").json().items() if k not in ("source", "errors")
        }
        new = {**lesson, "id": "week4", "title": "Week 4"}
        r = c.post("/api/lessons", json=new)
        assert r.status_code == 201, r.text
        assert r.json() == new
        assert c.get("/api/lessons/week4").json() == {**new, "source": "own", "errors": []}
        assert (own / "week4.toml").is_file()
        r = c.post("/api/lessons", json=new)
        assert (
            r.status_code == 409
            and r.json()["detail"] == "a lesson 'week4' exists already (lessons/week4.toml)"
        )
        r = c.post("/api/lessons", json={**new, "id": "panda"})
        assert r.status_code == 409 and "'panda' exists already" in r.json()["detail"]
        assert c.post("/api/lessons", json={**new, "id": "course-week"}).status_code == 409

        sent = 'id = "week5"\n' + TINY
        for kind in ("application/toml", "text/plain; charset=utf-8"):
            r = c.post("/api/lessons", content=sent, headers={"Content-Type": kind})
            assert r.status_code == 201, r.text
            assert r.json()["id"] == "week5" and r.json()["marks"] == [{"step": 10, "note": "here"}]
            assert (own / "week5.toml").read_text() == sent  # the text as sent
            assert c.delete("/api/lessons/week5").status_code == 204

        r = c.put("/api/lessons/week4", json={**new, "title": "Week 4, again"})
        assert r.status_code == 200 and r.json()["title"] == "Week 4, again"
        assert c.get("/api/lessons/week4").json()["title"] == "Week 4, again"
        r = c.put(
            "/api/lessons/week4",
            content='id = "week4"\n' + TINY,
            headers={"Content-Type": "application/toml"},
        )
        assert r.status_code == 200 and (own / "week4.toml").read_text() == 'id = "week4"\n' + TINY
        r = c.put("/api/lessons/week4", json={**new, "id": "week6"})
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "id"]
        assert r.json()["detail"][0]["msg"] == "the lesson's id is 'week6', the path's 'week4'"
        assert c.put("/api/lessons/week6", json={**new, "id": "week6"}).status_code == 404

        r = c.put("/api/lessons/panda", json={**new, "id": "panda"})
        assert r.status_code == 409
        assert r.json()["detail"] == "built-in lessons cannot be changed; save a copy under another id"
        r = c.delete("/api/lessons/panda")
        assert (
            r.status_code == 409 and r.json()["detail"] == "built-in lessons cannot be deleted; save a copy"
        )
        r = c.put("/api/lessons/course-week", json={**new, "id": "course-week"})
        assert r.status_code == 409 and "NORMSCOPE_LESSONS_PATH" in r.json()["detail"]
        assert c.delete("/api/lessons/course-week").status_code == 409

        fixed = c.put("/api/lessons/bn-week3", json={**new, "id": "bn-week3"})  # a broken file is mended
        assert fixed.status_code == 200 and c.get("/api/lessons/bn-week3").json()["errors"] == []
        (own / "bn-week3.toml").write_text(
            TINY.replace("steps = 20", "steps = 20\noptimizer = { lr = -0.1 }")
        )

        assert c.delete("/api/lessons/week4").status_code == 204
        assert c.get("/api/lessons/week4").status_code == 404
        assert c.delete("/api/lessons/week4").status_code == 404
        assert not (own / "week4.toml").exists()
        assert (BUILTIN_DIR / "panda.toml").is_file()


def test_bad_bodies_are_refused_with_what_is_wrong(server: Server):
    with server.client() as c:
        lesson = {
            k: v for k, v in c.get("/api/lessons/week3").json().items() if k not in ("source", "errors")
        }
        bad_lr = {**lesson, "id": "week7", "spec": {**lesson["spec"], "optimizer": {"lr": -1}}}
        r = c.post("/api/lessons", json=bad_lr)
        assert r.status_code == 422
        assert [(e["loc"], e["msg"]) for e in r.json()["detail"]] == [
            (["body", "spec", "optimizer", "lr"], "Input should be greater than 0")
        ]
        r = c.post("/api/lessons", json={**lesson, "id": "week7", "colour": "red"})
        assert [(e["loc"], e["msg"]) for e in r.json()["detail"]] == [
            (["body", "colour"], "Extra inputs are not permitted")
        ]
        r = c.post("/api/lessons", json={**lesson, "id": "week7", "marks": [{"step": 21}]})
        assert r.json()["detail"][0]["loc"] == ["body", "marks"]
        toml = {"Content-Type": "application/toml"}
        r = c.post("/api/lessons", content="title = \n", headers=toml)
        assert r.status_code == 422
        assert r.json()["detail"][0]["msg"] == "not TOML: Invalid value (at line 1, column 9)"
        r = c.post(
            "/api/lessons", content=TINY, headers=toml
        )  # a file may leave its id to its name; a body not
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "id"]
        for kind in ("application/toml", "application/json"):  # what the fuzzer sent: no 500
            r = c.post("/api/lessons", content=b'{"id": "\xff"}', headers={"Content-Type": kind})
            assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "the body is not UTF-8 text"
        r = c.post("/api/lessons", content="{", headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
        r = c.post("/api/lessons", content="{}", headers={"Content-Type": "application/xml"})
        assert r.status_code == 415
        r = c.post("/api/lessons", content="x" * (256 * 1024 + 1), headers=toml)
        assert r.status_code == 413
        assert c.get("/api/lessons/week7").status_code == 404
    with server.client(None) as c:
        assert c.post("/api/lessons", json=lesson).status_code == 401
        assert c.delete("/api/lessons/week3").status_code == 401
        assert c.post("/api/lessons/week3/launch").status_code == 401
    with server.client("wrong") as c:
        assert c.put("/api/lessons/week3", json=lesson).status_code == 403


def test_ids_cannot_lead_a_write_out_of_the_lessons_folder(server: Server):
    root = server.data_dir.parent
    before = files_under(root)
    with server.client() as c:
        lesson = {
            k: v for k, v in c.get("/api/lessons/week3").json().items() if k not in ("source", "errors")
        }
        for bad in ["../x", "a/b", "", "..", "A", "x.toml"]:
            r = c.post("/api/lessons", json={**lesson, "id": bad})
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "id"], bad
        for path in ["..%2Fx", "a%2Fb", "%2E%2E", "x.toml", "Week3"]:
            for method in ("GET", "PUT", "DELETE"):
                r = c.request(method, f"/api/lessons/{path}", json={**lesson, "id": "x"})
                assert r.status_code in (404, 405, 422), (method, path, r.status_code)
            assert c.post(f"/api/lessons/{path}/launch").status_code in (404, 422), path
        for method in ("PUT", "DELETE"):  # an empty id: redirected to the list, which takes neither
            r = c.request(method, "/api/lessons/", json=lesson, follow_redirects=True)
            assert r.status_code == 405, method
    assert files_under(root) == before  # the server's log grows; nothing else was written


def test_launch_trains_the_lesson_and_the_experiment_remembers_it(server: Server):
    with server.client() as c:
        week3 = c.get("/api/lessons/week3").json()
        r = c.post("/api/lessons/week3/launch")
        assert r.status_code == 201, r.text
        experiment = r.json()
        assert experiment["spec"] == {**week3["spec"], "lesson": "week3"}
        assert c.get(f"/api/experiments/{experiment['id']}").json()["spec"]["lesson"] == "week3"
        assert wait_status(c, experiment["id"], {"done"})["step"] == 20

        panda = c.get("/api/lessons/panda").json()
        r = c.post("/api/lessons/panda/launch", json={"mode": "train"})
        assert r.status_code == 201 and r.json()["spec"] == {**panda["spec"], "lesson": "panda"}
        assert c.delete(f"/api/experiments/{r.json()['id']}").status_code == 204

        r = c.post("/api/lessons/panda/launch", json={"mode": "recording"})
        assert r.status_code == 409 and r.json()["detail"] == "this lesson has no recording"
        r = c.post("/api/lessons/bn-week3/launch")
        assert r.status_code == 422 and r.json() == {"detail": BROKEN_ERROR}
        assert c.post("/api/lessons/week9/launch").status_code == 404
        assert c.post("/api/lessons/week3/launch", json={"mode": "replay"}).status_code == 422
    assert "Traceback" not in server.log.read_text()


PREPARED = TINY.replace("steps = 20", "steps = 60\npace = 20").replace(
    'step = 10\nnote = "here"',
    'step = 25\nnote = "the band drifts"\n\n[[marks]]\nstep = 50\nnote = "and settles"',
)


def marks_as_dropped(msgs: list[dict]) -> list[tuple[int, int, str]]:
    """Each mark a viewer got live, as (its step, the step of the frame it came after, its note)."""
    assert msgs[0]["type"] == "hello" and msgs[0]["marks"] == [], "a mark was dropped before the viewer came"
    out, frame_step = [], 0
    for m in msgs:
        if m["type"] == "frame":
            frame_step = m["step"]
        elif m["type"] == "mark":
            out.append((m["step"], frame_step, m["note"]))
    return out


def test_a_lesson_s_marks_drop_when_its_run_reaches_their_steps(server: Server):
    """Launched as a lesson, or as a spec naming it (edited: 40 steps), the lesson's marks are dropped as the
    presenter's M drops them, each right after the first frame at or past its step (frames every 10)."""
    with server.client() as c:
        r = c.post(
            "/api/lessons", content='id = "prepared"\n' + PREPARED, headers={"Content-Type": "text/plain"}
        )
        assert r.status_code == 201, r.text
        lesson = r.json()
        launched = c.post("/api/lessons/prepared/launch", json={"mode": "train"}).json()["id"]
        with ExitStack() as sockets:  # the first before its first mark (1.5 s after it starts)
            ws1 = sockets.enter_context(connect(f"{server.ws_url}/ws/experiments/{launched}"))
            edited = {**lesson["spec"], "steps": 40, "lesson": "prepared"}
            posted = c.post("/api/experiments", json=edited).json()["id"]
            ws2 = sockets.enter_context(connect(f"{server.ws_url}/ws/experiments/{posted}"))
            assert marks_as_dropped(messages_until(ws1, _ended)) == [
                (25, 30, "the band drifts"),
                (50, 50, "and settles"),
            ]
            assert marks_as_dropped(messages_until(ws2, _ended)) == [(25, 30, "the band drifts")]
        marks = c.get(f"/api/experiments/{launched}/marks").json()
        assert [(m["step"], m["note"]) for m in marks] == [(25, "the band drifts"), (50, "and settles")]
        assert [m["step"] for m in c.get(f"/api/experiments/{posted}/marks").json()] == [25]
        assert c.get(f"/api/experiments/{launched}").json()["status"] == "done"
        assert c.delete("/api/lessons/prepared").status_code == 204


def test_openapi_documents_the_lesson_routes(server: Server):
    with server.client(None) as c:
        doc = c.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths["/api/lessons"]) == {"get", "post"}
    assert set(paths["/api/lessons/{lesson_id}"]) == {"get", "put", "delete"}
    assert (
        "get" in paths["/api/lessons/{lesson_id}/file"] and "post" in paths["/api/lessons/{lesson_id}/launch"]
    )
    body = paths["/api/lessons"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/toml", "text/plain"}
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/Lesson"}
    assert {"Lesson", "LessonInfo", "LessonLaunch", "Preset"} <= set(doc["components"]["schemas"])
    lesson_pattern = doc["components"]["schemas"]["ExperimentSpec"]["properties"]["lesson"]["anyOf"][0]
    assert lesson_pattern == {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}
    declared = {
        (path, method): set(op["responses"]) for path, ops in paths.items() for method, op in ops.items()
    }
    one = "/api/lessons/{lesson_id}"
    assert declared[("/api/lessons", "post")] == {"201", "401", "403", "409", "413", "415", "422"}
    assert declared[(one, "get")] == {"200", "404", "422"}
    assert declared[(one, "put")] == {"200", "401", "403", "404", "409", "413", "415", "422"}
    assert declared[(one, "delete")] == {"204", "401", "403", "404", "409", "422"}
    assert declared[(one + "/file", "get")] == {"200", "404", "409", "422"}
    assert declared[(one + "/launch", "post")] == {
        "201",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "422",
        "429",
        "507",
    }
