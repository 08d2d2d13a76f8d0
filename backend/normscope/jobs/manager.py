"""JobManager: one worker process per running experiment, a warm spare, a queue, controls and crash detection.

State is changed on the event loop only; each worker has a reader thread that stores its frames and
publishes them, and hands the worker's exit back to the loop."""

import asyncio
import json
import logging
import multiprocessing as mp
import signal
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from normscope.jobs.worker import worker_main
from normscope.realtime import Hub
from normscope.schemas import (
    TERMINAL,
    ControlCommand,
    Experiment,
    ExperimentSpec,
    LayerInfo,
    LayersMessage,
    StatusMessage,
)
from normscope.store import Store

log = logging.getLogger("normscope.jobs")


class ControlError(Exception):
    """A control that does not apply to the experiment's current state (maps to 409)."""


@dataclass
class Worker:
    process: BaseProcess
    jobs: Connection
    events: Connection
    experiment_id: str | None = None
    end: tuple[str, str | None] | None = None  # (status, error) as the worker reported it
    ready: threading.Event = field(default_factory=threading.Event)
    fatal: str | None = None


class JobManager:
    def __init__(
        self,
        store: Store,
        hub: Hub,
        device_setting: str,
        threads: int,
        max_running: int,
        warm_spare: bool = True,
    ) -> None:
        self.store, self.hub = store, hub
        self.warm_spare = warm_spare
        self.device_setting, self.threads, self.max_running = device_setting, threads, max_running
        self.device: str | None = None  # as the first worker resolved it
        self._ctx = mp.get_context("spawn")
        self._running: dict[str, Worker] = {}
        self._queue: deque[str] = deque()
        self._spare: Worker | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    # lifecycle ---------------------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.hub.bind(loop)
        self._spare = self._spawn()

    def wait_ready(self, timeout: float = 120.0) -> str:
        """Block until the first worker has imported torch and resolved the device; raise if it cannot.
        Without a warm spare that worker only checks the device and leaves."""
        spare = self._spare
        assert spare is not None, "start() first"
        if not spare.ready.wait(timeout):
            raise RuntimeError(f"the training worker was not ready after {timeout:.0f} s")
        if spare.fatal:
            raise RuntimeError(spare.fatal)
        if not self.warm_spare:
            self._spare = None
            spare.jobs.close()  # it exits on the closed pipe
        assert self.device is not None
        return self.device

    def stop(self) -> None:
        """Server shutdown: workers are killed and their experiments kept as interrupted, frames intact."""
        self._closing = True
        workers = list(self._running.values()) + ([self._spare] if self._spare else [])
        for w in workers:
            if w.process.is_alive():
                w.process.kill()
        for w in workers:
            w.process.join(timeout=5)
        for eid in list(self._running) + list(self._queue):
            self.store.set_status(eid, "interrupted", error="the server stopped while it ran")
            self.store.end_unfinished_runs(eid, "interrupted")
        self._running.clear()
        self._queue.clear()

    def _spawn(self) -> Worker:
        jobs_parent, jobs_child = self._ctx.Pipe()
        events_parent, events_child = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=worker_main,
            args=(jobs_child, events_child, self.threads, self.device_setting),
            name="normscope-worker",
            daemon=True,
        )
        proc.start()
        jobs_child.close()
        events_child.close()
        worker = Worker(process=proc, jobs=jobs_parent, events=events_parent)
        threading.Thread(
            target=self._read, args=(worker,), name=f"worker-reader-{proc.pid}", daemon=True
        ).start()
        return worker

    def worker_pid(self, experiment_id: str) -> int | None:
        w = self._running.get(experiment_id)
        return w.process.pid if w else None

    @property
    def spare_ready(self) -> bool:
        return self._spare is not None and self._spare.ready.is_set()

    # launching and controls (event loop) -------------------------------------------------------------
    def launch(self, spec: ExperimentSpec) -> Experiment:
        eid = uuid.uuid4().hex[:12]
        experiment = self.store.create(eid, spec)
        self._queue.append(eid)
        self._schedule()
        return self.store.get(eid) or experiment

    def _schedule(self) -> None:
        while self._queue and len(self._running) < self.max_running and not self._closing:
            eid = self._queue.popleft()
            experiment = self.store.get(eid)
            if experiment is None:
                continue
            worker = self._spare if self._spare and self._spare.process.is_alive() else self._spawn()
            self._spare = None
            worker.experiment_id = eid
            self._running[eid] = worker
            worker.jobs.send(("start", experiment.spec.model_dump_json()))
            if self.warm_spare:
                self._spare = self._spawn()  # the next launch starts warm too

    def control(self, experiment_id: str, cmd: ControlCommand) -> Experiment:
        experiment = self.store.get(experiment_id)
        if experiment is None:
            raise KeyError(experiment_id)
        if experiment.status in TERMINAL:
            raise ControlError(
                f"experiment {experiment_id} is {experiment.status}; there is nothing to control"
            )
        if experiment_id in self._running:
            try:
                self._running[experiment_id].jobs.send(cmd.model_dump())
            except (BrokenPipeError, OSError) as e:
                raise ControlError(f"experiment {experiment_id}'s worker is gone") from e
        elif experiment_id in self._queue:
            if cmd.action != "cancel":
                raise ControlError(
                    f"experiment {experiment_id} is queued; only 'cancel' applies until it starts"
                )
            self._queue.remove(experiment_id)
            self._finish(experiment_id, "cancelled", None)
        return self.store.get(experiment_id) or experiment

    def delete(self, experiment_id: str) -> bool:
        worker = self._running.pop(experiment_id, None)
        if worker is not None and worker.process.is_alive():
            worker.process.kill()  # its reader sees the pipe close; the experiment is gone by then
        if experiment_id in self._queue:
            self._queue.remove(experiment_id)
        deleted = self.store.delete(experiment_id)
        self._schedule()
        return deleted

    def _finish(self, experiment_id: str, status: str, error: str | None) -> None:
        self.store.set_status(experiment_id, status, error=error)
        self.store.end_unfinished_runs(experiment_id, status)
        self._publish_status(experiment_id)

    def _publish_status(self, experiment_id: str) -> None:
        e = self.store.get(experiment_id)
        if e is not None:
            msg = StatusMessage(status=e.status, step=e.step, runs=e.runs, error=e.error)
            self.hub.publish(experiment_id, msg.model_dump_json(), droppable=False)

    # worker events (reader thread) -------------------------------------------------------------------
    def _read(self, worker: Worker) -> None:
        while True:
            try:
                msg = worker.events.recv()
            except (EOFError, OSError):
                break
            try:
                self._on_event(worker, msg)
            except Exception:  # a bad event must not kill the reader; the worker's exit is still handled
                log.exception("worker event %r failed", msg[:1])
        worker.process.join(timeout=5)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_exit, worker)

    def _on_event(self, worker: Worker, msg: tuple) -> None:
        kind = msg[0]
        if kind == "ready":
            self.device = msg[2]
            worker.ready.set()
            return
        if kind == "fatal":
            worker.fatal = msg[1]
            worker.ready.set()
            return
        eid = worker.experiment_id
        if eid is None:
            return
        if kind == "frame":
            _, step, prev_step, body = msg
            self.store.add_frame(eid, step, prev_step, body)
            self.hub.publish_threadsafe(eid, body, droppable=True)
        elif kind == "layers":
            self.store.set_layers(eid, msg[1])
            layers = [LayerInfo.model_validate(x) for x in json.loads(msg[1])]
            self.hub.publish_threadsafe(eid, LayersMessage(layers=layers).model_dump_json(), droppable=False)
        elif kind == "status":
            _, status, step, runs = msg
            self.store.set_status(eid, status, step=step, run_statuses=runs)
            e = self.store.get(eid)
            if e is not None:
                text = StatusMessage(
                    status=e.status, step=e.step, runs=e.runs, error=e.error
                ).model_dump_json()
                self.hub.publish_threadsafe(eid, text, droppable=False)
        elif kind == "fold":
            self.store.set_folds(eid, msg[1])
        elif kind == "end":
            worker.end = (msg[1], msg[2])

    def _on_exit(self, worker: Worker) -> None:
        """On the loop: a worker process ended, normally or not; its experiment gets a terminal status."""
        if worker is self._spare:
            self._spare = self._spawn() if self.warm_spare and not (self._closing or worker.fatal) else None
            return
        eid = worker.experiment_id
        if eid is None or self._running.get(eid) is not worker:
            return  # deleted, or the server is stopping
        del self._running[eid]
        if worker.end is not None:
            status, error = worker.end
        else:
            status, error = "failed", _death_reason(worker.process.exitcode)
        log.info("experiment %s ended: %s %s", eid, status, error or "")
        self._finish(eid, status, error)
        self._schedule()


def _death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (out of memory, or killed)" if name == "SIGKILL" else ""
        return f"the training worker was killed by {name}{hint}"
    return f"the training worker exited unexpectedly with code {exitcode}"
