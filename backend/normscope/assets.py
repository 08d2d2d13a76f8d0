"""Where the dashboard's files are: the package's web/, and Plotly.js from the plotly package (no CDN)."""

import importlib.util
from importlib.resources import files
from pathlib import Path


def web_dir() -> Path:
    """The dashboard (HTML, ES modules, CSS): package data, found the same way in a checkout and a wheel."""
    path = Path(str(files("normscope") / "web"))
    if not (path / "index.html").is_file():
        raise RuntimeError(f"the dashboard is missing from the installed package: no {path / 'index.html'}")
    return path


def plotly_js() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
