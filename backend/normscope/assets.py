"""Where the dashboard's files are: frontend/, and the Plotly.js inside the plotly package (no CDN)."""

import importlib.util
from pathlib import Path


def frontend_dir() -> Path:
    """frontend/ beside backend/ in a checkout; in an installed image, the working directory's frontend/."""
    for candidate in (Path(__file__).resolve().parents[2] / "frontend", Path.cwd() / "frontend"):
        if (candidate / "index.html").is_file():
            return candidate
    raise RuntimeError("frontend/ not found beside the package or in the working directory")


def plotly_js() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
