"""Lecture files: the built-in lecture follows the built-in lessons in the course's order; a lecture's errors
name the file and the field, including a lesson it names that is missing or broken."""

from pathlib import Path

from normscope.lessons import Lectures, Lessons
from normscope.lessons.lecture import Lecture, builtin_lectures

SEEDS = [
    "normalize-inputs",
    "ioffe-szegedy",
    "bigger-lr",
    "before-after",
    "train-vs-eval",
    "landscape",
    "search-grid",
]


def test_the_builtin_lecture_follows_the_seeds_order_and_every_lesson_is_there(tmp_path: Path):
    (entry,) = builtin_lectures()
    assert entry.id == "batch-norm" and entry.errors == ()
    assert entry.lecture is not None and entry.lecture.lessons[:7] == SEEDS
    assert entry.lecture.lessons[7:] == ["search-random"]
    listed = Lectures(Lessons(tmp_path / "lessons"), tmp_path / "lectures").entries()
    assert [(e.id, e.errors) for e in listed] == [("batch-norm", ())], "its lessons all validate"
    assert entry.lecture.position("bigger-lr") == 3 and entry.lecture.position("panda") is None


def test_a_lecture_s_errors_name_its_file_and_field(tmp_path: Path):
    own = tmp_path / "data" / "lectures"
    own.mkdir(parents=True)
    (tmp_path / "data" / "lessons").mkdir()
    (tmp_path / "data" / "lessons" / "broken.toml").write_text('title = "no spec"\n')
    files = {
        "twice.toml": 'title = "T"\nlessons = ["bigger-lr", "landscape", "bigger-lr"]',
        "empty.toml": 'title = "T"\nlessons = []',
        "typo.toml": 'title = "T"\nlesons = ["bigger-lr"]',
        "refs.toml": 'title = "T"\nlessons = ["bigger-lr", "missing", "broken"]',
        "named.toml": 'id = "other"\ntitle = "T"\nlessons = ["bigger-lr"]',
        "toml.toml": "title = ",
    }
    for name, text in files.items():
        (own / name).write_text(text)
    lectures = Lectures(Lessons(tmp_path / "data" / "lessons"), own)
    errors = {e.id: list(e.errors) for e in lectures.entries() if e.source == "own"}
    assert errors["twice"] == ["lectures/twice.toml: lessons: each lesson once: bigger-lr more than once"]
    assert errors["empty"] == [
        "lectures/empty.toml: lessons: List should have at least 1 item after validation, not 0"
    ]
    assert errors["typo"] == [
        "lectures/typo.toml: lessons: Field required",
        "lectures/typo.toml: lesons: Extra inputs are not permitted",
    ]
    assert errors["refs"] == [
        "lectures/refs.toml: lessons[1]: no lesson 'missing'",
        "lectures/refs.toml: lessons[2]: the lesson 'broken' does not validate (lessons/broken.toml)",
    ]
    assert errors["named"] == ["lectures/named.toml: id: 'other' is not the file's name, named.toml"]
    assert errors["toml"][0].startswith("lectures/toml.toml: not TOML: ")
    assert Lecture(id="x", title="T", lessons=["a", "b"]).position("b") == 2
