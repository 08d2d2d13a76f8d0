"""Runs the page's pure ES modules with node: their logic is tested without a browser."""

import json
import shutil
import subprocess

import pytest

from normscope.assets import web_dir

NODE = shutil.which("node")
# Sets and Maps come back as arrays (of members, of [key, value] pairs)
REPLACER = "(k, v) => (v instanceof Set || v instanceof Map ? [...v] : v)"


def evaluate(module: str, expression: str, **values: object) -> object:
    """The JS `expression`, with web/lib/<module>.js as `m` and each keyword as a constant, as JSON."""
    if NODE is None:
        pytest.fail("node is missing: the page's pure modules are tested with it (apt install nodejs)")
    url = (web_dir() / "lib" / f"{module}.js").as_uri()
    consts = "".join(f"const {k} = {json.dumps(v)};" for k, v in values.items())
    script = (
        f"import * as m from {json.dumps(url)};{consts}"
        f"const out = await ({expression});"
        f"process.stdout.write(JSON.stringify(out, {REPLACER}));"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def call(module: str, function: str, *args: object) -> object:
    """`function(*args)` from web/lib/<module>.js, arguments and result round-tripped as JSON."""
    return evaluate(module, f"m[{json.dumps(function)}](...args)", args=list(args))
