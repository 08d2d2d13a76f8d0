"""The lecture hall: the presenter's view the room follows, marks dropped on the time axis, sharing."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_MARKS = 200  # per experiment: a lecture's worth, and a hello stays small
MAX_NOTE = 140
MAX_STEP = 2**63 - 1  # SQLite's largest integer: past it is a 422, not an overflow


class ViewState(BaseModel):
    """What the presenter's page shows; viewers who follow show the same."""

    model_config = ConfigDict(extra="forbid", strict=True)  # 0 is not false, "3" not a step

    layer: str | None = Field(None, max_length=200, description="The chosen layer; null: the page's default.")
    tap: Literal["preact", "normed", "act", "grad"] = "normed"
    chart: str | None = Field(
        None,
        pattern=r"^[a-z][a-z-]{0,31}$",
        description="The one chart filling the screen (the page's chart menu); null: all charts.",
    )
    lecture: bool = Field(False, description="Large type and thick lines for the room.")
    replay_step: int | None = Field(
        None, ge=0, le=MAX_STEP, description="The replay's position (a finished experiment); null: live."
    )


class MarkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # 0 is not false, "3" not a step

    step: int = Field(ge=0, le=MAX_STEP, description="At most the experiment's last step.")
    note: str = Field("", max_length=MAX_NOTE)


class Mark(BaseModel):
    id: int
    step: int
    note: str
    created_at: datetime


class RoomSet(BaseModel):
    """What the presenter shows the room: PUT /api/room."""

    model_config = ConfigDict(extra="forbid", strict=True)

    experiment_id: str = Field(
        min_length=1, max_length=64, description="The experiment every follower opens."
    )


class Room(BaseModel):
    """What the room is shown: the experiment, and where it stands in its lecture (null outside one)."""

    experiment: str | None = Field(
        None, description="The experiment's id; null before the presenter shows one."
    )
    lecture: str | None = Field(
        None, description="The lecture the experiment was launched in (spec.lecture)."
    )
    position: int | None = Field(None, ge=1, description="Its lesson's place in the lecture, from 1.")


class Share(BaseModel):
    """Where the room can reach this server: base URLs a viewer link starts with."""

    urls: list[str] = Field(description="One per address a phone on the same network can open; may be empty.")
    hint: str | None = Field(None, description="Why the room may not reach the server, and what to do.")


def view_message(view: ViewState) -> str:
    """{"type": "view", …the view's fields}: type first, as every websocket message."""
    return '{"type":"view",' + view.model_dump_json()[1:]


def mark_message(mark: Mark) -> str:
    """Broadcast when the presenter drops a mark; `unmark_message` when one is taken back."""
    return '{"type":"mark",' + mark.model_dump_json()[1:]


def unmark_message(mark_id: int) -> str:
    return f'{{"type":"unmark","id":{mark_id}}}'


def room_message(room: Room) -> str:
    """{"type": "room", "experiment", "lecture", "position"}: to /ws/room on connect and on every change."""
    return '{"type":"room",' + room.model_dump_json()[1:]
