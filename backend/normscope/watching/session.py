"""normscope.watch(): the probe on any nn.Module in the user's own training loop.

The caller's thread does what the engine's training thread does on a sampled step (arm the hooks before the
forward, take what the next steps would change after it) and nothing at all on the others but count. The
session's packing thread computes the statistics and copies them to the host (at most two samples wait for
it, as in the engine); its sender thread decodes, builds, encodes and sends each frame through a bounded
queue: a slow or vanished server costs dropped frames, never a waiting training loop."""

import queue
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch
from torch import nn

from normscope.engine.offload import Offload
from normscope.engine.probe import (
    EXACT_QUANTILES_UP_TO,
    Probe,
    Taken,
    finite,
    finite_list,
    layout,
    merge_absmax,
    tap_range,
)
from normscope.schemas import (
    ClientEnd,
    ClientStatus,
    ControlMessage,
    EvalResult,
    ExperimentSpec,
    ExternalSpec,
    Frame,
    LayerInfo,
    LayersMessage,
    ProbeSpec,
    RunFrame,
    VariantSpec,
)
from normscope.schemas.frame import RunStatus, Tap
from normscope.schemas.spec import MAX_FRAMES
from normscope.watching.outlet import FileOutlet, Outlet, ServerOutlet
from normscope.watching.trace import MAX_LAYERS, NORM_TYPES, TappedModel, Tracer

CLOSE_TIMEOUT_S = 10.0  # close() waits this long for queued frames to go out
LOGGED = ("val_acc", "val_loss", "train_acc")


class Cancelled(Exception):
    """The presenter cancelled: step() raises it, and a `with watch(...)` block ends quietly on it."""


@dataclass(eq=False)  # hashable by identity: runs key the per-call dicts
class _Run:
    index: int
    label: str
    model: nn.Module
    tracer: Tracer
    probe: Probe | None = None
    losses: list[Any] = field(default_factory=list)
    logged: dict[str, Any] = field(default_factory=dict)
    status: RunStatus = "running"


@dataclass
class _Part:
    """One run's share of a sampled step: what its probe took (None: no statistics this time), its losses
    since the last frame (on its device until packed, then with the statistics on the host), its logs."""

    run: _Run
    taken: Taken | None
    values: torch.Tensor
    n_losses: int
    logged: dict[str, Any]
    stats_size: int = 0  # how much of `values` is the probe's, once packed


@dataclass
class _Sample:
    """One sampled step on its way to the packing thread, then the sender thread."""

    step: int
    prev_step: int
    elapsed: float
    parts: list[_Part]


class _Controls:
    """The presenter's controls as the user's loop obeys them: set by the outlet's reader, read by step()."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.paused = False
        self.budget = 0  # steps granted while paused ("step": up to the next frame)
        self.pace: float | None = None
        self.cancelled = False
        self.lost = False


class Session:
    """A watched training loop: call step() once per training step, after the optimizer's step."""

    def __init__(
        self,
        models: Mapping[str, nn.Module],
        outlet: Outlet,
        *,
        every: int,
        bins: int,
        name: str,
        steps: int | None,
        layers: list[str] | None,
        max_layers: int,
        grad: bool,
        exact_quantiles_up_to: int,
        buffer: int,
    ) -> None:
        self.every, self.bins, self.name, self.steps = every, bins, name, steps
        self.select, self.max_layers, self.grad = layers, max_layers, grad
        self.exact_up_to = exact_quantiles_up_to
        self.outlet = outlet
        self.runs = [_Run(i, label, m, Tracer(m, grad)) for i, (label, m) in enumerate(models.items())]
        self.step_count = 0
        self.dropped = 0
        self.untapped: list[str] = []
        self.layer_infos: list[LayerInfo] = []
        self._covered = 0  # the last step whose losses went into a frame
        self._started_at: float | None = None
        self._paused_s = 0.0
        self._reported: str = "running"
        self._controls = _Controls()
        self._queue: queue.Queue[_Sample | str | None] = queue.Queue(buffer)
        self._sender: threading.Thread | None = None
        self._packing = Offload("normscope-watch-pack")  # statistics and the host copy, off the caller
        self._closed = False
        self._next_at: float | None = None

    # the caller's thread ------------------------------------------------------------------------------
    def step(self, loss: Any = None) -> None:
        """One training step done. `loss`: a tensor or float, or {label: ...} for several models; nothing
        is read from the device here. Blocks while the presenter has paused; raises Cancelled on cancel."""
        if self._closed:
            raise RuntimeError("step() after close()")
        self.step_count += 1
        t = self.step_count
        for run, value in self._per_run(loss, "loss").items():
            run.losses.append(value.detach() if isinstance(value, torch.Tensor) else float(value))
        if t == 1:
            self._start()
        elif self._sampled(t):
            self._sample(t)
        if self._sampled(t + 1):
            for run in self.runs:
                if run.probe is not None:
                    run.probe.arm()
                    run.probe.snapshot_weights()  # the optimizer has not stepped yet for step t + 1
        self._obey(t)

    def log(self, **metrics: Any) -> None:
        """val_acc, val_loss, train_acc: a number or tensor, or {label: number}; sent with the next frame."""
        for key, value in metrics.items():
            if key not in LOGGED:
                raise ValueError(f"log() takes {', '.join(LOGGED)}; not {key!r}")
            for run, v in self._per_run(value, key).items():
                run.logged[key] = v

    def close(self, status: str = "done", error: str | None = None) -> None:
        """Sends what is queued and ends the experiment (done). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for run in self.runs:
            if run.probe is not None:
                run.probe.detach()
            run.tracer.finish()
        self._packing.close()  # every sample taken is packed and queued before the end
        if self._sender is not None:
            runs = [r.status if r.status != "running" else _run_end(status) for r in self.runs]
            end = ClientEnd(status=status, step=self.step_count, runs=runs, error=error)
            self._put(end.model_dump_json(), block=True)
            self._put(None, block=True)
            self._sender.join(CLOSE_TIMEOUT_S)
        self.outlet.close()
        if self.dropped:
            warnings.warn(
                f"normscope: {self.dropped} frames were dropped (the sender fell behind)", stacklevel=2
            )

    def __enter__(self) -> "Session":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if kind is None:
            self.close()
            return False
        if issubclass(kind, Cancelled):
            self.close("cancelled")
            return True  # the presenter's cancel ends the block, not the program
        self.close("failed", f"{kind.__name__}: {exc}"[:2000])
        return False

    @property
    def url(self) -> str | None:
        """The experiment's page, when watching through a server."""
        return (
            self.outlet.url if isinstance(self.outlet, ServerOutlet) and self.outlet.experiment_id else None
        )

    def _per_run(self, value: Any, what: str) -> dict[_Run, Any]:
        if value is None:
            return {}
        if isinstance(value, Mapping):
            labels = {r.label: r for r in self.runs}
            unknown = set(value) - set(labels)
            if unknown:
                raise ValueError(
                    f"{what} for unknown models {sorted(unknown)}; the models are {list(labels)}"
                )
            return {labels[k]: v for k, v in value.items()}
        if len(self.runs) != 1:
            raise ValueError(f"{what}: give {{label: value}} for the {len(self.runs)} watched models")
        return {self.runs[0]: value}

    def _sampled(self, t: int) -> bool:
        return t % self.every == 0 or t == self.steps

    def _start(self) -> None:
        """After the first step: the layers its forward showed, their histogram ranges (shared by models
        with the same layer names), the experiment created, and the sender started."""
        found = {}
        for run in self.runs:
            run.tracer.finish()
            layers, notes = run.tracer.result(self.select, self.max_layers)
            found[run.index] = layers
            self.untapped += [n if len(self.runs) == 1 else f"{run.label}: {n}" for n in notes]
        absmax: dict[tuple[str, Tap], float] = {}
        kinds = {}
        for layers in found.values():
            for name, layer in layers.items():
                kinds.setdefault(name, layer.kind)
                merge_absmax(absmax, {(name, tap): v for tap, v in layer.absmax.items()})
        has_act = {name for (name, tap) in absmax if tap == "act"}
        ranges = {k: tap_range(kinds[k[0]], k[1], v, k[0] in has_act) for k, v in absmax.items()}
        names = dict.fromkeys(n for layers in found.values() for n in layers)
        self.layer_infos = layout({n: n for n in names}, ranges, self.bins)
        for run in self.runs:
            layers = found[run.index]
            if not layers:
                continue
            probe = Probe(
                TappedModel(layers),
                [layer.kind for layer in layers.values()],
                self.bins,
                self.exact_up_to,
                grad=self.grad,
            )
            probe.set_ranges(
                {(i, t): ranges[(n, t)] for i, n in enumerate(layers) for t in probe.layer_taps[i]}
            )
            probe.clone = {(i, t) for i, layer in enumerate(layers.values()) for t in layer.changed_later}
            probe.attach()
            run.probe = probe
        self.outlet.open(self._spec())
        self._started_at = time.monotonic()
        self._sender = threading.Thread(target=self._send_loop, name="normscope-watch-sender", daemon=True)
        self._sender.start()
        self._say(LayersMessage(layers=self.layer_infos).model_dump_json())

    def _spec(self) -> ExperimentSpec:
        steps = self.steps or min(1_000_000, self.every * MAX_FRAMES)
        return ExperimentSpec(
            name=self.name,
            steps=steps,
            variants=[VariantSpec(label=r.label, norm=_norm_of(r.model)) for r in self.runs],
            probe=ProbeSpec(
                every=self.every, bins=self.bins, grad=self.grad, exact_quantiles_up_to=self.exact_up_to
            ),
            external=ExternalSpec(untapped=self.untapped[:256]),
        )

    def _sample(self, t: int) -> None:
        """What each run's statistics need from this step, handed to the packing thread."""
        parts = []
        for run in self.runs:
            probe = run.probe
            ok = probe is not None and probe.armed and probe.complete()
            taken = probe.take() if ok else None
            if probe is not None:
                probe.armed = False
            device = _device_of(run.model)
            losses = [
                x.double().reshape(1).to(device)
                if isinstance(x, torch.Tensor)
                else torch.tensor([x], dtype=torch.float64, device=device)
                for x in run.losses
            ]
            values = torch.cat(losses) if losses else torch.zeros(0, dtype=torch.float64, device=device)
            parts.append(_Part(run, taken, values, len(run.losses), run.logged))
            run.losses, run.logged = [], {}
        elapsed = time.monotonic() - (self._started_at or time.monotonic()) - self._paused_s
        sample = _Sample(step=t, prev_step=self._covered, elapsed=elapsed, parts=parts)
        self._covered = t
        self._packing.submit(partial(self._pack, sample))

    def _put(self, item: "_Sample | str | None", block: bool) -> None:
        try:
            self._queue.put(item, block=block, timeout=CLOSE_TIMEOUT_S if block else None)
        except queue.Full:
            self.dropped += 1

    def _say(self, text: str) -> None:
        """A message from the caller, queued behind the samples it took before it."""
        self._packing.submit(partial(self._put, text, True))

    # the packing thread --------------------------------------------------------------------------------
    def _pack(self, sample: _Sample) -> None:
        """Each run's statistics (one vector on its device), then its one host copy with the losses."""
        try:
            for part in sample.parts:
                probe = part.run.probe
                if part.taken is not None and probe is not None:
                    stats = probe.pack(part.taken)
                    part.values = torch.cat([stats, part.values.to(stats.device)])
                    part.stats_size = probe.packed_size()
                    part.taken = None  # the taps are let go as soon as they are summarized
                part.values = part.values.cpu()
        except Exception as e:  # a sample that cannot be packed is warned about; the others go on
            warnings.warn(f"normscope: a sample could not be packed: {type(e).__name__}: {e}", stacklevel=1)
            return
        self._put(sample, block=False)

    def _obey(self, t: int) -> None:
        """The presenter's controls, between steps: cancel, pause (blocks), one frame's steps, pace."""
        c = self._controls
        with c.cond:
            if c.cancelled:
                raise Cancelled(f"the presenter cancelled experiment {self.name!r} at step {t}")
            if c.paused and c.budget > 0:
                c.budget -= 1
            elif c.paused and not c.lost:
                self._report("paused", t)
                began = time.monotonic()
                while c.paused and c.budget == 0 and not c.cancelled and not c.lost:
                    c.cond.wait(0.5)
                self._paused_s += time.monotonic() - began
                self._next_at = None
                if c.cancelled:
                    raise Cancelled(f"the presenter cancelled experiment {self.name!r} at step {t}")
                if c.paused and c.budget > 0:
                    c.budget -= 1
            if not c.paused or c.lost:
                self._report("running", t)
            pace = c.pace
        if pace:
            now = time.monotonic()
            self._next_at = (self._next_at or now) + 1.0 / pace
            if self._next_at > now:
                time.sleep(self._next_at - now)
            else:
                self._next_at = now

    def _report(self, status: str, t: int) -> None:
        if status != self._reported:
            self._reported = status
            runs = [r.status for r in self.runs]
            self._say(ClientStatus(status=status, step=t, runs=runs).model_dump_json())

    # the outlet's reader thread ------------------------------------------------------------------------
    def _on_control(self, msg: ControlMessage) -> None:
        c = self._controls
        with c.cond:
            match msg.action:
                case "pause":
                    c.paused, c.budget = True, 0
                case "resume":
                    c.paused, c.budget = False, 0
                case "step":
                    if c.paused:
                        c.budget = self.every - self.step_count % self.every
                case "cancel":
                    c.cancelled = True
                case "pace":
                    c.pace = msg.steps_per_second
            c.cond.notify_all()

    def _on_lost(self) -> None:
        c = self._controls
        with c.cond:
            c.lost, c.paused = True, False  # nobody is left to resume it
            c.cond.notify_all()

    # the sender thread ---------------------------------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                text = item if isinstance(item, str) else self._frame(item)
                self.outlet.send(text)
            except Exception as e:  # a bad frame must not stop the frames after it
                warnings.warn(f"normscope: a frame could not be sent: {type(e).__name__}: {e}", stacklevel=1)

    def _frame(self, sample: _Sample) -> str:
        runs = []
        diverged = False
        for part in sample.parts:
            run, v, k = part.run, part.values.numpy(), part.stats_size
            layers = run.probe.unpack(v[:k]) if k and run.probe is not None else []
            losses = v[k : k + part.n_losses]
            if run.status == "running" and not np.isfinite(losses).all():
                run.status, diverged = "diverged", True
            metrics = {key: finite(float(x)) for key, x in part.logged.items()}
            val = None
            if "val_acc" in metrics or "val_loss" in metrics:
                val = EvalResult(loss=metrics.get("val_loss"), acc=metrics.get("val_acc"))
            runs.append(
                RunFrame(
                    index=run.index,
                    status=run.status,
                    loss=finite_list(losses),
                    train_acc=metrics.get("train_acc"),
                    val=val,
                    layers=layers,
                )
            )
        frame = Frame(
            step=sample.step,
            prev_step=sample.prev_step,
            sent_at=time.time(),
            elapsed=round(sample.elapsed, 4),
            runs=runs,
        )
        text = frame.model_dump_json()
        if diverged:  # the experiment's run list shows it too, as a worker's status message would
            status = ClientStatus(status="running", step=sample.step, runs=[r.status for r in self.runs])
            self.outlet.send(text)
            return status.model_dump_json()
        return text


def _run_end(status: str) -> RunStatus:
    return "done" if status == "done" else "cancelled"


def _norm_of(model: nn.Module) -> str:
    norms = [m for m in model.modules() if isinstance(m, NORM_TYPES)]
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in norms):
        return "batch"
    return "layer" if norms else "none"


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def watch(
    models: nn.Module | Mapping[str, nn.Module],
    *,
    server: str | None = None,
    token: str | None = None,
    out: str | Path | None = None,
    every: int = 10,
    name: str = "watched model",
    steps: int | None = None,
    layers: list[str] | None = None,
    max_layers: int = MAX_LAYERS,
    bins: int = 64,
    grad: bool = False,
    exact_quantiles_up_to: int = EXACT_QUANTILES_UP_TO,
    buffer: int = 64,
) -> Session:
    """Watch one model, or {label: model} trained side by side, in your own loop.

    server + token: stream to a running normscope server (the token is the presenter's, printed at its
    start; NORMSCOPE_TOKEN is read when none is given). out: write JSON lines instead, for `normscope import`.
    every: steps between frames. steps: how many you will train, for the page's progress (and a frame on
    the last). layers: glob patterns of module paths to watch (default all, up to max_layers). grad: also
    the loss gradient reaching each layer. buffer: frames that may wait for the network before new ones
    are dropped."""
    import os

    if (server is None) == (out is None):
        raise ValueError("watch() needs exactly one of server= (a normscope URL) or out= (a .jsonl path)")
    named = {type(models).__name__: models} if isinstance(models, nn.Module) else dict(models)
    if not named or not all(isinstance(m, nn.Module) for m in named.values()):
        raise ValueError("watch() takes an nn.Module or a non-empty {label: nn.Module}")
    spec_checks = ProbeSpec(every=every, bins=bins, grad=grad, exact_quantiles_up_to=exact_quantiles_up_to)
    outlet: Outlet
    session: Session
    if server is not None:
        token = token or os.environ.get("NORMSCOPE_TOKEN")
        if not token:
            raise ValueError("watch(server=...) needs token= (the presenter token the server printed)")
        outlet = ServerOutlet(server, token, lambda m: session._on_control(m), lambda: session._on_lost())
    else:
        outlet = FileOutlet(out)  # type: ignore[arg-type]
    session = Session(
        named,
        outlet,
        every=spec_checks.every,
        bins=spec_checks.bins,
        name=name,
        steps=steps,
        layers=layers,
        max_layers=max_layers,
        grad=grad,
        exact_quantiles_up_to=exact_quantiles_up_to,
        buffer=buffer,
    )
    return session
