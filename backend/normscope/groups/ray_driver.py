"""Trains one experiment's groups as Ray actors and turns their streams back into one worker's events.

Runs in the training worker process in place of a Trainer: the job manager sees the same layers, frames,
statuses, folds and end as from a local run (plus late parts, see merge.py). Frames travel as the actors'
streaming generators (Ray's object refs, bounded by Ray's backpressure), controls as actor calls."""

import itertools
import math
import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from normscope.catalog import DataRoot
from normscope.config import ExecutorSettings
from normscope.groups import describe, split
from normscope.groups.errors import RayUnavailable
from normscope.groups.member import GroupMember
from normscope.groups.merge import FrameMerger, Merged
from normscope.schemas import ControlCommand, ExperimentSpec, FoldResult, Frame, LayerInfo, RunFrame

STREAM_BACKPRESSURE = 4  # frames an actor may have in flight to the driver before its trainer waits
CONTROL_POLL_S = 0.1
REACH_TIMEOUT_S = 5.0


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise RayUnavailable(
            "NORMSCOPE_EXECUTOR=ray needs Ray in the server's environment: pip install 'normscope[ray]'"
        ) from e
    return ray


def connect(settings: ExecutorSettings) -> Any:
    """Ray, connected to the cluster at settings.ray_address (a process already connected stays so)."""
    ray = _ray()
    if not ray.is_initialized():
        _check_reachable(settings.ray_address)
        try:
            ray.init(address=settings.ray_address, log_to_driver=False, logging_level="WARNING")
        except ConnectionError as e:
            raise RayUnavailable(
                f"no Ray cluster at NORMSCOPE_RAY_ADDRESS={settings.ray_address!r} ({e}); start one with "
                "`ray start --head`, or name its address"
            ) from e
    return ray


def _check_reachable(address: str) -> None:
    """ray.init waits minutes on an address nobody answers at; a host:port is tried first, for seconds."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # auto, or a ray:// client address: Ray's own error comes at once
    try:
        socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as e:
        raise RayUnavailable(
            f"no Ray cluster answers at NORMSCOPE_RAY_ADDRESS={address!r} ({e.strerror or e}); start one "
            "with `ray start --head` there, or name the head's address"
        ) from e


class RayGroups:
    def __init__(
        self,
        spec: ExperimentSpec,
        device: str,
        settings: ExecutorSettings,
        data: DataRoot,
        on_frame: Callable[[Frame, bool], None],
        on_status: Callable[[str, int, list[str]], None],
        control: Callable[[float], ControlCommand | None],
        on_folds: Callable[[list[FoldResult]], None] | None = None,
    ) -> None:
        """on_frame(frame, late): late is a slow group's part of a step already sent (merge.py)."""
        self.spec, self.settings = spec, settings
        self.on_frame, self.on_status, self.control, self.on_folds = on_frame, on_status, control, on_folds
        self.groups = split(len(spec.variants), settings.variants_per_group)
        self.ray = connect(settings)
        gpus = settings.group_gpus if device.startswith("cuda") else 0
        self._check_room(gpus)
        member = self.ray.remote(GroupMember).options(
            num_cpus=settings.group_cpus, num_gpus=gpus, max_concurrency=2, max_restarts=0
        )
        threads = max(1, math.floor(settings.group_cpus))
        # inside an actor given a GPU, Ray makes it the only one visible: cuda:N becomes cuda
        actor_device = "cuda" if gpus else device
        # the progress callback writes to this worker's pipe: meaningless in another process, so it stays here
        where = replace(data, on_progress=None)
        self.actors = [
            member.remote(spec.model_dump_json(), g, actor_device, threads, where) for g in self.groups
        ]
        self.pids: list[int] = []
        self.statuses: list[str] = ["running"] * len(spec.variants)
        self.group_status: list[str] = ["running"] * len(self.groups)
        self.failures: dict[int, str] = {}
        self.folds: list[FoldResult] = []
        self.step = 0
        self.at: list[int] = [0] * len(self.groups)  # the step each group has reached, as far as it said
        self._numbers = [itertools.count() for _ in self.groups]  # each group's controls, kept in order
        self._said: tuple[str, list[str]] | None = None
        self._cancelled = False
        self._done = threading.Event()

    def _check_room(self, gpus: float) -> None:
        """Groups train side by side: a cluster that cannot hold them all at once would leave some waiting
        while the frames wait for them. Refused at the start, with what to change."""
        have = self.ray.cluster_resources()
        n, s = len(self.groups), self.settings
        for name, per, total in (
            ("CPU", s.group_cpus, have.get("CPU", 0)),
            ("GPU", gpus, have.get("GPU", 0)),
        ):
            if per and n * per > total + 1e-9:
                raise RayUnavailable(
                    f"{n} groups × {per:g} {name} need {n * per:g} {name}s; the Ray cluster has {total:g}. "
                    "Lower NORMSCOPE_RAY_GROUP_CPUS/_GPUS, raise NORMSCOPE_RAY_GROUP_VARIANTS, or add nodes"
                )

    def layout(self) -> list[LayerInfo]:
        """Calibrates every group on the whole experiment's magnitudes; the layers every frame is drawn on."""
        self.pids = self.ray.get([a.pid.remote() for a in self.actors])
        from normscope.engine.probe import merge_absmax  # torch: the worker has it imported already

        absmax: dict = {}
        for found in self.ray.get([a.absmax.remote() for a in self.actors]):
            merge_absmax(absmax, found)
        return self.ray.get([a.set_absmax.remote(absmax) for a in self.actors])[0]

    def run(self) -> tuple[str, str | None]:
        """Trains every group to its end; returns the experiment's final status and error."""
        events: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=64)
        readers = [
            threading.Thread(target=self._read, args=(g, events), name=f"group-{g}", daemon=True)
            for g in range(len(self.groups))
        ]
        for t in readers:
            t.start()
        threading.Thread(target=self._forward_controls, name="group-controls", daemon=True).start()
        merger = FrameMerger(self.groups)
        last: dict[int, list[RunFrame]] = {}
        try:
            for _ in range(len(self.groups)):  # until every group has ended or failed
                while True:
                    g, kind, *rest = events.get()
                    if kind == "frame":
                        last[g] = rest[0].runs
                        self.at[g] = max(self.at[g], rest[0].step)
                        self._send(merger.add(g, rest[0]))
                    elif kind == "status":
                        self._group_status(g, *rest)
                    elif kind == "folds":
                        self.folds += rest[0]
                    elif kind == "end":
                        self.group_status[g] = rest[0]
                        self._send(merger.end(g, last.get(g, [])))
                        break
                    elif kind == "failed":
                        self._fail(g, rest[0])
                        self._send(merger.fail(g))
                        break
        finally:
            self._done.set()
            self._release()
        return self._finish()

    def _release(self) -> None:
        """Every group has ended: its actors go now, not when their handles are collected (the driver lives on
        in a notebook or a test), so the next experiment's groups get the cluster's CPUs at once: a sweep
        started right after another waited ~20 s for them on a 2-CPU cluster."""
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)

    def _read(self, g: int, events: "queue.Queue[tuple[Any, ...]]") -> None:
        """One group's stream into the driver's queue; its end, or why it failed, last."""
        stream = (
            self.actors[g]
            .run.options(num_returns="streaming", _generator_backpressure_num_objects=STREAM_BACKPRESSURE)
            .remote()
        )
        try:
            for ref in stream:
                event = self.ray.get(ref)
                events.put((g, *event))
        except Exception as e:
            events.put((g, "failed", self._reason(g, e)))

    def _reason(self, g: int, e: Exception) -> str:
        exceptions = self.ray.exceptions
        where = describe(self.groups[g])
        if isinstance(e, exceptions.RayActorError):
            pid = f" (pid {self.pids[g]})" if g < len(self.pids) else ""
            return f"the Ray worker training {where}{pid} died: {str(e).splitlines()[0]}"
        if isinstance(e, exceptions.RayTaskError):
            cause = e.cause if isinstance(e.cause, BaseException) else e
            return f"{where} failed: {type(cause).__name__}: {cause}"
        return f"{where} failed: {type(e).__name__}: {e}"

    def _forward_controls(self) -> None:
        """Every control goes to every group still training: pause, step, pace, cancel, set_lr."""
        while not self._done.is_set():
            cmd = self.control(CONTROL_POLL_S)
            if cmd is None:
                continue
            if cmd.action == "cancel":
                self._cancelled = True
            training = [g for g, s in enumerate(self.group_status) if s in ("running", "paused")]
            if cmd.action == "step" and all(self.group_status[g] == "paused" for g in training):
                # groups paused at different steps: each trains to the same next frame
                every = self.spec.probe.every
                to = max((self.at[g] // every + 1) * every for g in training)
                for g in training:
                    self.at[g] = to
                    self.actors[g].step_to.remote(next(self._numbers[g]), to)
                continue
            for g in training:
                self.actors[g].control.remote(next(self._numbers[g]), cmd.model_dump())

    def _send(self, merged: list[Merged]) -> None:
        for m in merged:
            self.step = max(self.step, m.frame.step)
            self.on_frame(m.frame, m.late)

    def _group_status(self, g: int, status: str, step: int, runs: list[str]) -> None:
        self.group_status[g] = status
        self.at[g] = max(self.at[g], step)
        for i, s in zip(self.groups[g], runs, strict=True):
            self.statuses[i] = s
        self.step = max(self.step, step)
        self._say()

    def _fail(self, g: int, reason: str) -> None:
        self.failures[g] = reason
        self.group_status[g] = "failed"
        for i in self.groups[g]:
            self.statuses[i] = "failed"
        self._say()

    def _say(self) -> None:
        """The experiment's status: paused while every group still training is, else running."""
        training = [s for s in self.group_status if s in ("running", "paused")]
        overall = "paused" if training and all(s == "paused" for s in training) else "running"
        said = (overall, list(self.statuses))
        if said != self._said:
            self._said = said
            self.on_status(overall, self.step, list(self.statuses))

    def _finish(self) -> tuple[str, str | None]:
        error = "; ".join(self.failures[g] for g in sorted(self.failures)) or None
        if len(self.failures) == len(self.groups):
            final = "failed"
        else:
            final = "cancelled" if self._cancelled else "done"
        if self.on_folds is not None and self.folds:
            self.on_folds(sorted(self.folds, key=lambda f: f.index))
        self.on_status(final, self.step, list(self.statuses))
        return final, error
