"""The bundler makes the frontend's ES modules one classic script and refuses forms it cannot translate."""

import shutil
import subprocess
from pathlib import Path

import pytest

from normscope.assets import web_dir
from normscope.exports.bundle import BundleError, bundle


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_modules_become_scopes_in_dependency_order(tmp_path: Path):
    write(
        tmp_path,
        {
            "main.js": 'import { twice, NAME as label } from "./lib/a.js";\n'
            'import * as b from "./lib/b.js";\n'
            "globalThis.out = `${label}:${twice(b.base)}`;\n",
            "lib/a.js": 'import { base } from "./b.js";\nexport const NAME = "a";\n'
            "export function twice(x) { return 2 * x + base - base; }\n",
            "lib/b.js": "const hidden = 21;\nexport const base = hidden;\n",
        },
    )
    script = bundle(tmp_path / "main.js")
    assert script.index("// b.js") < script.index("// a.js") < script.index("// main.js")
    assert script.count("// b.js") == 1  # imported twice, bundled once
    if shutil.which("node"):
        run = subprocess.run(
            ["node", "-e", script + "\nconsole.log(globalThis.out)"], capture_output=True, text=True
        )
        assert run.stdout.strip() == "a:42", run.stderr


def test_the_entry_may_await_at_its_top_level(tmp_path: Path):
    """The experiment page awaits the room's choice (a spare page) before it starts; the export must run."""
    write(
        tmp_path,
        {
            "main.js": 'import { later } from "./lib/a.js";\nconst v = await later();\nglobalThis.out = v;\n',
            "lib/a.js": "export async function later() { return 7; }\n",
        },
    )
    script = bundle(tmp_path / "main.js")
    if shutil.which("node"):
        run = subprocess.run(
            ["node", "-e", script + "\nsetTimeout(() => console.log(globalThis.out))"],
            capture_output=True,
            text=True,
        )
        assert run.stdout.strip() == "7", run.stderr


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ('import x from "./b.js";\n', "an import form"),
        ('import "./b.js";\n', "an import form"),
        ("export default 1;\n", "an export form"),
        ("const a = 1;\nexport { a };\n", "an export form"),
    ],
)
def test_forms_it_cannot_translate_are_refused(tmp_path: Path, source: str, says: str):
    write(tmp_path, {"main.js": source, "b.js": "export const b = 1;\n"})
    with pytest.raises(BundleError, match=says):
        bundle(tmp_path / "main.js")


def test_a_cycle_is_refused(tmp_path: Path):
    write(
        tmp_path,
        {
            "a.js": 'import { b } from "./b.js";\nexport const a = 1;\n',
            "b.js": 'import { a } from "./a.js";\nexport const b = 2;\n',
        },
    )
    with pytest.raises(BundleError, match="cycle"):
        bundle(tmp_path / "a.js")


def test_the_experiment_page_bundles():
    script = bundle(web_dir() / "experiment.js")
    assert (
        "// experiment.js" in script and "import " not in script.split("// experiment.js")[1].split("\n")[1]
    )
