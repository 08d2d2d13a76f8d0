"""The ingest websocket's messages: what `normscope.watch` uploads, and the controls it is sent back.

Client → server: `layers` (once, before any frame), `frame` (a Frame), `status` (paused or running again,
as the user's loop took a control), `end` (the loop finished: done, cancelled or failed). Server → client:
`control` (the presenter's pause, resume, step, cancel, pace) and `error` (a message refused, with why)."""

from typing import Literal

from pydantic import BaseModel, Field

from normscope.schemas.control import Action
from normscope.schemas.frame import RunStatus


class ClientStatus(BaseModel):
    type: Literal["status"] = "status"
    status: Literal["running", "paused"]
    step: int = Field(ge=0)
    runs: list[RunStatus]


class ClientEnd(BaseModel):
    type: Literal["end"] = "end"
    status: Literal["done", "cancelled", "failed"]
    step: int = Field(ge=0)
    runs: list[RunStatus]
    error: str | None = Field(None, max_length=2000)


class ControlMessage(BaseModel):
    """A presenter's control, forwarded to the watching client."""

    type: Literal["control"] = "control"
    action: Action
    steps_per_second: float | None = None
