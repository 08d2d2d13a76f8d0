"""The dashboard's pages and assets, served from frontend/ with Plotly.js from the plotly package (no CDN)."""

import importlib.util
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)


def frontend_dir() -> Path:
    """frontend/ beside backend/ in a checkout; in an installed image, the working directory's frontend/."""
    for candidate in (Path(__file__).resolve().parents[3] / "frontend", Path.cwd() / "frontend"):
        if (candidate / "index.html").is_file():
            return candidate
    raise RuntimeError("frontend/ not found beside the package or in the working directory")


def plotly_js() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


@router.get("/")
def index() -> FileResponse:
    return FileResponse(frontend_dir() / "index.html")


@router.get("/experiments/{experiment_id}")
def experiment_page(experiment_id: str) -> FileResponse:
    return FileResponse(frontend_dir() / "experiment.html")


@router.get("/vendor/plotly.min.js")
def plotly() -> FileResponse:
    path = plotly_js()
    if not path.is_file():
        raise HTTPException(404, "plotly.min.js missing from the plotly package")
    return FileResponse(
        path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )
