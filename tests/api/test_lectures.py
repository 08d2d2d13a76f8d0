"""Lectures over REST: built-in and own lecture files listed (a broken one with its errors, never stopping
the server), a lesson launched as part of a lecture carries it, and a launch names only a lecture it is in."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, start
from tests.unit.lessons.test_lectures import SEEDS

TINY_LESSON = """title = "Tiny {n}"
summary = "Watch the band, {n}."

[view]
layer = "hidden2"

[spec]
name = "tiny {n}"
steps = 40
batch_size = 32
model = {{ hidden = [16, 12], activation = "tanh" }}
variants = [{{ label = "plain" }}, {{ label = "BN", norm = "batch" }}]
probe = {{ every = 10, bins = 16, eval_every = 2 }}
"""
LECTURE = 'title = "Three tiny lessons"\nlessons = ["tiny-1", "tiny-2", "tiny-3"]\n'


def tiny_course(data: Path, course: Path | None = None) -> None:
    """Three tiny own lessons and a lecture of them in a data dir; a broken lecture in a course folder."""
    (data / "lessons").mkdir(parents=True, exist_ok=True)
    (data / "lectures").mkdir(parents=True, exist_ok=True)
    for n in (1, 2, 3):
        (data / "lessons" / f"tiny-{n}.toml").write_text(TINY_LESSON.format(n=n))
    (data / "lectures" / "tiny.toml").write_text(LECTURE)
    if course is not None:
        (course / "lectures").mkdir(parents=True)
        (course / "lectures" / "broken.toml").write_text('title = ""\nlessons = ["tiny-1", "nope", 3]\n')
        (course / "lectures" / "gone.toml").write_text('title = "Gone"\nlessons = ["tiny-1", "missing"]\n')
        (course / "lectures" / "batch-norm.toml").write_text('title = "Mine"\nlessons = ["tiny-1"]\n')


@pytest.fixture(scope="module")
def course_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("lectures")
    tiny_course(root / "data", root / "course")
    s = start(root / "data", NORMSCOPE_LESSONS_PATH=str(root / "course"))
    yield s
    s.stop()


def test_lectures_are_listed_builtin_first_and_broken_ones_say_why(course_server: Server):
    with course_server.client(token=None) as c:
        every = c.get("/api/lectures").json()
        listed = {e["id"]: e for e in reversed(every)}  # an id's first file
        builtin = listed["batch-norm"]
        assert builtin["source"] == "builtin" and builtin["errors"] == []
        assert builtin["lessons"][:7] == SEEDS
        assert listed["tiny"] == {
            "id": "tiny",
            "title": "Three tiny lessons",
            "lessons": ["tiny-1", "tiny-2", "tiny-3"],
            "source": "own",
            "errors": [],
        }
        broken = listed["broken"]
        assert broken["title"] is None and broken["lessons"] is None and broken["source"] == "own"
        assert (
            "course/lectures/broken.toml: title: String should have at least 1 character" in broken["errors"]
        )
        assert any(e.startswith("course/lectures/broken.toml: lessons[2]: ") for e in broken["errors"])
        assert listed["gone"]["errors"] == ["course/lectures/gone.toml: lessons[1]: no lesson 'missing'"]
        assert c.get("/api/lectures/gone").json() == listed["gone"]
        assert c.get("/api/lectures/nothing").status_code == 404
        assert c.get("/api/lectures/Bad.Id").status_code == 422
        # the second file of an id is listed after the first, broken by it
        assert [e["id"] for e in every].count("batch-norm") == 2 and every[0]["id"] == "batch-norm"
        (mine,) = [e for e in every[1:] if e["id"] == "batch-norm"]
        assert mine["errors"] == [
            "course/lectures/batch-norm.toml: id: 'batch-norm' is a built-in lecture's; "
            "an own lecture needs another"
        ]


def test_a_lesson_launched_in_a_lecture_carries_it_and_must_belong_to_it(course_server: Server):
    with course_server.client() as c:
        r = c.post("/api/lessons/tiny-2/launch", json={"lecture": "tiny"})
        assert r.status_code == 201, r.text
        spec = r.json()["spec"]
        assert (spec["lesson"], spec["lecture"]) == ("tiny-2", "tiny")
        alone = c.post("/api/lessons/tiny-3/launch").json()["spec"]
        assert (alone["lesson"], alone["lecture"]) == ("tiny-3", None)
        before = len(c.get("/api/experiments").json())
        for lecture, words in [
            ("batch-norm", "the lesson 'tiny-1' is not in the lecture 'batch-norm'"),
            ("nothing", "no lecture 'nothing'"),
            (
                "gone",
                "the lecture does not validate: course/lectures/gone.toml: lessons[1]: no lesson 'missing'",
            ),
        ]:
            r = c.post("/api/lessons/tiny-1/launch", json={"lecture": lecture})
            assert r.status_code == 422, r.text
            (error,) = r.json()["detail"]
            assert error["loc"] == ["body", "lecture"] and error["msg"] == words
        r = c.post("/api/lessons/tiny-1/launch", json={"lecture": "../x"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "lecture"]
        assert len(c.get("/api/experiments").json()) == before, "a refused launch launched nothing"
