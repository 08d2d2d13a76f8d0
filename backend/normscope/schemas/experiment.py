"""Experiment records and the websocket messages built from them: one family for REST, websocket and store."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from normscope.schemas.frame import LayerInfo, RunStatus
from normscope.schemas.hall import Mark, ViewState
from normscope.schemas.spec import ExperimentSpec

ExperimentStatus = Literal["queued", "running", "paused", "done", "cancelled", "failed", "interrupted"]
RunState = RunStatus | Literal["queued", "failed", "interrupted"]
TERMINAL: frozenset[str] = frozenset({"done", "cancelled", "failed", "interrupted"})


class RunInfo(BaseModel):
    index: int
    label: str
    status: RunState = "queued"


class Recording(BaseModel):
    """A lesson trained once (on a GPU, say) by `normscope record`, for a room without one to play."""

    model_config = ConfigDict(extra="forbid", strict=True)  # a typo in a lesson file is an error

    file: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", description="A file beside the lesson.")
    device: str = Field(min_length=1, max_length=120)
    torch: str = Field(min_length=1, max_length=60)
    created_at: datetime
    steps: int = Field(ge=1, le=1_000_000)
    wall_s: float = Field(ge=0, allow_inf_nan=False)


class ExperimentSource(BaseModel):
    """Where a played experiment's frames come from: a lesson's recording, not a training process."""

    lesson: str
    recording: Recording


class Experiment(BaseModel):
    id: str
    spec: ExperimentSpec
    status: ExperimentStatus
    step: int = 0
    created_at: datetime
    runs: list[RunInfo]
    error: str | None = None
    source: ExperimentSource | None = Field(
        None, description="A played recording: the lesson and its recording; null for anything trained."
    )


class HelloMessage(BaseModel):
    type: Literal["hello"] = "hello"
    experiment: Experiment
    layers: list[LayerInfo] = Field(description="Empty until the worker has fixed the histogram edges.")
    view: ViewState | None = Field(
        None, description="The presenter's view, which the room follows; null: none set."
    )
    marks: list[Mark] = Field(default_factory=list, description="The presenter's marks, in step order.")


class StatusMessage(BaseModel):
    type: Literal["status"] = "status"
    status: ExperimentStatus
    step: int
    runs: list[RunInfo]
    error: str | None = None


class LayersMessage(BaseModel):
    """Sent once when a queued experiment starts and its histogram edges are known."""

    type: Literal["layers"] = "layers"
    layers: list[LayerInfo]


class DownloadMessage(BaseModel):
    """A dataset file on its way before training starts (sent about twice a second; may be dropped)."""

    type: Literal["download"] = "download"
    file: str
    done: int = Field(description="Bytes received.")
    total: int = Field(description="Bytes in all (the catalog's size when the server sends none).")


class ApiError(BaseModel):
    """Every error a REST route answers, except a body that fails validation (422 lists each field)."""

    detail: str


class ErrorMessage(BaseModel):
    type: Literal["error"] = "error"
    detail: str


class Health(BaseModel):
    status: Literal["ok", "degraded"] = "ok"
    detail: str | None = Field(None, description="Why the server is degraded (then the answer is 503).")
    device: str
    version: str
    viewers: int = Field(0, description="Websocket connections open now.")
    warm: bool = Field(
        False, description="A spare worker has finished warming up: the next launch starts at once."
    )


class FoldResult(BaseModel):
    """One BN run folded for inference: BN's running statistics, γ and β merged into a linear layer."""

    index: int
    label: str
    layers_before: int = Field(description="Linear/conv and normalization layers of the trained net.")
    layers_after: int = Field(description="The same count after folding.")
    bn_folded: int
    bn_kept: int = Field(
        description="BN layers that cannot fold exactly (after the activation, before a conv)."
    )
    max_abs_diff: float = Field(description="Largest difference between the two nets' outputs (logits).")
    same_predictions: float = Field(description="Share of samples with the same predicted class.")
    samples: int = Field(description="Validation samples compared.")
