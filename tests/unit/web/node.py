"""Calls a function of one of the page's ES modules with node: the pure JS is tested without a browser."""

import json
import shutil
import subprocess

import pytest

from normscope.assets import web_dir

NODE = shutil.which("node")


def call(module: str, function: str, *args: object) -> object:
    """`function(*args)` from web/lib/<module>.js, arguments and result round-tripped as JSON."""
    if NODE is None:
        pytest.fail("node is missing: the page's pure modules are tested with it (apt install nodejs)")
    url = (web_dir() / "lib" / f"{module}.js").as_uri()
    script = (
        f"import * as m from {json.dumps(url)};"
        f"const out = await m[{json.dumps(function)}](...{json.dumps(args)});"
        "process.stdout.write(JSON.stringify(out));"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
