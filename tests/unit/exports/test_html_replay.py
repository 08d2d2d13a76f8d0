"""The HTML export: self-contained markup, payloads that unpack to Plotly.js and the experiment's data."""

import base64
import json
import re
import zlib
from pathlib import Path

import pytest

from normscope.assets import plotly_js
from normscope.exports import html_replay
from normscope.exports.html_replay import GzipBase64, html_chunks
from normscope.lessons import builtin_lesson
from tests.unit.exports.conftest import Stored


def unpack(b64: str) -> bytes:
    return zlib.decompress(base64.b64decode(b64), wbits=31)


@pytest.fixture(scope="module")
def exported(stored: Stored) -> str:
    return b"".join(html_chunks(stored.store, stored.experiment)).decode()


def script(page: str, element_id: str) -> str:
    match = re.search(rf'<script [^>]*id="{element_id}">(.*?)</script>', page, re.S)
    assert match, element_id
    return match.group(1)


def test_nothing_is_loaded_from_anywhere(exported: str):
    tags = re.findall(r"<(?:script|link|img)\b[^>]*>", exported)
    assert not [t for t in tags if re.search(r'(src|href)="(?!data:)', t)], tags
    assert "<style>" in exported and "/static/" not in exported.split('id="normscope-plotly"')[0]


def test_the_payloads_are_plotly_and_the_experiment(exported: str, stored: Stored):
    assert unpack(script(exported, "normscope-plotly")) == plotly_js().read_bytes()
    data = json.loads(unpack(script(exported, "normscope-data")))
    assert data["experiment"]["id"] == stored.experiment.id and data["experiment"]["status"] == "cancelled"
    assert [m["note"] for m in data["marks"]] == ["the plain band drifts", "BN steady"]
    assert data["folds"] and data["layers"][0]["name"] == "hidden1"
    assert [f["step"] for f in data["frames"]] == [f.step for f in stored.frames]
    assert data["preset"] is None  # not launched from a preset


def test_long_runs_are_thinned(stored: Stored, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(html_replay, "MAX_HTML_FRAMES", 3)
    page = b"".join(html_chunks(stored.store, stored.experiment)).decode()
    frames = json.loads(unpack(script(page, "normscope-data")))["frames"]
    assert len(frames) == 3 and frames[-1]["step"] == stored.frames[-1].step
    assert sum(len(f["runs"][0]["loss"]) for f in frames) == stored.frames[-1].step


def test_gzip_base64_fed_in_pieces_decodes_whole():
    data = bytes(range(256)) * 1000
    packer = GzipBase64()
    pieces = [packer.feed(data[i : i + 777]) for i in range(0, len(data), 777)] + [packer.finish()]
    assert all(len(p) % 4 == 0 for p in pieces)  # each piece whole base64: they join
    assert unpack(b"".join(pieces).decode()) == data


def test_a_changed_page_template_is_an_error_not_a_broken_export(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(html_replay.LIVE_ONLY, '<script src="/vendor/missing.js"></script>', "")
    with pytest.raises(RuntimeError, match=r"experiment\.html changed"):
        html_replay.page_parts()


def test_a_run_from_before_spec_lesson_brings_its_lesson_by_the_spec_s_name(stored: Stored):
    lesson = builtin_lesson("ioffe-szegedy")
    experiment = stored.experiment.model_copy(update={"spec": lesson.spec})
    assert html_replay.preset_of(experiment) == {
        "id": lesson.id,
        "title": lesson.title,
        "summary": lesson.summary,
        "view": lesson.view.model_dump(mode="json"),
    }


def test_a_run_launched_from_a_lesson_brings_that_lesson(
    stored: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NORMSCOPE_DATA_DIR", str(tmp_path))
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "week3.toml").write_text('title = "Week 3"\nsummary = "Look."\n[spec]\n')
    named_like_ioffe = builtin_lesson("ioffe-szegedy").spec
    experiment = stored.experiment.model_copy(
        update={"spec": named_like_ioffe.model_copy(update={"lesson": "week3"})}
    )
    assert html_replay.preset_of(experiment) == {
        "id": "week3",
        "title": "Week 3",
        "summary": "Look.",
        "view": {"layer": "hidden3", "tap": "normed", "chart": "bands"},
    }
    gone = stored.experiment.model_copy(
        update={"spec": named_like_ioffe.model_copy(update={"lesson": "gone"})}
    )
    assert html_replay.preset_of(gone) is None  # the name alone is for runs from before spec.lesson
