"""The dashboard's pages and assets: the package's web/, and Plotly.js from the plotly package (no CDN)."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from normscope.assets import plotly_js, web_dir

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(web_dir() / "index.html")


@router.get("/room")
def room() -> FileResponse:
    """The room's link: one for the whole lecture; it opens whatever the presenter shows."""
    return FileResponse(web_dir() / "room.html")


@router.get("/experiments/{experiment_id}")
def experiment_page(experiment_id: str) -> FileResponse:
    return FileResponse(web_dir() / "experiment.html")


@router.get("/vendor/plotly.min.js")
def plotly() -> FileResponse:
    path = plotly_js()
    if not path.is_file():
        raise HTTPException(404, "plotly.min.js missing from the plotly package")
    return FileResponse(
        path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )
