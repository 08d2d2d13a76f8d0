"""The room: everyone watching, moved from one experiment to the next by the presenter. `PUT /api/room`
shows an experiment; `/ws/room` tells every follower, on connect and at each change: one link, one lecture."""

import asyncio

from fastapi import APIRouter, HTTPException, WebSocket, status

from normscope.api.deps import LecturesDep, ManagerDep, Presenter, StoreDep
from normscope.api.routes import BODY, PRESENTER, errors, found
from normscope.api.ws import origin_allowed, stream_live
from normscope.lessons import Lectures
from normscope.realtime import HubFull
from normscope.realtime.hub import Message
from normscope.schemas import Experiment, Room, RoomSet
from normscope.schemas.hall import room_message
from normscope.store import StoreFull

router = APIRouter()
TOPIC = "/room"  # a hub topic no experiment id can be (ids are hex)


def placed(experiment: Experiment, lectures: Lectures) -> Room:
    """The experiment and where its lesson stands in its lecture (none when the lecture is gone or broken)."""
    lecture_id = experiment.spec.lecture
    entry = lectures.get(lecture_id) if lecture_id is not None else None
    lecture = entry.lecture if entry is not None else None
    position = lecture.position(experiment.spec.lesson) if lecture is not None else None
    return Room(experiment=experiment.id, lecture=lecture_id, position=position)


@router.put(
    "/api/room",
    response_model=Room,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, *BODY, 404, 507),
)
async def set_room(shown: RoomSet, store: StoreDep, lectures: LecturesDep, manager: ManagerDep) -> Room:
    """Every follower of /ws/room gets `{"type": "room", …}` and opens the experiment; kept over restarts."""
    experiment = found(store.get(shown.experiment_id), shown.experiment_id)
    if experiment.spec.lecture is None:
        room = Room(experiment=experiment.id)
    else:  # the lecture's file and its lessons' are read: off the loop the followers' messages go out on
        room = await asyncio.to_thread(placed, experiment, lectures)
    try:
        if not store.set_room(room):  # deleted meanwhile
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {shown.experiment_id!r}")
    except StoreFull as e:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(e)) from None
    manager.hub.publish(TOPIC, room_message(room), droppable=False, latest="room")
    return room


@router.get("/api/room", response_model=Room)
def get_room(store: StoreDep) -> Room:
    """What the room is shown: all null before the presenter showed anything or once it was deleted."""
    return store.room()


@router.websocket("/ws/room")
async def room_socket(ws: WebSocket) -> None:
    if not origin_allowed(ws):
        await ws.close(code=1008, reason="origin not allowed")
        return
    app = ws.app
    try:
        # a room follower is a viewer: it counts toward the same limit
        async with app.state.hub.subscribe(TOPIC, app.state.settings.max_clients) as sub:
            await ws.accept()
            # subscribed first: a change made meanwhile comes after this, never lost
            sub.put(Message(room_message(app.state.store.room()), droppable=False, latest="room"))
            await stream_live(ws, sub, -1, "room follower")
    except HubFull:
        await ws.close(code=1013, reason="too many viewers; try again later")
