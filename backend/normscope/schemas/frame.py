"""Frame: the statistics of every run at one sampled step, as drawn, stored and replayed."""

from typing import Literal

from pydantic import BaseModel, Field

Tap = Literal["preact", "normed", "act", "grad"]
RunStatus = Literal["running", "diverged", "done", "cancelled"]
TAP_ORDER: tuple[Tap, ...] = ("preact", "normed", "act", "grad")


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
    norm: float | None = Field(
        None, description="L2 norm of the whole tap (grad only): how much gradient reaches this layer."
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


class CovariateShift(BaseModel):
    """A layer's weight gradient G before and G' after the layers below it took this step's update."""

    l2: float | None = Field(description="‖G − G′‖")
    cos: float | None = Field(description="cos(G, G′)")


class Landscape(BaseModel):
    """The loss landscape along this step's gradient g on the step's batch (Santurkar et al. 2018)."""

    etas: list[float] = Field(description="Step sizes η tried: the run's lr times each of landscape_steps.")
    loss: float | None = Field(description="L(w) on the batch.")
    loss_at: list[float | None] = Field(description="L(w − ηg) per η: their spread is the loss band.")
    grad_norm: float | None = Field(description="‖g‖ over all parameters.")
    grad_change: list[float | None] = Field(
        description="‖∇L(w) − ∇L(w − ηg)‖ per η: gradient predictiveness (smaller is more predictive)."
    )
    beta: float | None = Field(description="Effective β-smoothness: max over η of ‖Δg‖ / ‖ηg‖.")
    shift: list[CovariateShift | None] = Field(
        description="Per layer (as in layers); null for the first, which has no layers below it."
    )


class BatchDependence(BaseModel):
    """How much a BN run's train-mode prediction of a validation example depends on its batch companions."""

    flips: float | None = Field(
        description="Share of examples whose predicted class changes under another random batching."
    )
    flips_pairs: float | None = Field(description="The same with batches of 2, the smallest BN can take.")


class LrChange(BaseModel):
    """The presenter set this run's learning rate; `step` is the first step trained at it."""

    step: int
    lr: float


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
    landscape: Landscape | None = Field(None, description="Only on frames where the landscape probe ran.")
    batch_dependence: BatchDependence | None = Field(
        None, description="BN runs, on evaluated frames, when probe.batch_dependence is on."
    )
    lr: float | None = Field(None, description="The learning rate the run trains at (server-trained runs).")
    lr_changes: list[LrChange] = Field(
        default_factory=list, description="The presenter's set_lr changes since the frame before."
    )


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
