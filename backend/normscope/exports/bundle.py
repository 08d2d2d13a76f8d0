"""The dashboard's ES modules as one classic script, for a page opened from file:// (where a browser will not
load modules from other files). Each module becomes a function scope returning its exports; only the import
and export forms the frontend uses are accepted, and anything else is refused rather than half-translated."""

import re
from pathlib import Path

IMPORT = re.compile(r'^import\s+(?:\*\s+as\s+(\w+)|\{([^}]*)\})\s+from\s+"(\.{1,2}/[^"]+)";[ \t]*$', re.M)
ANY_IMPORT = re.compile(r"^import\b", re.M)
EXPORT = re.compile(r"^export\s+((?:async\s+)?(?:function\*?|class|const|let)\s+(\w+))", re.M)
ANY_EXPORT = re.compile(r"^export\b", re.M)


class BundleError(Exception):
    """A module uses an import or export form this bundler does not translate."""


def _binding(names: str) -> str:
    return ", ".join(n.strip().replace(" as ", ": ") for n in names.split(",") if n.strip())


def bundle(entry: Path) -> str:
    """The entry module and every module it imports, dependencies first, as one script."""
    order: list[Path] = []
    ids: dict[Path, str] = {}
    parts: list[str] = []

    def visit(path: Path, chain: tuple[Path, ...]) -> str:
        path = path.resolve()
        if path in chain:
            raise BundleError(f"import cycle through {path.name}")
        if path in ids:
            return ids[path]
        source = path.read_text()

        def rewrite(m: re.Match) -> str:
            dep = visit(path.parent / m.group(3), (*chain, path))
            names = m.group(1) or f"{{ {_binding(m.group(2))} }}"
            return f"const {names} = {dep};"

        body = IMPORT.sub(rewrite, source)
        if ANY_IMPORT.search(body):
            raise BundleError(f"{path.name}: an import form the bundler does not know")
        exported = [m.group(2) for m in EXPORT.finditer(body)]
        body = EXPORT.sub(r"\1", body)
        if ANY_EXPORT.search(body):
            raise BundleError(f"{path.name}: an export form the bundler does not know")
        name = f"__module{len(order)}"
        ids[path] = name
        order.append(path)
        scope = "async () =>" if not chain else "() =>"  # the entry alone may await at its top level
        returned = f"return {{ {', '.join(exported)} }};"
        parts.append(f"// {path.name}\nconst {name} = ({scope} {{\n{body}\n{returned}\n}})();\n")
        return name

    visit(entry, ())
    return "".join(parts)
