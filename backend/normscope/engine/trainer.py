"""Trainer: every variant of an experiment trained in lockstep, with frames, evaluation and live controls."""

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from normscope.engine.data import BatchSampler, DataRoot, Dataset, crop_flip, load_dataset
from normscope.engine.evaluate import batch_dependence, evaluate, frozen_bn_stats, has_batchnorm
from normscope.engine.fold import fold_report
from normscope.engine.landscape import LandscapeProbe
from normscope.engine.models import ProbedNet, build_model
from normscope.engine.offload import Offload
from normscope.engine.probe import Packer, Probe, Taken, finite, finite_list, layout, merge_absmax, tap_range
from normscope.schemas import (
    BatchDependence,
    ControlCommand,
    EvalResult,
    ExperimentSpec,
    FoldResult,
    Frame,
    LayerInfo,
    LrChange,
    RunFrame,
)
from normscope.schemas.frame import RunStatus, Tap

PAUSED_POLL_S = 0.1
FOLD_SAMPLES = 2048

FrameSink = Callable[[Frame], None]
StatusSink = Callable[[str, int, list[RunStatus]], None]
FoldSink = Callable[[list[FoldResult]], None]
ControlSource = Callable[[float], ControlCommand | None]
StepKind = Literal["unsampled", "sampled", "landscape"]


@dataclass
class Run:
    """One variant's training: model, optimizer, probe, and what accumulates on the device between samples."""

    index: int
    label: str
    model: ProbedNet
    optimizer: torch.optim.Optimizer
    probe: Probe
    batch_size: int
    data: tuple[torch.Tensor, ...]
    lr: float
    landscape: LandscapeProbe | None = None
    status: RunStatus = "running"
    losses: list[torch.Tensor] = field(default_factory=list)
    correct: torch.Tensor | None = None
    seen: int = 0
    lr_changes: list[LrChange] = field(default_factory=list)  # since the last frame

    @property
    def has_batchnorm(self) -> bool:
        return has_batchnorm(self.model)

    def set_lr(self, lr: float, from_step: int) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.landscape is not None:
            self.landscape.set_lr(lr)
        self.lr = lr
        self.lr_changes.append(LrChange(step=from_step, lr=lr))


@dataclass
class RunSample:
    """One run's part of a sampled step, handed to the frames thread: the probe's take, and the rest of the
    run's numbers still on the device (losses, train accuracy, evaluation, landscape) in one vector."""

    run: Run
    taken: Taken
    tail: torch.Tensor
    losses: int
    lr: float
    lr_changes: list[LrChange]
    etas: list[float] | None  # the landscape's step sizes when it was probed


def make_optimizer(spec: ExperimentSpec, i: int, model: nn.Module) -> torch.optim.Optimizer:
    lr, wd = spec.variant_lr(i), spec.variant_weight_decay(i)
    if spec.optimizer.name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=spec.variant_momentum(i), weight_decay=wd)


class Trainer:
    def __init__(
        self,
        spec: ExperimentSpec,
        device: torch.device | str = "cpu",
        on_frame: FrameSink | None = None,
        on_status: StatusSink | None = None,
        control: ControlSource | None = None,
        dataset: Dataset | None = None,
        on_folds: FoldSink | None = None,
        data_root: DataRoot | None = None,
        channels_last: bool | None = None,
        variants: Sequence[int] | None = None,
        calibrate: bool = True,
    ) -> None:
        """`variants`: the indices this trainer trains (a group of a larger experiment; all by default).
        A group's histogram ranges must be the whole experiment's: it is built with calibrate=False, and
        set_absmax gets every group's absmax merged."""
        self.spec = spec
        self.device = torch.device(device)
        self.on_frame = on_frame or (lambda f: None)
        self.on_status = on_status or (lambda s, step, runs: None)
        self.on_folds = on_folds
        self.control = control or (lambda timeout: None)
        torch.manual_seed(spec.seed)
        self.dataset = dataset or load_dataset(spec.dataset, spec.seed, data_root)
        conv = spec.model.kind != "mlp"
        # channels-last is what cuDNN's fastest conv kernels read; on a CPU it only adds copies
        self.channels_last = conv and (self.device.type == "cuda" if channels_last is None else channels_last)
        self.augment = spec.dataset.augmented and self.dataset.pixels
        self.autocast = spec.precision == "bf16"
        self.step = 0
        self.status = "running"
        self.paused = False
        self.step_budget = 0
        self.pace: float | None = spec.pace
        self.elapsed = 0.0
        self.samples = 0
        indices = range(len(spec.variants)) if variants is None else variants
        self.runs = [self._build_run(i) for i in indices]
        n_train = len(self.dataset.y_train)
        self.samplers = {
            b: BatchSampler(n_train, b, spec.seed, self.device, self.augment)
            for b in sorted({r.batch_size for r in self.runs})
        }
        self._layers: list[LayerInfo] = []
        # statistics, host copy, decoding and the sinks run here, in order, while training goes on
        self._frames = Offload("frames")
        self._packers: dict[tuple[int, ...], Packer] = {}  # by the runs still training: one per set
        # runs the frames thread found diverged; only the training thread sets run.status, between steps
        self._diverged: set[int] = set()
        if calibrate:
            self.set_absmax(self.absmax())

    def _build_run(self, i: int) -> Run:
        d = self.dataset
        standardize = self.spec.variant_standardize(i)
        model = build_model(self.spec, i, d.input_shape(standardize)).to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
            model.input.channels_last = True
        lr = self.spec.variant_lr(i)
        probe_spec = self.spec.probe
        return Run(
            index=i,
            label=self.spec.variants[i].label,
            model=model,
            optimizer=make_optimizer(self.spec, i, model),
            probe=Probe(
                model,
                self.spec.model.activation,
                probe_spec.bins,
                probe_spec.exact_quantiles_up_to,
                self.spec.seed,
                probe_spec.grad,
            ),
            batch_size=self.spec.variant_batch_size(i),
            data=d.tensors(standardize, self.device),
            lr=lr,
            correct=torch.zeros((), dtype=torch.long, device=self.device),
            landscape=(
                LandscapeProbe(model, lr, probe_spec.landscape_steps) if probe_spec.landscape_every else None
            ),
        )

    # setup -------------------------------------------------------------------------------------------
    def absmax(self) -> dict[tuple[int, Tap], float]:
        """Every tap's largest magnitude on the first batch, over this trainer's variants: a forward pass (and
        a backward pass, whose gradients are dropped, when the grad tap is on)."""
        absmax: dict[tuple[int, Tap], float] = {}
        grad = self.spec.probe.grad
        for run in self.runs:
            idx = BatchSampler(len(self.dataset.y_train), run.batch_size, self.spec.seed, self.device).next()
            with run.probe.attached(), torch.set_grad_enabled(grad), frozen_bn_stats(run.model):
                run.probe.arm()
                out = run.model(run.data[0][idx])
                if grad:
                    F.cross_entropy(out, run.data[1][idx]).backward()
                    run.model.zero_grad(set_to_none=True)
                merge_absmax(absmax, run.probe.absmax())
        return absmax

    def set_absmax(self, absmax: Mapping[tuple[int, Tap], float]) -> None:
        """Fix every histogram range from the first batch's magnitudes, shared by all variants."""
        has_act = [b.act is not None for b in self.runs[0].probe.blocks]
        ranges = {k: tap_range(self.spec.model.activation, k[1], v, has_act[k[0]]) for k, v in absmax.items()}
        for run in self.runs:
            run.probe.set_ranges(ranges)
        self._layers = layout(dict(enumerate(self.runs[0].probe.layer_names)), ranges, self.spec.probe.bins)

    def layout(self) -> list[LayerInfo]:
        return self._layers

    def fold_reports(self) -> list[FoldResult]:
        """Every BN run that did not diverge, folded for inference and compared on (up to 2048 of) the val
        split: one forward each, which for a VGG on all of CIFAR's would hold gigabytes of activations."""
        return [
            fold_report(r.index, r.label, r.model, r.data[2][:FOLD_SAMPLES])
            for r in self.runs
            if r.has_batchnorm and r.status != "diverged"
        ]

    # control -----------------------------------------------------------------------------------------
    def _statuses(self) -> list[RunStatus]:
        return [("diverged" if r.index in self._diverged else r.status) for r in self.runs]

    def _stop_diverged(self) -> bool:
        """Between steps: runs a frame showed diverged stop training. Whether any run is still training."""
        for r in self.runs:
            if r.status == "running" and r.index in self._diverged:
                r.status = "diverged"
        return any(r.status == "running" for r in self.runs)

    def _set_status(self, status: str) -> None:
        self.status = status
        self._say(self.on_status, status, self.step, self._statuses())

    def _say(self, sink: Callable[..., None], *args: object) -> None:
        """Every sink call goes through the frames thread: one caller, in the order the steps made them."""
        self._frames.submit(partial(sink, *args))

    def flush(self) -> None:
        """Wait until every frame and status so far has reached its sink."""
        self._frames.flush()

    def _handle(self, cmd: ControlCommand) -> None:
        match cmd.action:
            case "pause":
                if not self.paused:
                    self.paused, self.step_budget = True, 0
                    self._set_status("paused")
            case "resume":
                if self.paused:
                    self.paused, self.step_budget = False, 0
                    self._set_status("running")
            case "step":
                if self.paused:
                    every = self.spec.probe.every
                    self.step_budget = every - self.step % every  # up to the next frame
            case "cancel":
                self.status = "cancelled"
            case "pace":
                self.pace = cmd.steps_per_second
            case "set_lr":  # between steps: the next step is the first at the new rate
                assert cmd.lr is not None
                for r in self.runs:
                    if r.status == "running" and cmd.variant in (None, r.index):
                        r.set_lr(cmd.lr, self.step + 1)

    def step_to(self, step: int) -> None:
        """While paused, train up to `step` (a frame's step) and pause there: groups of one experiment that
        paused at different steps all stop at the same frame (call it on the training thread)."""
        if self.paused:
            self.step_budget = max(0, min(step, self.spec.steps) - self.step)

    def _drain_controls(self, timeout: float) -> None:
        cmd = self.control(timeout)
        while cmd is not None:
            self._handle(cmd)
            cmd = self.control(0.0)

    # training ----------------------------------------------------------------------------------------
    def run(self) -> str:
        """Train to the end, a cancel, or every run diverged; returns the final status."""
        spec = self.spec
        self._say(self.on_status, "running", 0, self._statuses())
        next_at = time.monotonic()
        with ExitStack() as stack:
            stack.callback(self._frames.close)
            for r in self.runs:  # hooks are added for each sampled forward; none outlives the run
                stack.callback(r.probe.detach)
            while self.step < spec.steps and self._stop_diverged():
                self._drain_controls(0.0)
                if self.status == "cancelled":
                    break
                if self.paused and self.step_budget == 0:
                    self._drain_controls(PAUSED_POLL_S)
                    next_at = time.monotonic()
                    continue
                t0 = time.monotonic()
                self.advance()
                if self.paused:
                    self.step_budget -= 1
                self.elapsed += time.monotonic() - t0
                if self.pace:
                    next_at += 1.0 / self.pace
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        self._drain_controls(delay)  # sleeping on the control pipe keeps controls instant
                    else:
                        next_at = time.monotonic()
            self.flush()
            self._stop_diverged()  # every frame built: a run that diverged in one is no longer running
        for r in self.runs:
            if r.status == "running":
                r.status = "cancelled" if self.status == "cancelled" else "done"
        final = "cancelled" if self.status == "cancelled" else "done"
        if self.on_folds is not None:  # before the final status: whoever sees "done" finds the folds there
            folds = self.fold_reports()
            if folds:
                self.on_folds(folds)
        self.status = final
        self.on_status(final, self.step, self._statuses())  # the frames thread has ended: no other caller
        return final

    def advance(self) -> StepKind:
        """One step of every running variant, with its frame when the step is sampled (probes attached)."""
        self._stop_diverged()
        self.step += 1
        sampled = self.step % self.spec.probe.every == 0 or self.step == self.spec.steps
        landscape = sampled and self._landscape_due()
        batches = {b: s.next() for b, s in self.samplers.items()}
        for r in self.runs:
            if r.status == "running":
                self._train_step(r, batches[r.batch_size], sampled, landscape)
        if sampled and any(r.status == "running" for r in self.runs):
            self._emit_frame()
        return "landscape" if landscape else "sampled" if sampled else "unsampled"

    def _landscape_due(self) -> bool:
        """The landscape probe runs on the sampled step of every landscape_every-th frame."""
        n = self.spec.probe.landscape_every
        return n > 0 and (self.samples + 1) % n == 0

    def _train_step(self, run: Run, batch: torch.Tensor, sampled: bool, landscape: bool = False) -> None:
        if self.augment:  # (batch, 4): index, then the crop and flip of that position in the epoch
            x, y = crop_flip(run.data[0][batch[:, 0]], batch[:, 1:]), run.data[1][batch[:, 0]]
        else:
            x, y = run.data[0][batch], run.data[1][batch]
        if sampled:
            run.probe.attach()
            run.probe.arm()
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.autocast else nullcontext()
        with autocast:
            out = run.model(x)
            loss = F.cross_entropy(out, y)
        if sampled:  # hooked only for the sampled forward: unsampled steps call no Python hook at all
            run.probe.unhook()
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if sampled:
            run.probe.snapshot_weights()
        probe_landscape = landscape and run.landscape is not None
        if probe_landscape:
            with run.probe.muted():
                run.landscape.before_step(x, y, loss)
        run.optimizer.step()
        if probe_landscape:
            with run.probe.muted():
                run.landscape.after_step(x, y)
        run.losses.append(loss.detach())
        run.correct += (out.detach().argmax(dim=1) == y).sum()
        run.seen += len(y)

    def _evaluate(self, run: Run) -> torch.Tensor:
        """[loss, acc] on the val split in eval mode, then in train mode; then batch dependence if asked."""
        parts = [evaluate(run.model, run.data[2], run.data[3], run.batch_size).double()]
        if self._measures_dependence(run):
            seed = self.spec.seed + self.samples
            parts.append(batch_dependence(run.model, run.data[2], run.batch_size, seed))
        return torch.cat(parts)

    def _measures_dependence(self, run: Run) -> bool:
        return self.spec.probe.batch_dependence and run.has_batchnorm

    def _emit_frame(self) -> None:
        """On the training thread, only what cannot wait: each run's take, its losses and accuracy, the
        evaluation and landscape numbers, all left on the device; the frames thread builds the Frame."""
        self.samples += 1
        prev = self.step - len(next(r.losses for r in self.runs if r.status == "running"))
        evaluated = self.samples % self.spec.probe.eval_every == 0 or self.step == self.spec.steps
        parts = [self._sample(r, evaluated) for r in self.runs if r.status == "running"]
        build = partial(self._build_frame, self.step, prev, round(self.elapsed, 4), evaluated, parts)
        self._frames.submit(build)

    def _sample(self, run: Run, evaluated: bool) -> RunSample:
        tail = [torch.stack(run.losses).double(), (run.correct.double() / max(run.seen, 1)).reshape(1)]
        if evaluated:
            tail.append(self._evaluate(run))
        probed = run.landscape is not None and run.landscape.pending
        if probed:
            tail.append(run.landscape.pack())
        sample = RunSample(
            run=run,
            taken=run.probe.take(),
            tail=torch.cat(tail),
            losses=len(run.losses),
            lr=run.lr,
            lr_changes=run.lr_changes,
            etas=list(run.landscape.etas) if probed else None,
        )
        run.losses, run.lr_changes = [], []
        run.correct.zero_()
        run.seen = 0
        return sample

    def _build_frame(
        self, step: int, prev: int, elapsed: float, evaluated: bool, parts: list[RunSample]
    ) -> None:
        """On the frames thread: statistics, the one device-to-host copy, decoding, the Frame and its sink.
        A run that diverged in an earlier frame is a stub here, whatever the training thread sent for it."""
        live = [p for p in parts if p.run.index not in self._diverged]
        key = tuple(p.run.index for p in live)
        if key not in self._packers:
            self._packers[key] = Packer([p.run.probe for p in live])
        packer = self._packers[key]
        stats = packer.pack([p.taken for p in live]) if live else []
        packed = [torch.cat([v, p.tail]) for v, p in zip(stats, live, strict=True)]
        host = torch.cat(packed).cpu().numpy() if packed else np.zeros(0)
        frames_by_run: dict[int, RunFrame] = {}
        pos = 0
        diverged = False
        for p, v in zip(live, packed, strict=True):
            frames_by_run[p.run.index], became_diverged = self._run_frame(
                p, host[pos : pos + v.numel()], evaluated
            )
            pos += v.numel()
            diverged |= became_diverged
        runs = [
            frames_by_run.get(r.index)
            or RunFrame(index=r.index, status=status, loss=[], train_acc=None, layers=[])
            for r, status in zip(self.runs, self._statuses(), strict=True)
        ]
        self.on_frame(Frame(step=step, prev_step=prev, sent_at=time.time(), elapsed=elapsed, runs=runs))
        if diverged:
            self.on_status(self.status, step, self._statuses())

    def _run_frame(self, sample: RunSample, v: np.ndarray, evaluated: bool) -> tuple[RunFrame, bool]:
        run = sample.run
        k = run.probe.packed_size()
        layers = run.probe.unpack(v[:k])
        pos = k + sample.losses
        losses = v[k:pos]
        train_acc = finite(v[pos])
        pos += 1
        val = val_train = dependence = None
        if evaluated:
            e = v[pos : pos + 4]
            pos += 4
            val = EvalResult(loss=finite(e[0]), acc=finite(e[1]))
            val_train = EvalResult(loss=finite(e[2]), acc=finite(e[3]))
            if self._measures_dependence(run):
                dependence = BatchDependence(flips=finite(v[pos]), flips_pairs=finite(v[pos + 1]))
                pos += 2
        landscape = None
        if sample.etas is not None:
            assert run.landscape is not None
            landscape = run.landscape.unpack(v[pos : pos + run.landscape.packed_size()], sample.etas)
        bad = np.flatnonzero(~np.isfinite(losses))
        became_diverged = len(bad) > 0
        if became_diverged:
            losses = losses[: bad[0] + 1]  # the loss curve ends at the first non-finite step
            self._diverged.add(run.index)  # the training thread stops it at its next step
        frame = RunFrame(
            index=run.index,
            status="diverged" if became_diverged else "running",
            loss=finite_list(losses),
            train_acc=train_acc,
            val=val,
            val_train_mode=val_train,
            layers=layers,
            landscape=landscape,
            batch_dependence=dependence,
            lr=sample.lr,
            lr_changes=sample.lr_changes,
        )
        return frame, became_diverged
