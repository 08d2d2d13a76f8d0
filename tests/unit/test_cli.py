"""`normscope train` as a user runs it: exit codes, messages, and the JSON lines it writes."""

import json
import subprocess
import sys
from pathlib import Path

from normscope.schemas import Frame, LayerInfo
from tests.api.conftest import tiny_spec


def train(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "normscope", "train", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"NORMSCOPE_TORCH_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )


def test_writes_the_layers_line_then_one_frame_per_line(tmp_path: Path):
    spec, out = tmp_path / "spec.json", tmp_path / "frames.jsonl"
    spec.write_text(json.dumps(tiny_spec(steps=30)))
    r = train("--spec", str(spec), "--out", str(out), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "done at step 30 on cpu: plain=done, BN=done" in r.stderr
    first, *rest = out.read_text().splitlines()
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
    assert [json.loads(line).get("step") for line in out.read_text().splitlines()] == [None, 10, 20]


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
