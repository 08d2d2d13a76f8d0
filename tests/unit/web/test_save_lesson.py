"""The pure helpers behind Save as lesson, run by node on the page's own modules and held to the server's
own rules: the layer names a model makes, the id a title gives, the Lesson the dialog posts, the refusal."""

import json
import re
import shutil
import subprocess

import pytest

from normscope.assets import web_dir
from normscope.lessons import Lesson
from normscope.schemas.spec import LESSON_ID, ModelSpec

LIB = web_dir() / "lib"


def run_js(body: str) -> object:
    """The body's `out`, computed by node with the page's modules imported."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: `make test` installs Debian's nodejs (scripts/install-system-deps.sh)")
    script = (
        f'import {{ layerNames }} from "{(LIB / "layer_names.js").as_uri()}";\n'
        f'import * as save from "{(LIB / "save_lesson.js").as_uri()}";\n'
        f"{body}\nconsole.log(JSON.stringify(out));"
    )
    run = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


MODELS = [
    {},
    {"hidden": [16, 12]},
    {"kind": "cnn", "hidden": [8, 8, 8, 8]},
    {"kind": "vgg"},
    *({"kind": "vgg", "depth": d} for d in (11, 13, 16)),
    {"kind": "resnet"},
    *({"kind": "resnet", "depth": d} for d in (20, 32, 44, 56)),
]


def test_layer_names_are_the_server_s_for_every_kind_of_model():
    got = run_js(f"const out = {json.dumps(MODELS)}.map((m) => layerNames(m));")
    assert got == [ModelSpec.model_validate(m).layer_names for m in MODELS]


TITLES = [
    "Ioffe & Szegedy, Figure 1: BN vs plain",
    "  Été à Paris!  ",
    "---",
    "x" * 30 + " " + "y" * 40,
    "Week 3 — the band drifts (edited)",
]


def test_a_title_gives_an_id_the_server_takes():
    ids = run_js(f"const out = {json.dumps(TITLES)}.map(save.slug);")
    assert ids[:2] == ["ioffe-szegedy-figure-1-bn-vs-plain", "ete-a-paris"]
    assert ids[2] == ""  # nothing to make an id of: the dialog's required field says so
    assert ids[3] == "x" * 30 + "-" + "y" * 33 and len(ids[3]) == 64
    assert ids[4] == "week-3-the-band-drifts-edited"
    assert all(re.fullmatch(LESSON_ID, i) for i in ids if i)


def test_the_posted_lesson_validates_and_keeps_the_spec_view_and_marks():
    spec = {
        "name": "mine",
        "steps": 60,
        "model": {"hidden": [16, 12]},
        "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
        "lesson": "panda",
    }
    marks = [{"id": 3, "step": 0, "note": "start"}, {"id": 4, "step": 25, "note": "drift", "created_at": "x"}]
    body = run_js(
        "const out = ["
        f'save.lessonBody({{ id: "mine", title: "Mine", summary: "Look.", spec: {json.dumps(spec)}, '
        f'view: {{ layer: "hidden2", tap: "act", chart: "heatmap" }}, marks: {json.dumps(marks)} }}),'
        f'save.lessonBody({{ id: "all", title: "All", summary: "Look.", spec: {json.dumps(spec)}, '
        'view: { layer: "output", tap: "normed", chart: null } }),'
        "];"
    )
    mine = Lesson.model_validate(body[0])
    assert "lesson" not in body[0]["spec"]  # the launch names the new lesson
    assert (
        mine.spec.model_dump()
        == Lesson.model_validate({**body[0], "spec": spec})
        .spec.model_copy(update={"lesson": None})
        .model_dump()
    )
    assert mine.view.model_dump() == {"layer": "hidden2", "tap": "act", "chart": "heatmap"}
    assert [m.model_dump() for m in mine.marks] == [{"step": 25, "note": "drift"}]  # step 0 is no lesson's
    every_chart = Lesson.model_validate(body[1])
    assert every_chart.view.chart == "bands" and every_chart.marks == []


def test_a_refusal_reads_field_by_field():
    detail = [
        {"loc": ["body", "spec", "variants", 0, "lr"], "msg": "Input should be greater than 0"},
        {"loc": ["body", "id"], "msg": "String should match pattern"},
        {"loc": ["body"], "msg": "not TOML"},
    ]
    out = run_js(
        f"const out = [save.refusal({json.dumps(detail)}), save.refusal('a lesson \\'x\\' exists already')];"
    )
    assert out == [
        "spec.variants[0].lr: Input should be greater than 0\n"
        "id: String should match pattern\n"
        "lesson: not TOML",
        "a lesson 'x' exists already",
    ]


def test_the_dialog_says_what_it_keeps_besides_its_fields():
    out = run_js(
        "const out = ["
        'save.keeps({ tap: "normed", chart: null }, []),'
        'save.keeps({ tap: "act", chart: "loss" }, [{ step: 0, note: "" }, { step: 25, note: "drift" }, '
        '{ step: 50, note: "" }]),'
        "];"
    )
    assert out == [
        "opens on the normed tap and the bands chart; no marks",
        "opens on the act tap and the loss chart; marks: step 25 “drift”, step 50",
    ]
