"""`normscope train` as a user runs it: exit codes, messages, and the JSON lines it writes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from normscope.schemas import Frame, LayerInfo
from tests.api.conftest import tiny_spec


def env(**more: str) -> dict[str, str]:
    """A bare environment; PYTHONPATH kept, so a checkout put before an installed normscope stays first."""
    kept = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {"PATH": "/usr/bin:/bin", **kept, **more}


def train(*args: str, **more: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "normscope", "train", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env(NORMSCOPE_TORCH_THREADS="1", **more),
    )


def test_writes_the_layers_line_then_one_frame_per_line(tmp_path: Path):
    spec, out = tmp_path / "spec.json", tmp_path / "frames.jsonl"
    spec.write_text(json.dumps(tiny_spec(steps=30)))
    r = train("--spec", str(spec), "--out", str(out), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "done at step 30 on cpu: plain=done, BN=done" in r.stderr
    head, first, *rest = out.read_text().splitlines()
    assert json.loads(head)["type"] == "experiment"
    layout = json.loads(first)
    assert layout["type"] == "layers"
    assert [LayerInfo.model_validate(x).name for x in layout["layers"]] == ["hidden1", "hidden2", "output"]
    frames = [Frame.model_validate_json(line) for line in rest]
    assert [f.step for f in frames] == [10, 20, 30]
    assert [len(r.loss) for f in frames for r in f.runs] == [10] * 6


def test_a_preset_with_fewer_steps(tmp_path: Path):
    out = tmp_path / "frames.jsonl"
    r = train("--preset", "ioffe-szegedy", "--steps", "20", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line.get("step") for line in lines] == [None, None, 10, 20]
    assert lines[0]["spec"]["lesson"] == "ioffe-szegedy"  # the experiment remembers its lesson


def test_bad_input_exits_2_with_the_reason_and_no_traceback(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(tiny_spec(optimizer={"lr": -1})))
    missing = tmp_path / "idx.json"
    missing.write_text(json.dumps(tiny_spec(dataset={"name": "idx", "path": str(tmp_path / "nowhere")})))
    for args, says in [
        (("--preset", "no-such-lesson"), "no-such-lesson"),
        (("--spec", str(tmp_path / "absent.json")), "absent.json"),
        (("--spec", str(bad)), "optimizer.lr"),
        (("--spec", str(missing)), "not a folder"),
    ]:
        r = train(*args)
        assert r.returncode == 2 and says in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_the_progress_bar_keeps_each_variants_last_accuracy(tmp_path: Path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(tiny_spec(steps=60, probe={"every": 10, "bins": 16, "eval_every": 3})))
    r = subprocess.run(
        [sys.executable, "-m", "normscope", "train", "--spec", str(spec), "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"NORMSCOPE_TORCH_THREADS": "1", "PATH": "/usr/bin:/bin", "TQDM_MININTERVAL": "0"},
    )
    assert r.returncode == 0, r.stderr
    shown = [line for line in re.split(r"[\r\n]", r.stderr) if "plain:" in line]  # every update of the bar
    assert len(shown) >= 5, r.stderr
    first = next(i for i, p in enumerate(shown) if "plain:0." in p)
    assert shown[first:] and all("plain:-" not in p and "BN:-" not in p for p in shown[first:]), shown


def _aged_store(data: Path) -> dict[str, str]:
    from datetime import UTC, datetime, timedelta

    from normscope.schemas import ExperimentSpec
    from normscope.store import Store

    store = Store(data / "normscope.sqlite3")
    ids = {}
    for name, status, age in [
        ("old-done", "done", 40),
        ("old-running", "running", 40),
        ("new-done", "done", 1),
    ]:
        store.create(name, ExperimentSpec(name=name))
        store.set_status(name, status)
        store.add_frame(name, 10, 0, '{"type":"frame","step":10,"x":"' + "x" * 5000 + '"}')
        created = (datetime.now(UTC) - timedelta(days=age)).isoformat()
        store._db.execute("UPDATE experiments SET created_at = ? WHERE id = ?", (created, name))
        ids[name] = status
    store.close()
    return ids


def test_prune_deletes_only_finished_experiments_older_than_the_age(tmp_path: Path):
    from normscope.store import Store

    _aged_store(tmp_path)
    env = {"NORMSCOPE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    prune = [sys.executable, "-m", "normscope", "prune", "--older-than"]
    dry = subprocess.run([*prune, "30d", "--dry-run"], capture_output=True, text=True, env=env, timeout=60)
    assert (
        dry.returncode == 0
        and "would delete 1 finished experiment(s)" in dry.stdout
        and "old-done" in dry.stdout
    )
    r = subprocess.run([*prune, "30d"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "deleted 1 finished experiment(s) older than 30 days" in r.stdout, r.stdout
    store = Store(tmp_path / "normscope.sqlite3")
    assert {e.id for e in store.list_experiments()} == {"old-running", "new-done"}
    assert store.frames("old-done") == []
    store.close()
    bad = subprocess.run([*prune, "soon"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "'soon' is not an age like 30d" in bad.stderr


def test_a_download_shows_a_progress_bar_and_a_bad_file_is_a_clear_error(tmp_path: Path, file_server):
    file_server.files["lab/mnist/train-images-idx3-ubyte.gz"] = bytes(1_500_000)
    file_server.slow.add("lab/mnist/train-images-idx3-ubyte.gz")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(tiny_spec(dataset={"name": "mnist"})))
    r = subprocess.run(
        [sys.executable, "-m", "normscope", "train", "--spec", str(spec), "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "NORMSCOPE_TORCH_THREADS": "1",
            "NORMSCOPE_DATA_DIR": str(tmp_path / "data"),
            "NORMSCOPE_DATASET_MIRROR": file_server.url("lab"),
            "PATH": "/usr/bin:/bin",
        },
    )
    assert r.returncode == 2
    assert re.search(r"train-images-idx3-ubyte\.gz: +\d+%\|", r.stderr), r.stderr  # tqdm's bar, in bytes
    assert "checksum" in r.stderr and str(tmp_path / "data" / "datasets" / "mnist") in r.stderr
    assert "Traceback" not in r.stderr


GOOD_LESSON = 'title = "Week 3"\nsummary = "Look at the band."\n\n[spec]\nsteps = 40\n'
BAD_LR = GOOD_LESSON + "optimizer = { lr = -0.1 }\n"


def lessons(*args: str, cwd: Path, **more: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "normscope", "lessons", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env(**more),
    )


def test_lessons_list_and_show_the_builtin_own_and_broken_ones(tmp_path: Path):
    (tmp_path / "data" / "lessons").mkdir(parents=True)
    (tmp_path / "data" / "lessons" / "week3.toml").write_text(GOOD_LESSON)
    (tmp_path / "data" / "lessons" / "bn-week4.toml").write_text(BAD_LR)
    (tmp_path / "course").mkdir()
    (tmp_path / "course" / "week5.toml").write_text(GOOD_LESSON.replace("Week 3", "Week 5"))
    dirs = {"NORMSCOPE_DATA_DIR": str(tmp_path / "data"), "NORMSCOPE_LESSONS_PATH": str(tmp_path / "course")}
    r = lessons("list", cwd=tmp_path, **dirs)
    assert r.returncode == 0, r.stderr
    rows = [line.split(None, 2) for line in r.stdout.splitlines()]
    assert rows[0] == [
        "ioffe-szegedy",
        "builtin",
        "Ioffe & Szegedy, Figure 1: BN vs plain, 3x100 sigmoid MLP",
    ]
    assert rows[-3:] == [
        [
            "bn-week4",
            "own",
            "BROKEN: lessons/bn-week4.toml: spec.optimizer.lr: Input should be greater than 0",
        ],
        ["week3", "own", "Week 3"],
        ["week5", "own", "Week 5"],
    ]
    shown = lessons("show", "week3", cwd=tmp_path, **dirs)
    assert shown.returncode == 0 and shown.stdout == GOOD_LESSON
    assert lessons("show", "panda", cwd=tmp_path, **dirs).stdout.startswith('id = "panda"\n')
    unknown = lessons("show", "week9", cwd=tmp_path, **dirs)
    assert unknown.returncode == 2 and "no lesson 'week9'; known: ioffe-szegedy," in unknown.stderr
    broken = train("--preset", "bn-week4", **dirs)
    assert broken.returncode == 2 and broken.stderr == (
        "normscope train: lesson 'bn-week4' is broken:\n"
        "lessons/bn-week4.toml: spec.optimizer.lr: Input should be greater than 0\n"
    )


def test_lessons_check_exits_1_with_the_errors_the_server_lists_and_0_on_good_files(tmp_path: Path):
    from normscope.lessons import Lessons

    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "bn-week3.toml").write_text(BAD_LR)
    (folder / "panda.toml").write_text(GOOD_LESSON)
    (folder / "week3.toml").write_text(GOOD_LESSON)
    (folder / "notes.toml").write_text("title = \n")
    listed = [e.errors for e in Lessons(folder).entries() if e.source == "own"]
    r = lessons("check", "lessons/bn-week3.toml", "lessons/notes.toml", "lessons/panda.toml", cwd=tmp_path)
    assert r.returncode == 1
    assert (
        r.stdout.splitlines()
        == [error for errors in listed[:3] for error in errors]
        == [
            "lessons/bn-week3.toml: spec.optimizer.lr: Input should be greater than 0",
            "lessons/notes.toml: not TOML: Invalid value (at line 1, column 9)",
            "lessons/panda.toml: id: 'panda' is a built-in lesson's; an own lesson needs another",
        ]
    )
    assert r.stderr == "3 lesson file(s), 3 broken\n"
    good = lessons("check", "lessons/week3.toml", cwd=tmp_path)
    assert (good.returncode, good.stdout) == (0, "lessons/week3.toml: ok\n")
    whole = lessons("check", "lessons", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert whole.returncode == 1 and whole.stderr == "5 lesson file(s), 4 broken\n"
    assert "lessons/week3.toml: ok" in whole.stdout.splitlines()
    assert f"{tmp_path / 'missing.toml'}: cannot be read: No such file or directory" in whole.stdout


def test_lectures_list_show_and_check_as_the_server_reads_them(tmp_path: Path):
    (tmp_path / "data" / "lectures").mkdir(parents=True)
    (tmp_path / "data" / "lectures" / "week3.toml").write_text(
        'title = "Week 3"\nlessons = ["bigger-lr", "panda"]\n'
    )
    (tmp_path / "data" / "lectures" / "week4.toml").write_text(
        'title = "Week 4"\nlessons = ["bigger-lr", "nope"]\n'
    )
    dirs = {"NORMSCOPE_DATA_DIR": str(tmp_path / "data")}

    def lectures(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "normscope", "lectures", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env(**dirs))

    r = lectures("list")
    assert r.returncode == 0, r.stderr
    assert [line.split(None, 2) for line in r.stdout.splitlines()] == [
        ["batch-norm", "builtin", "Batch Normalization in one lecture (8 lessons)"],
        ["week3", "own", "Week 3 (2 lessons)"],
        ["week4", "own", "BROKEN: lectures/week4.toml: lessons[1]: no lesson 'nope'"],
    ]
    assert lectures("show", "week3").stdout == 'title = "Week 3"\nlessons = ["bigger-lr", "panda"]\n'
    unknown = lectures("show", "week9")
    assert unknown.returncode == 2 and "no lecture 'week9'; known: batch-norm, week3, week4" in unknown.stderr
    checked = lectures("check", "data/lectures")
    assert checked.returncode == 1 and checked.stdout.splitlines() == [
        "data/lectures/week3.toml: ok",
        "data/lectures/week4.toml: lessons[1]: no lesson 'nope'",
    ]
    assert checked.stderr == "2 lecture file(s), 1 broken\n"
    assert lectures("check", "data/lectures/week3.toml").returncode == 0
