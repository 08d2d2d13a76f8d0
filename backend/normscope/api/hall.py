"""The lecture hall under /api: the presenter's view the room follows, marks, and sharing the link."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from normscope.api.deps import ManagerDep, Presenter, SettingsDep, StoreDep
from normscope.api.routes import BODY, PRESENTER, errors, found
from normscope.api.share import qr_svg, viewer_urls
from normscope.schemas import Mark, MarkCreate, Share, ViewState
from normscope.schemas.hall import MAX_STEP, mark_message, unmark_message, view_message
from normscope.store import StoreFull, TooManyMarks

router = APIRouter(prefix="/api")
MAX_QR_TEXT = 1000


@router.put(
    "/experiments/{experiment_id}/view",
    response_model=ViewState,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, *BODY, 404, 507),
)
async def set_view(experiment_id: str, view: ViewState, store: StoreDep, manager: ManagerDep) -> ViewState:
    """The room follows: every viewer of the experiment gets `{"type": "view", …}`, and a viewer who joins
    later starts on it (the websocket's hello carries it)."""
    try:
        if not store.set_view(experiment_id, view):  # False: no such experiment
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}")
    except StoreFull as e:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(e)) from None
    manager.hub.publish(experiment_id, view_message(view), droppable=False, latest="view")
    return view


@router.get("/experiments/{experiment_id}/view", response_model=ViewState | None, responses=errors(404))
def get_view(experiment_id: str, store: StoreDep) -> ViewState | None:
    """The presenter's current view; null before the presenter has shown one."""
    found(store.get(experiment_id), experiment_id)
    return store.view(experiment_id)


@router.post(
    "/experiments/{experiment_id}/marks",
    response_model=Mark,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, *BODY, 404, 409, 507),
)
async def add_mark(experiment_id: str, mark: MarkCreate, store: StoreDep, manager: ManagerDep) -> Mark:
    """A mark at a step with a short note, drawn on every time-axis chart of every viewer and kept with the
    experiment (replay, exports)."""
    experiment = found(store.get(experiment_id), experiment_id)
    if mark.step > experiment.step:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"step {mark.step} is past the experiment's last step ({experiment.step})",
        )
    try:
        made = store.add_mark(experiment_id, mark)
    except TooManyMarks as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    except StoreFull as e:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(e)) from None
    manager.hub.publish(experiment_id, mark_message(made), droppable=False)
    return made


@router.get("/experiments/{experiment_id}/marks", response_model=list[Mark], responses=errors(404))
def list_marks(experiment_id: str, store: StoreDep) -> list[Mark]:
    found(store.get(experiment_id), experiment_id)
    return store.marks(experiment_id)


@router.delete(
    "/experiments/{experiment_id}/marks/{mark_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, 404),
)
async def delete_mark(
    experiment_id: str,
    mark_id: Annotated[int, Path(ge=1, le=MAX_STEP, description="The mark's id.")],
    store: StoreDep,
    manager: ManagerDep,
) -> Response:
    """Viewers get `{"type": "unmark", "id"}` and take it off their charts."""
    if not store.delete_mark(experiment_id, mark_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no mark {mark_id} on experiment {experiment_id!r}")
    manager.hub.publish(experiment_id, unmark_message(mark_id), droppable=False)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/share", response_model=Share)
def share(settings: SettingsDep) -> Share:
    """Base URLs the room can open (one per LAN address the server listens on), or why there is none."""
    urls, hint = viewer_urls(settings.host, settings.port)
    return Share(urls=urls, hint=hint)


@router.get(
    "/qr",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "The QR code as SVG."}},
)
def qr(text: Annotated[str, Query(min_length=1, max_length=MAX_QR_TEXT)]) -> Response:
    """A QR code of a link (the share screen's), made on the server: the hall needs no network."""
    return Response(qr_svg(text), media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})
