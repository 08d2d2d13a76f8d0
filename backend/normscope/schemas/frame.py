"""Frame: the statistics of every run at one sampled step, as drawn, stored and replayed."""

from typing import Literal

from pydantic import BaseModel, Field

Tap = Literal["preact", "normed", "act"]
RunStatus = Literal["running", "diverged", "done", "cancelled"]
TAP_ORDER: tuple[Tap, ...] = ("preact", "normed", "act")


class TapStats(BaseModel):
    counts: list[int]
    under: int
    over: int
    mean: float | None
    std: float | None
    q: list[float | None] = Field(description="[min, p15, p50, p85, max]")
    saturation: float | None = Field(
        description="Share of activation outputs near an asymptote (act tap only)."
    )


class Summary(BaseModel):
    """A per-channel vector summarized: its mean over channels and their spread."""

    mean: float | None
    std: float | None


class BNStats(BaseModel):
    batch_mean: Summary
    batch_var: Summary
    running_mean: Summary
    running_var: Summary
    gamma: Summary
    beta: Summary


class LayerStats(BaseModel):
    name: str
    taps: dict[Tap, TapStats]
    grad_norm: float | None
    weight_norm: float | None
    update_ratio: float | None
    bn: BNStats | None = None


class EvalResult(BaseModel):
    loss: float | None
    acc: float | None


class RunFrame(BaseModel):
    index: int
    status: RunStatus = "running"
    loss: list[float | None] = Field(description="Per-step training loss for steps prev_step+1..step.")
    train_acc: float | None
    val: EvalResult | None = Field(None, description="Validation in eval mode (BN uses running statistics).")
    val_train_mode: EvalResult | None = Field(
        None, description="Validation in train mode (BN uses each batch's statistics)."
    )
    layers: list[LayerStats]


class Frame(BaseModel):
    type: Literal["frame"] = "frame"
    step: int
    prev_step: int
    sent_at: float = Field(
        0.0, description="Unix time the worker sent the frame (for latency and staleness)."
    )
    elapsed: float = Field(0.0, description="Seconds of training so far (pauses excluded).")
    runs: list[RunFrame]


class LayerInfo(BaseModel):
    """A probed layer and its fixed histogram edges, shared by every variant for the whole experiment."""

    name: str
    taps: list[Tap]
    edges: dict[Tap, list[float]]
