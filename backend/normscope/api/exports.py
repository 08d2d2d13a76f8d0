"""GET /api/experiments/{id}/export: an experiment as a download, streamed from the store in chunks."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from normscope.api.deps import StoreDep
from normscope.api.routes import errors, found
from normscope.exports import FORMATS, ExportFormat, file_name

router = APIRouter(prefix="/api")
FORMAT_HELP = (
    "tensorboard: a zip of event files, one run per variant; csv: long format (step, variant, layer, tap, "
    "metric, value); jsonl: the lines `normscope import` reads back; html: an offline replay in one file."
)


@router.get(
    "/experiments/{experiment_id}/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The export, as an attachment.",
            "content": {f.media_type.split(";")[0]: {} for f in FORMATS.values()},
        },
        **errors(404),
    },
)
def export_experiment(
    experiment_id: str,
    store: StoreDep,
    format: Annotated[ExportFormat, Query(description=FORMAT_HELP)],
) -> StreamingResponse:
    """Whatever the experiment holds, running or ended (failed, cancelled and interrupted ones included)."""
    experiment = found(store.get(experiment_id), experiment_id)
    chosen = FORMATS[format]
    return StreamingResponse(
        chosen.chunks(store, experiment),
        media_type=chosen.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file_name(experiment, format)}"'},
    )
