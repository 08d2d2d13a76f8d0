"""Lesson files on disk: the built-in ones, own ones, broken ones (each error in the words the API and the CLI
repeat), the size limit, ids held twice, and writes that stay inside the own folder."""

import os
from pathlib import Path

import pytest

from normscope.config import Settings
from normscope.lessons import MAX_LESSON_BYTES, LessonConflict, Lessons, builtin_lesson, read, to_toml
from normscope.lessons.catalogue import BUILTIN_DIR, BUILTIN_ORDER, builtins

GOOD = '''# a comment the file keeps
title = "BN in week 3"
summary = """
What to look for: the band.

A second paragraph."""

[view]
layer = "hidden2"

[spec]
name = "week 3"
steps = 200
model = { hidden = [32, 32] }

[[marks]]
step = 100
note = "here it drifts"
'''


@pytest.fixture
def own(tmp_path: Path) -> Lessons:
    return Lessons(tmp_path / "data" / "lessons", [tmp_path / "course"])


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_every_builtin_lesson_is_valid_in_the_courses_order():
    entries = builtins()
    assert [e.id for e in entries] == list(BUILTIN_ORDER)
    assert {p.stem for p in BUILTIN_DIR.glob("*.toml")} == set(BUILTIN_ORDER)
    assert all(e.errors == () and e.source == "builtin" for e in entries), [e.errors for e in entries]


def test_builtin_specs_are_the_ones_the_lessons_were_written_with():
    """Pinned against the Python literal the files were made from."""
    ioffe = builtin_lesson("ioffe-szegedy").spec
    assert (ioffe.dataset.name, ioffe.model.hidden, ioffe.model.init, ioffe.model.init_std) == (
        "digits",
        [100, 100, 100],
        "gaussian",
        0.06,
    )
    assert (ioffe.optimizer.lr, ioffe.batch_size, ioffe.steps, ioffe.probe.every, ioffe.probe.eval_every) == (
        0.5,
        60,
        3000,
        10,
        5,
    )
    assert [(v.label, v.norm) for v in ioffe.variants] == [("plain", "none"), ("BN", "batch")]
    assert builtin_lesson("ioffe-szegedy").view.model_dump() == {
        "layer": "hidden3",
        "tap": "normed",
        "chart": "bands",
    }
    grid = builtin_lesson("search-grid").spec
    assert len(grid.variants) == 25 and sorted({v.lr for v in grid.variants}) == [0.001, 0.01, 0.1, 1.0, 10.0]
    assert [v.lr for v in builtin_lesson("bigger-lr").spec.variants] == [None, None, 3.0, 3.0]
    panda = builtin_lesson("panda")
    assert panda.spec.pace == 20 and panda.view.model_dump() == {
        "layer": "hidden4",
        "tap": "act",
        "chart": "accuracy",
    }
    resnet = builtin_lesson("cifar-resnet56").spec
    assert (resnet.model.kind, resnet.model.depth, resnet.precision, resnet.optimizer.weight_decay) == (
        "resnet",
        56,
        "bf16",
        1e-4,
    )
    assert [v.bn_momentum for v in builtin_lesson("train-vs-eval").spec.variants] == [0.01, 0.1, 0.5]
    assert builtin_lesson("deep-sigmoid").summary.startswith(
        "Five sigmoid layers with the standard init, with Xavier"
    )
    assert "\n" not in builtin_lesson("deep-sigmoid").summary  # lines folded in the file only


def test_a_lesson_written_out_reads_back_equal(tmp_path: Path):
    for entry in builtins():
        assert entry.lesson is not None
        path = write(tmp_path, f"{entry.id}.toml", to_toml(entry.lesson))
        assert read(path, "own", path.name).lesson == entry.lesson, entry.id
    sweep = to_toml(builtin_lesson("lr-sweep"))
    assert "variants" not in sweep and "[spec.sweep]" in sweep  # the sweep makes them


def test_own_lessons_from_the_data_dir_and_the_lessons_path(own: Lessons, tmp_path: Path):
    write(tmp_path / "data" / "lessons", "bn-week3.toml", GOOD)
    write(tmp_path / "course", "week4.toml", GOOD.replace("week 3", "week 4"))
    write(tmp_path / "course", "notes.md", "not a lesson")
    entries = own.entries()
    assert [(e.id, e.source) for e in entries[len(BUILTIN_ORDER) :]] == [
        ("bn-week3", "own"),
        ("week4", "own"),
    ]
    week3 = own.get("bn-week3")
    assert week3 is not None and week3.lesson is not None and week3.text == GOOD
    assert week3.lesson.summary == "What to look for: the band.\n\nA second paragraph."
    assert week3.lesson.marks[0].note == "here it drifts" and week3.lesson.view.layer == "hidden2"
    info = week3.info()
    assert (info.id, info.source, info.errors, info.spec) == ("bn-week3", "own", [], week3.lesson.spec)
    assert [lesson.id for lesson in own.lessons()][-2:] == ["bn-week3", "week4"]


def test_the_settings_name_the_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NORMSCOPE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NORMSCOPE_LESSONS_PATH", f"{tmp_path / 'a'}::{tmp_path / 'b'}")
    lessons = Lessons.from_settings(Settings())
    assert lessons.folders == [tmp_path / "data" / "lessons", tmp_path / "a", tmp_path / "b"]
    assert Lessons(tmp_path / "x", [tmp_path / "x", tmp_path / "y" / ".." / "x"]).folders == [tmp_path / "x"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            GOOD.replace('name = "week 3"', 'name = "week 3"\noptimizer = { lr = -0.1 }'),
            "lessons/bn-week3.toml: spec.optimizer.lr: Input should be greater than 0",
        ),
        (
            GOOD.replace("model = {", "modle = {"),
            "lessons/bn-week3.toml: spec.modle: Extra inputs are not permitted",
        ),
        (
            GOOD.replace("steps = 200", "steps = 50"),
            "lessons/bn-week3.toml: marks: mark 1 at step 100 is past the last step, 50",
        ),
        (
            GOOD.replace('title = "BN in week 3"', "title = BN in week 3"),
            "lessons/bn-week3.toml: not TOML: Invalid value (at line 2, column 9)",
        ),
        (
            'id = "bn-week4"\n' + GOOD,
            "lessons/bn-week3.toml: id: 'bn-week4' is not the file's name, bn-week3.toml",
        ),
        ("", "lessons/bn-week3.toml: title: Field required"),
    ],
    ids=["bad-value", "unknown-field", "mark-past-the-end", "not-toml", "other-id", "empty"],
)
def test_a_broken_file_is_listed_with_what_is_wrong(own: Lessons, tmp_path: Path, text: str, error: str):
    write(tmp_path / "data" / "lessons", "bn-week3.toml", text)
    entry = own.get("bn-week3")
    assert entry is not None and entry.lesson is None and entry.source == "own"
    assert entry.errors[0] == error
    info = entry.info()
    assert info.id == "bn-week3" and info.title is None and info.spec is None and info.errors[0] == error
    assert "bn-week3" not in [lesson.id for lesson in own.lessons()]


def test_every_error_of_a_file_is_listed(tmp_path: Path):
    path = write(tmp_path / "lessons", "x.toml", 'title = ""\n[spec]\nsteps = 0\nbatch_size = "60"\n')
    assert read(path, "own", "lessons/x.toml").errors == (
        "lessons/x.toml: title: String should have at least 1 character",
        "lessons/x.toml: summary: Field required",
        "lessons/x.toml: spec.batch_size: Input should be a valid integer",
        "lessons/x.toml: spec.steps: Input should be greater than or equal to 1",
    )


def test_a_file_not_in_utf8_is_an_error(own: Lessons, tmp_path: Path):
    (tmp_path / "data" / "lessons").mkdir(parents=True)
    (tmp_path / "data" / "lessons" / "latin.toml").write_bytes('title = "Caf\xe9"'.encode("latin-1"))
    entry = own.get("latin")
    assert (
        entry is not None and entry.errors == ("lessons/latin.toml: not UTF-8 text",) and entry.text is None
    )


def test_a_file_over_256_kb_is_not_read(own: Lessons, tmp_path: Path):
    at_limit = GOOD + "#" * (MAX_LESSON_BYTES - len(GOOD.encode()) - 1) + "\n"
    assert len(at_limit.encode()) == MAX_LESSON_BYTES
    write(tmp_path / "data" / "lessons", "big.toml", at_limit)
    assert own.get("big").errors == ()  # type: ignore[union-attr]
    write(tmp_path / "data" / "lessons", "big.toml", at_limit + "\n")
    entry = own.get("big")
    assert entry is not None and entry.text is None
    assert entry.errors == ("lessons/big.toml: larger than 256 KB, the most a lesson file may be; not read",)


def test_an_own_lesson_may_not_take_a_builtins_id_nor_one_held_before_it(own: Lessons, tmp_path: Path):
    write(tmp_path / "data" / "lessons", "panda.toml", GOOD)
    write(tmp_path / "data" / "lessons", "week.toml", GOOD)
    write(tmp_path / "course", "week.toml", GOOD.replace("BN in week 3", "the course's"))
    panda = [e for e in own.entries() if e.id == "panda"]
    assert [(e.source, e.errors) for e in panda] == [
        ("builtin", ()),
        ("own", ("lessons/panda.toml: id: 'panda' is a built-in lesson's; an own lesson needs another",)),
    ]
    assert own.get("panda") is panda[0]
    week = [e for e in own.entries() if e.id == "week"]
    assert [e.errors for e in week] == [(), ("course/week.toml: id: 'week' is taken by lessons/week.toml",)]
    assert own.get("week").lesson.title == "BN in week 3"  # type: ignore[union-attr]


def test_add_replace_and_delete_write_only_the_own_folder(own: Lessons, tmp_path: Path):
    folder = tmp_path / "data" / "lessons"
    lesson = read(write(tmp_path, "week3.toml", GOOD), "own", "week3.toml").lesson
    assert lesson is not None
    own.add(lesson)
    assert own.get("week3").lesson == lesson  # type: ignore[union-attr]
    with pytest.raises(LessonConflict, match=r"a lesson 'week3' exists already \(lessons/week3.toml\)"):
        own.add(lesson)
    with pytest.raises(LessonConflict, match=r"a lesson 'panda' exists already \(lessons/panda.toml\)"):
        own.add(lesson.model_copy(update={"id": "panda"}))
    kept = 'id = "week3"\n' + GOOD.replace("BN in week 3", "changed")
    own.replace(lesson.model_copy(update={"title": "changed"}), kept)
    assert (folder / "week3.toml").read_text() == kept  # the sent text, comments and all
    assert sorted(os.listdir(folder)) == ["week3.toml"]  # no temporary file left
    own.delete("week3")
    assert os.listdir(folder) == [] and own.get("week3") is None
    with pytest.raises(KeyError):
        own.delete("week3")


def test_builtin_and_lessons_path_lessons_are_not_changed_here(own: Lessons, tmp_path: Path):
    write(tmp_path / "course", "week4.toml", GOOD)
    panda, week4 = builtin_lesson("panda"), own.get("week4").lesson  # type: ignore[union-attr]
    with pytest.raises(
        LessonConflict, match=r"^built-in lessons cannot be changed; save a copy under another id$"
    ):
        own.replace(panda)
    with pytest.raises(LessonConflict, match=r"^built-in lessons cannot be deleted; save a copy$"):
        own.delete("panda")
    with pytest.raises(LessonConflict, match=r"course/week4\.toml comes from NORMSCOPE_LESSONS_PATH"):
        own.replace(week4)
    with pytest.raises(LessonConflict, match="NORMSCOPE_LESSONS_PATH"):
        own.delete("week4")
    with pytest.raises(KeyError):
        own.replace(week4.model_copy(update={"id": "nowhere"}))
    assert (tmp_path / "course" / "week4.toml").read_text() == GOOD and (BUILTIN_DIR / "panda.toml").is_file()


def test_check_reads_the_named_files_as_own_lessons(tmp_path: Path):
    good = write(tmp_path, "week3.toml", GOOD)
    clash = write(tmp_path, "panda.toml", GOOD)
    bad = write(tmp_path, "bad.toml", GOOD.replace("steps = 200", "steps = -1"))
    checked = Lessons.check([good, clash, bad])
    assert [e.errors for e in checked] == [
        (),
        (f"{clash}: id: 'panda' is a built-in lesson's; an own lesson needs another",),
        (f"{bad}: spec.steps: Input should be greater than or equal to 1",),
    ]


def test_the_readme_s_example_lesson_is_valid(tmp_path: Path):
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    example = readme.split("```toml\n# lessons/bn-week3.toml\n", 1)[1].split("```", 1)[0]
    entry = read(write(tmp_path, "bn-week3.toml", example), "own", "lessons/bn-week3.toml")
    assert entry.errors == () and entry.lesson is not None and entry.lesson.marks[0].step == 500
