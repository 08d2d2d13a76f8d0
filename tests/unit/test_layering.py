"""DESIGN.md's import arrows, checked on what each package really loads."""

import subprocess
import sys

import pytest

FORBIDDEN = {
    "normscope.schemas": ["torch", "fastapi", "starlette", "sqlite3"],
    "normscope.engine.trainer": [
        "fastapi",
        "starlette",
        "sqlite3",
        "normscope.api",
        "normscope.jobs",
        "normscope.store",
    ],
    "normscope.presets": ["torch", "fastapi"],
    "normscope.store": ["torch", "fastapi"],
    "normscope.realtime": ["torch", "fastapi"],
    "normscope.api.app": ["torch", "normscope.engine"],
    "normscope": ["torch", "fastapi"],  # `import normscope` stays light; watch loads torch when first used
    "normscope.watching": [
        "fastapi",
        "starlette",
        "sqlite3",
        "normscope.api",
        "normscope.jobs",
        "normscope.store",
    ],
}


@pytest.mark.parametrize(("module", "forbidden"), FORBIDDEN.items())
def test_module_does_not_load_forbidden_packages(module, forbidden):
    code = f"import sys, {module}; print(' '.join(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} loads {out}"
