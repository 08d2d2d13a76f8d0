"""A recording read as the untrusted file it is: streaming, within bounds, every line checked."""

import gzip
import json
import os
from pathlib import Path

import pytest

from normscope.schemas import ExperimentSpec, Frame, LayerInfo, RunFrame
from normscope.store.recordings import MAX_LINE_BYTES, Head, RecordingRefused, read_head, read_recording
from tests.api.conftest import tiny_spec

SPEC = ExperimentSpec.model_validate(tiny_spec(steps=30))
LAYERS = [LayerInfo(name="hidden1", taps=["preact"], edges={"preact": [float(i) for i in range(9)]})]


def lines(frames: int = 3) -> list[str]:
    out = [
        json.dumps({"type": "experiment", "spec": SPEC.model_dump(mode="json")}),
        json.dumps({"type": "layers", "layers": [li.model_dump() for li in LAYERS]}),
    ]
    for k in range(1, frames + 1):
        runs = [RunFrame(index=i, loss=[1.0] * 10, train_acc=None, layers=[]) for i in range(2)]
        out.append(Frame(step=10 * k, prev_step=10 * (k - 1), elapsed=0.1 * k, runs=runs).model_dump_json())
    return out


def write(path: Path, text: str | bytes) -> Path:
    with gzip.open(path, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    return path


def refusal(path: Path, max_bytes: int = 2**30) -> str:
    with pytest.raises(RecordingRefused) as e:
        list(read_recording(path, max_bytes))
    return str(e.value)


def test_a_recording_reads_as_its_head_then_its_frames(tmp_path: Path):
    items = list(read_recording(write(tmp_path / "r.jsonl.gz", "\n".join(lines()) + "\n")))
    head, *frames = items
    assert isinstance(head, Head) and head.spec == SPEC and head.layers == LAYERS
    assert [f.step for f in frames if isinstance(f, Frame)] == [10, 20, 30]
    assert read_head(tmp_path / "r.jsonl.gz").spec == SPEC


def test_a_gzip_bomb_is_refused_before_it_inflates(tmp_path: Path):
    """A line longer than the bound, and blank lines past the inflated bound: neither is held whole."""
    one_line = write(tmp_path / "line.gz", b"0" * (MAX_LINE_BYTES + 10))
    assert os.path.getsize(one_line) < 100_000
    assert refusal(one_line) == f"line 1 is longer than {MAX_LINE_BYTES:,} bytes, the most a line may be"
    blanks = write(tmp_path / "blanks.gz", "\n".join(lines()) + "\n" * 3_000_000)
    assert refusal(blanks, max_bytes=2**20).startswith(f"inflates past {2**20:,} bytes")
    with pytest.raises(RecordingRefused, match="inflates past"):
        read_head(write(tmp_path / "first.gz", "\n" * 3_000_000), max_bytes=2**20)


def test_a_line_that_does_not_validate_is_refused_with_its_number(tmp_path: Path):
    broken = lines()
    frame = json.loads(broken[3])
    frame["runs"][0]["loss"] = "low"
    broken[3] = json.dumps(frame)
    assert refusal(write(tmp_path / "r.gz", "\n".join(broken))) == (
        "line 4: runs.0.loss: Input should be a valid list"
    )
    assert refusal(write(tmp_path / "n.gz", "\n".join([*lines(), "{not json"]))).startswith(
        "line 6: not a normscope line: JSONDecodeError"
    )


def test_order_steps_and_the_head_are_checked(tmp_path: Path):
    head, layers, f1, f2, f3 = lines()
    assert refusal(write(tmp_path / "a.gz", "\n".join([head, f1, layers]))) == (
        "line 2: a frame before the experiment and layers lines"
    )
    assert refusal(write(tmp_path / "b.gz", "\n".join([head, layers, f2, f1]))) == (
        "line 4: step 10 does not come after 20"
    )
    past = json.loads(f3) | {"step": 40}
    assert refusal(write(tmp_path / "c.gz", "\n".join([head, layers, json.dumps(past)]))) == (
        "line 3: step 40 is past the spec's 30 steps"
    )
    assert refusal(write(tmp_path / "d.gz", "\n".join([head, layers]))) == "no frames"


def test_only_a_regular_gzip_file_is_read(tmp_path: Path):
    real = write(tmp_path / "real.gz", "\n".join(lines()))
    (tmp_path / "link.gz").symlink_to(real)
    assert refusal(tmp_path / "link.gz") == "link.gz: cannot be read: a symbolic link"
    os.mkfifo(tmp_path / "fifo.gz")
    assert refusal(tmp_path / "fifo.gz") == "fifo.gz: not a regular file"
    assert "No such file" in refusal(tmp_path / "none.gz")
    (tmp_path / "plain.gz").write_text("\n".join(lines()))
    assert refusal(tmp_path / "plain.gz").startswith("line 1: not a whole gzip file")
    (tmp_path / "cut.gz").write_bytes(real.read_bytes()[:-40])
    assert "not a whole gzip file" in refusal(tmp_path / "cut.gz")
