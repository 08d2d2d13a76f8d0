"""REST routes under /api: thin verbs over the store and the job manager."""

import asyncio
import re
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from normscope import __version__
from normscope.api.deps import LessonsDep, ManagerDep, Presenter, StoreDep
from normscope.jobs.manager import ControlError, FilesMissing, NoRoom, QueueFull
from normscope.lessons import Lesson, Preset
from normscope.realtime import gzip_text
from normscope.schemas import (
    ApiError,
    ControlCommand,
    Experiment,
    ExperimentSpec,
    FoldResult,
    Frame,
    Health,
    MarkCreate,
)
from normscope.schemas.catalog import Catalog, catalog
from normscope.schemas.hall import MAX_STEP
from normscope.schemas.sweep import RefineRequest, refined
from normscope.store import StoreFull
from normscope.store.imports import ImportRefused, import_lines

GZIP_FROM = 4096  # bytes of JSON below which compressing costs more than it saves
router = APIRouter(prefix="/api")
MAX_FRAMES_PER_REQUEST = 5000
MAX_IMPORT_BYTES = 64 * 2**20  # a JSON-lines file of a long run

ERRORS = {
    400: "The body could not be read (for an import: not a normscope JSON-lines file; the line and why).",
    401: "No presenter token: send 'Authorization: Bearer <token>'.",
    403: "Wrong presenter token.",
    404: "No such experiment.",
    409: "The experiment is finished, or queued and the action is not cancel (a mark: past the last step, "
    "or the experiment has 200 marks already).",
    413: "The body is larger than 256 KiB (64 MiB for an import).",
    429: "Every slot is taken and the queue is full (NORMSCOPE_MAX_QUEUED).",
    507: "The store is at its size limit (NORMSCOPE_MAX_DATA_GB), or its disk is full.",
}
PRESENTER = (401, 403)
BODY = (400, 413)


def errors(*codes: int, described: dict[int, str] = ERRORS) -> dict[int | str, dict]:
    """OpenAPI entries for the error statuses a route can answer, all with the same {"detail"} model."""
    return {code: {"model": ApiError, "description": described[code]} for code in codes}


def found(experiment: Experiment | None, experiment_id: str) -> Experiment:
    if experiment is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}")
    return experiment


# The routes that touch the job manager or the hub are async: their state belongs to the event loop.
@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "Training workers keep failing to start."}},
)
async def health(manager: ManagerDep, response: Response) -> Health:
    if manager.degraded is not None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(
        status="degraded" if manager.degraded else "ok",
        detail=manager.degraded,
        device=manager.device or "starting",
        version=__version__,
        viewers=manager.hub.subscriber_count(),
        warm=manager.spare_ready,
    )


@router.get("/catalog", response_model=Catalog)
def choices() -> Catalog:
    """Every dataset, model kind and other choice a spec takes: the launch form's menus."""
    return catalog()


@router.get("/presets", response_model=list[Preset])
def presets(lessons: LessonsDep) -> list[Lesson]:
    """The lessons that validate, in the shape presets had before lessons were files (see GET /lessons)."""
    return lessons.lessons()


@router.post(
    "/experiments",
    response_model=Experiment,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, *BODY, 429, 507),
)
async def create_experiment(spec: ExperimentSpec, manager: ManagerDep, lessons: LessonsDep) -> Experiment:
    """spec.lesson names the lesson it comes from (edited or not): that lesson's marks drop at their steps."""
    entry = await asyncio.to_thread(lessons.get, spec.lesson) if spec.lesson is not None else None
    return launch_spec(spec, manager, prepared_marks(entry.lesson if entry is not None else None))


def prepared_marks(lesson: Lesson | None) -> list[MarkCreate]:
    """A lesson's marks as the presenter's M drops them, each when the experiment reaches its step."""
    return [MarkCreate(step=m.step, note=m.note) for m in lesson.marks] if lesson is not None else []


def launch_spec(spec: ExperimentSpec, manager: ManagerDep, marks: Sequence[MarkCreate] = ()) -> Experiment:
    try:
        return manager.launch(spec, marks)
    except FilesMissing as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(e)) from None
    except QueueFull as e:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(e)) from None
    except NoRoom as e:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(e)) from None


@router.post(
    "/experiments/{experiment_id}/refine",
    response_model=Experiment,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, *BODY, 404, 409, 429, 507),
)
async def refine_experiment(
    experiment_id: str, manager: ManagerDep, store: StoreDep, ask: RefineRequest | None = None
) -> Experiment:
    """Coarse to fine: the next round of a finished sweep, each parameter narrowed to where its best
    configurations lie (log-scale aware), linked to this one by `sweep.parent`."""
    parent = found(store.get(experiment_id), experiment_id)
    sweep = parent.spec.sweep
    if sweep is None or parent.status != "done":
        why = "has no sweep" if sweep is None else f"is {parent.status}"
        raise HTTPException(status.HTTP_409_CONFLICT, f"refine needs a finished sweep; {experiment_id} {why}")
    steps = store.frame_steps(experiment_id)
    last = Frame.model_validate_json(store.frames_at(experiment_id, steps[-1:])[0])
    accs: list[float | None] = [None] * len(parent.spec.variants)
    for run in last.runs:
        accs[run.index] = run.val.acc if run.val else None
    earlier = re.fullmatch(r"(.*) · round (\d+)", parent.spec.name)
    base, n = (earlier.group(1), int(earlier.group(2)) + 1) if earlier else (parent.spec.name, 2)
    name = f"{base[:100]} · round {n}"
    fields = parent.spec.model_dump(exclude={"variants", "sweep"})
    next_round = refined(sweep, accs, experiment_id, ask or RefineRequest())
    spec = ExperimentSpec.model_validate({**fields, "name": name, "sweep": next_round.model_dump()})
    return launch_spec(spec, manager)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past limit bytes however it is sent (a body without a length included)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/import",
    response_model=Experiment,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, *BODY, 507),
    openapi_extra={"requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def import_experiment(
    request: Request,
    store: StoreDep,
    name: Annotated[
        str, Query(min_length=1, max_length=120, description="When the file names none.")
    ] = "imported",
) -> Experiment:
    """A JSON-lines file from `normscope train --out` or `normscope.watch(out=...)`, as a finished
    experiment for replay. The body is the file itself."""
    body = await read_body(request, MAX_IMPORT_BYTES)
    try:
        text = body.decode()
        return await asyncio.to_thread(import_lines, store, text.splitlines(), name)
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the file is not UTF-8 text") from None
    except ImportRefused as e:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(e)) from None
    except StoreFull as e:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(e)) from None


@router.get("/experiments", response_model=list[Experiment])
def list_experiments(store: StoreDep) -> list[Experiment]:
    return store.list_experiments()


@router.get("/experiments/{experiment_id}", response_model=Experiment, responses=errors(404))
def get_experiment(experiment_id: str, store: StoreDep) -> Experiment:
    return found(store.get(experiment_id), experiment_id)


@router.post(
    "/experiments/{experiment_id}/control",
    response_model=Experiment,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, *BODY, 404, 409),
)
async def control_experiment(experiment_id: str, cmd: ControlCommand, manager: ManagerDep) -> Experiment:
    """Pause, resume, step (one frame's worth while paused), cancel, or pace (steps per second; null
    lifts it). Takes effect between training steps; the websocket carries the status it leads to."""
    try:
        return manager.control(experiment_id, cmd)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}") from None
    except ControlError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None


@router.get("/experiments/{experiment_id}/frames", response_model=list[Frame], responses=errors(404))
def experiment_frames(
    request: Request,
    experiment_id: str,
    store: StoreDep,
    since: Annotated[int, Query(ge=-1, le=MAX_STEP, description="Frames after this step.")] = -1,
    limit: Annotated[int, Query(ge=1, le=MAX_FRAMES_PER_REQUEST)] = 1000,
) -> Response:
    """Stored frames in step order, exactly as they were streamed (a client fills a gap from here); gzipped
    when the client accepts it (a page of a deep net's frames is tens of MB of JSON, a third of it so)."""
    found(store.get(experiment_id), experiment_id)
    body = "[" + ",".join(store.frames(experiment_id, since, limit)) + "]"  # stored text, not re-encoded
    if len(body) < GZIP_FROM or not accepts_gzip(request.headers.get("accept-encoding", "")):
        return Response(body, media_type="application/json")
    headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return Response(gzip_text(body), media_type="application/json", headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip: named with a q-value above 0, or not named and * is."""
    weights = {}
    for item in accept_encoding.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            weights[name.lower()] = float(q)
        except ValueError:
            weights[name.lower()] = 0.0
    return weights.get("gzip", weights.get("*", 0.0)) > 0


@router.get("/experiments/{experiment_id}/fold", response_model=list[FoldResult], responses=errors(404))
def experiment_fold(experiment_id: str, store: StoreDep) -> list[FoldResult]:
    """Each BN run with its BN layers folded into the neighbouring linear layers for inference, computed
    when training ends: layer counts before and after, and how far the folded net's outputs are from the
    original's on the validation split."""
    found(store.get(experiment_id), experiment_id)
    folds = store.folds(experiment_id)
    if folds is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "no folded model: it is made when a run with BN finishes (done or cancelled)",
        )
    return folds


@router.delete(
    "/experiments/{experiment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, 404, 507),
)
async def delete_experiment(experiment_id: str, manager: ManagerDep) -> Response:
    """A running or queued experiment is stopped first; its viewers get a final `cancelled` status with the
    error "deleted by the presenter", then their sockets close with code 4410."""
    try:
        deleted = manager.delete(experiment_id)
    except NoRoom as e:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(e)) from None
    if not deleted:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
