"""docs/architecture.md's import table, checked on the code: what each unit's modules import (read from
their source), and what importing each unit loads (in a fresh interpreter)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "backend" / "normscope"
DOC = ROOT / "docs" / "architecture.md"


def table() -> dict[str, tuple[set[str], list[str]]]:
    """unit -> (the units it may import, the modules importing it must not load)."""
    rows = re.findall(r"^\| `([\w.]+)` \| ([^|]*) \| ([^|]*) \|$", DOC.read_text(), re.M)
    split = lambda cell: [x.strip() for x in cell.split(",") if x.strip() not in ("", "—")]  # noqa: E731
    return {unit: (set(split(may)), split(never)) for unit, may, never in rows}


RULES = table()


def unit_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_units(path: Path) -> set[str]:
    """The other units of normscope a module imports, wherever in the module the import stands."""
    own, out = unit_of(path), set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "normscope":
            names = [f"normscope.{a.name}" if a.name in RULES else "normscope" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] != "normscope":
                continue
            target = parts[1] if len(parts) > 1 else "normscope"
            if target != own:
                out.add(target)
    return out


def test_every_unit_of_the_package_has_a_row():
    units = {unit_of(p) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    assert units == set(RULES), f"rows missing: {units - set(RULES)}; rows for nothing: {set(RULES) - units}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_import_only_what_the_table_allows(path: Path):
    allowed, _ = RULES[unit_of(path)]
    assert imported_units(path) <= allowed, f"{path.name} imports {imported_units(path) - allowed}"


@pytest.mark.parametrize("unit", sorted(RULES))
def test_importing_a_unit_does_not_load_what_it_must_not(unit: str):
    module = "normscope" if unit == "__init__" else f"normscope.{unit}"
    if unit == "__main__":
        module = "normscope.cli"  # running __main__ would start the command line; it is cli's entry
    forbidden = RULES[unit][1]
    code = f"import sys, {module}; print(' '.join(m for m in {forbidden!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} loads {out}"


def test_the_check_can_fail():
    """The table is not vacuous: the engine's trainer imports torch, which `schemas` must never load."""
    assert "torch" in RULES["schemas"][1] and "engine" not in RULES["api"][0]
    assert "schemas" in imported_units(PACKAGE / "engine" / "trainer.py")
