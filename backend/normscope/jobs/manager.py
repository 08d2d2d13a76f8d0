"""JobManager: one worker process per running experiment, a warm spare, a queue, controls and crash detection.

Who changes what: the manager's state (what runs, what queues, the spare, the spare's failures) belongs to
the event loop. The routes that launch, control and delete are async and call in on the loop; each worker's
reader thread stores and publishes that worker's events (the store and publish_threadsafe are safe from any
thread) and hands the worker's exit back to the loop. One thread, and no await inside a change, so two
changes never interleave. The loop rather than a lock: the Hub's queues already belong to the loop, so
status messages go out in the same step as the state change that caused them, and a caller on the wrong
thread is refused at once instead of racing."""

import asyncio
import contextlib
import json
import logging
import multiprocessing as mp
import signal
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from normscope.catalog import FILE_DATASETS, DataRoot, unavailable
from normscope.config import ExecutorSettings
from normscope.groups.merge import merge_late
from normscope.jobs.external import ExternalLink
from normscope.jobs.player import Player
from normscope.jobs.prepared import PreparedMarks
from normscope.jobs.worker import worker_main
from normscope.realtime import Hub
from normscope.schemas import (
    TERMINAL,
    ControlCommand,
    DownloadMessage,
    Experiment,
    ExperimentSource,
    ExperimentSpec,
    Frame,
    LayerInfo,
    LayersMessage,
    MarkCreate,
    StatusMessage,
)
from normscope.store import Store, StoreFull

log = logging.getLogger("normscope.jobs")

# what a worker imports before it can train (~3 s of CPU each): imported once, in the fork server; dynamo
# because every torch.optim optimizer imports it when first built
WORKER_PRELOAD = [
    "torch",
    "torch._dynamo",
    "normscope.engine.trainer",
    "normscope.jobs.worker",
]

DELETED_CLOSE = (4410, "experiment deleted")  # websocket close code and reason for viewers of a deleted one
DELETED_ERROR = "deleted by the presenter"
SPARE_BACKOFF_S = 0.5  # first wait before respawning a spare that died before it was ready; doubles each time
SPARE_MAX_FAILURES = 5  # spares in a row that die before they are ready: then stop and report it in health
RECORDED_LR = "a recording cannot change its learning rate; train the lesson live to use the knob"


class ControlError(Exception):
    """A control that does not apply to the experiment's current state (maps to 409)."""


class QueueFull(Exception):
    """Every slot is taken and the queue holds max_queued experiments already (maps to 429)."""


class FilesMissing(Exception):
    """A dataset's files are not on disk and the server may not download them (maps to 422)."""


class NoRoom(Exception):
    """The store is at its size limit: a new experiment could not keep its frames (maps to 507)."""


@dataclass
class Worker:
    process: BaseProcess
    jobs: Connection
    events: Connection
    experiment_id: str | None = None
    device: str | None = None  # where its experiment trains
    end: tuple[str, str | None] | None = None  # (status, error) as the worker reported it
    ready: threading.Event = field(default_factory=threading.Event)
    fatal: str | None = None
    discarded: bool = False  # its experiment was deleted: what it still sends is dropped
    failure: str | None = None  # why the server stopped it (the store is full): its experiment's error


def worker_context() -> BaseContext:
    """Workers fork from multiprocessing's fork server, which imported torch once (it runs no thread, so
    forking it is safe, and CUDA starts in each worker): a new spare is ready in ~0.1 s instead of paying
    ~4 s of CPU for its imports. Spawn where there is no fork server (Windows)."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_PRELOAD)
    return ctx


class JobManager:
    def __init__(
        self,
        store: Store,
        hub: Hub,
        device_setting: str,
        threads: int,
        max_running: int,
        warm_spare: bool = True,
        max_queued: int | None = None,
        spare_backoff_s: float = SPARE_BACKOFF_S,
        spare_max_failures: int = SPARE_MAX_FAILURES,
        data: DataRoot | None = None,
        executor: ExecutorSettings | None = None,
    ) -> None:
        self.store, self.hub = store, hub
        self.executor = executor or ExecutorSettings()
        self.warm_spare = warm_spare
        self.device_setting, self.threads, self.max_running = device_setting, threads, max_running
        self.max_queued = max_queued
        self.spare_backoff_s, self.spare_max_failures = spare_backoff_s, spare_max_failures
        self.data = data or DataRoot()
        self.devices: list[str] = []  # as the first worker resolved them; max_running applies to each
        self.degraded: str | None = None  # why no spare is kept any more, after failures in a row
        self._ctx = worker_context()
        self._running: dict[str, Worker] = {}
        self._external: dict[str, ExternalLink] = {}  # watch clients connected now, by experiment
        self._players: dict[str, Player] = {}  # recordings playing now, by experiment
        self.prepared = PreparedMarks(store, hub)  # lessons' marks waiting for their steps
        self._queue: deque[str] = deque()
        self._spare: Worker | None = None
        self._spare_failures = 0
        self._respawn: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._closing = False

    # lifecycle ---------------------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self.hub.bind(loop)
        if self.device_setting == "cpu" and not self.warm_spare:
            # nothing to resolve or keep warm: no worker, and no torch in any process, until a launch trains
            # (a hall that plays recordings starts in a second)
            self.devices = ["cpu"]
            return
        self._spare = self._spawn()

    def wait_ready(self, timeout: float = 120.0) -> str:
        """Block until the first worker has imported torch and resolved the device; raise if it cannot.
        Without a warm spare that worker only checks the device and leaves; on the cpu there is none."""
        spare = self._spare
        if spare is None and self.device is not None:
            return self.device
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

    @property
    def device(self) -> str | None:
        return ",".join(self.devices) or None

    def stop(self) -> None:
        """Server shutdown: workers are killed and their experiments kept as interrupted, frames intact."""
        self._closing = True
        if self._respawn is not None:
            self._respawn.cancel()
        workers = list(self._running.values()) + ([self._spare] if self._spare else [])
        for w in workers:
            if w.process.is_alive():
                w.process.kill()
        for w in workers:
            w.process.join(timeout=5)
        for link in self._external.values():
            link.close()
        for player in self._players.values():
            player.discard()
        for eid in list(self._running) + list(self._queue) + list(self._external) + list(self._players):
            try:
                self.store.set_status(eid, "interrupted", error="the server stopped while it ran")
                self.store.end_unfinished_runs(eid, "interrupted")
            except StoreFull as e:  # the next start marks it interrupted instead
                log.error("experiment %s: could not record the stop: %s", eid, e)
        self._running.clear()
        self._queue.clear()
        self._external.clear()
        self._players.clear()

    def _on_loop(self) -> None:
        if self._loop_thread is not None and threading.get_ident() != self._loop_thread:
            raise RuntimeError("the job manager's state belongs to the event loop: call it from there")

    def _spawn(self) -> Worker:
        jobs_parent, jobs_child = self._ctx.Pipe()
        events_parent, events_child = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=worker_main,
            args=(jobs_child, events_child, self.threads, self.device_setting, self.data, self.executor),
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

    @property
    def trains_on_gpu(self) -> bool:
        """Whether the workers train on a GPU, as the first one found (the server never loads torch)."""
        return any(d.startswith("cuda") for d in self.devices)

    @property
    def spare_ready(self) -> bool:
        return self._spare is not None and self._spare.ready.is_set()

    # launching and controls (event loop) -------------------------------------------------------------
    def launch(self, spec: ExperimentSpec, marks: Sequence[MarkCreate] = ()) -> Experiment:
        """marks: a lesson's prepared marks, each dropped when the experiment reaches its step."""
        self._on_loop()
        if spec.external is not None:
            experiment = self._create(spec)  # trains in the user's loop: no slot; queued until it connects
            self.prepared.add(experiment.id, marks)
            return experiment
        self._check_files(spec)
        slot_free = len(self._running) < self._capacity() and not self._queue
        if not slot_free and self.max_queued is not None and len(self._queue) >= self.max_queued:
            raise QueueFull(
                f"{len(self._running)} experiments are training and {len(self._queue)} are queued, the most "
                "the server holds (NORMSCOPE_MAX_QUEUED); cancel one or launch again when one has finished"
            )
        experiment = self._create(spec)
        self.prepared.add(experiment.id, marks)
        self._queue.append(experiment.id)
        self._schedule()
        return self.store.get(experiment.id) or experiment

    def play(
        self,
        spec: ExperimentSpec,
        source: ExperimentSource,
        layers: list[LayerInfo],
        path: Path,
        max_bytes: int,
        marks: Sequence[MarkCreate] = (),
    ) -> Experiment:
        """A lesson's recording played by the server: no slot and no worker, the frames from the file."""
        self._on_loop()
        experiment = self._create(spec, source)
        self.prepared.add(experiment.id, marks)
        self.record_layers(experiment.id, layers)
        player = Player(self, experiment, path, max_bytes)
        self._players[experiment.id] = player
        player.start()
        return self.store.get(experiment.id) or experiment

    def player_ended(self, player: Player, status: str, error: str | None) -> None:
        """From the player's thread: its experiment gets its terminal status on the loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_player_end, player, status, error)

    def _on_player_end(self, player: Player, status: str, error: str | None) -> None:
        eid = player.experiment.id
        if self._players.get(eid) is not player:
            return  # deleted, or the server is stopping
        del self._players[eid]
        log.info("recorded experiment %s ended: %s %s", eid, status, error or "")
        self._finish(eid, status, error)

    def _create(self, spec: ExperimentSpec, source: ExperimentSource | None = None) -> Experiment:
        if (full := self.store.no_room()) is not None:
            raise NoRoom(
                f"{full}: delete experiments or prune old ones (normscope prune --older-than 30d) "
                "before launching another"
            )
        try:
            return self.store.create(uuid.uuid4().hex[:12], spec, source)
        except StoreFull as e:  # the disk itself is full
            raise NoRoom(f"{e}: free space there, or delete experiments, before launching another") from e

    def _check_files(self, spec: ExperimentSpec) -> None:
        """Refused at once when the server can tell the worker would fail: files missing, no downloads."""
        dataset = FILE_DATASETS.get(spec.dataset.name)
        if dataset is not None and (refusal := unavailable(dataset, self.data)[2]) is not None:
            raise FilesMissing(refusal)

    def _schedule(self) -> None:
        while self._queue and len(self._running) < self._capacity() and not self._closing:
            eid = self._queue.popleft()
            experiment = self.store.get(eid)
            if experiment is None:
                continue
            try:
                worker = self._take_spare() or self._spawn()
            except OSError as e:  # no process could be started (out of processes or memory)
                self._finish(eid, "failed", f"could not start a training worker: {e}")
                continue
            worker.experiment_id, worker.device = eid, self._least_busy_device()
            self._running[eid] = worker
            # one that dies as it is handed the job fails the experiment with the reason, on its exit
            with contextlib.suppress(OSError):
                worker.jobs.send(("start", experiment.spec.model_dump_json(), worker.device))
        self._ensure_spare()

    def _capacity(self) -> int:
        return self.max_running * max(1, len(self.devices))

    def _least_busy_device(self) -> str:
        """Concurrent experiments go to different GPUs: the one training the fewest takes the next."""
        devices = self.devices or ["cpu"]
        busy = [w.device for w in self._running.values()]
        return min(devices, key=busy.count)

    def _take_spare(self) -> Worker | None:
        spare = self._spare
        if spare is not None and spare.process.is_alive() and not spare.fatal:
            self._spare = None
            return spare
        # a dead spare stays until its exit is handled (it counts as a failure there): a replacement now
        # would skip the back-off
        return None

    def _ensure_spare(self) -> None:
        """The next launch starts warm too, unless spares keep dying (then after a pause, or not at all)."""
        if (
            self.warm_spare
            and self._spare is None
            and self._respawn is None
            and self.degraded is None
            and not self._closing
        ):
            self._spare = self._spawn()

    def control(self, experiment_id: str, cmd: ControlCommand) -> Experiment:
        self._on_loop()
        experiment = self.store.get(experiment_id)
        if experiment is None:
            raise KeyError(experiment_id)
        if experiment.status in TERMINAL:
            raise ControlError(
                f"experiment {experiment_id} is {experiment.status}; there is nothing to control"
            )
        if cmd.action == "set_lr":
            _check_set_lr(experiment, cmd)
        worker = self._running.get(experiment_id)
        link = self._external.get(experiment_id)
        player = self._players.get(experiment_id)
        if player is not None:
            player.send(cmd)
        elif worker is not None:
            try:
                worker.jobs.send(cmd.model_dump())
            except OSError as e:
                raise ControlError(f"experiment {experiment_id}'s worker is gone") from e
        elif link is not None:
            if not link.send(cmd):
                raise ControlError(f"experiment {experiment_id}'s client is not reading its controls")
        elif experiment.spec.external is not None:
            if cmd.action != "cancel":
                raise ControlError(
                    f"experiment {experiment_id} waits for its watching client to connect; "
                    "only 'cancel' applies until then"
                )
            self._finish(experiment_id, "cancelled", None)
        elif experiment_id in self._queue:
            if cmd.action != "cancel":
                raise ControlError(
                    f"experiment {experiment_id} is queued; only 'cancel' applies until it starts"
                )
            self._queue.remove(experiment_id)
            self._finish(experiment_id, "cancelled", None)
        else:
            raise ControlError(f"experiment {experiment_id} is ending; there is nothing left to control")
        return self.store.get(experiment_id) or experiment

    def delete(self, experiment_id: str) -> bool:
        """Deletes it and its frames, stops its worker, and tells its viewers before closing their sockets.
        On a full disk (SQLite needs room even to delete) it raises NoRoom and changes nothing."""
        self._on_loop()
        experiment = self.store.get(experiment_id)
        try:
            if experiment is None or not self.store.delete(experiment_id):
                return False
        except StoreFull as e:
            raise NoRoom(f"{e}: not even a deletion can be written; free space on that disk first") from e
        worker = self._running.pop(experiment_id, None)
        if worker is not None:
            worker.discarded = True
            if worker.process.is_alive():
                worker.process.kill()
        if experiment_id in self._queue:
            self._queue.remove(experiment_id)
        link = self._external.pop(experiment_id, None)
        if link is not None:
            link.close(*DELETED_CLOSE)
        player = self._players.pop(experiment_id, None)
        if player is not None:
            player.discard()
        if experiment.status not in TERMINAL:
            final = _final_status(experiment, "cancelled", DELETED_ERROR)
            self.hub.publish(experiment_id, final.model_dump_json(), droppable=False)
        self.hub.close_topic(experiment_id, *DELETED_CLOSE)
        self.prepared.discard(experiment_id)
        self._schedule()
        return True

    def _finish(self, experiment_id: str, status: str, error: str | None) -> None:
        self.prepared.discard(experiment_id)
        try:
            self.store.set_status(experiment_id, status, error=error)
            self.store.end_unfinished_runs(experiment_id, status)
        except StoreFull as e:  # a full disk: the status lives until a restart, which marks it interrupted
            log.error(
                "experiment %s ended %s, but the store could not record it: %s", experiment_id, status, e
            )
        e = self.store.get(experiment_id)
        if e is not None:  # what was meant, whether or not the store could keep it
            msg = _final_status(e, status, error or e.error)
            self.hub.publish(experiment_id, msg.model_dump_json(), droppable=False)

    # worker events (reader thread) -------------------------------------------------------------------
    def _read(self, worker: Worker) -> None:
        while True:
            try:
                msg = worker.events.recv()
            except (EOFError, OSError):
                break
            if worker.discarded:
                continue  # its experiment is gone: nothing to store, nobody to tell
            try:
                self._on_event(worker, msg)
            except StoreFull as e:  # what is stored stays; the run stops rather than train into nowhere
                if worker.failure is None:
                    worker.failure = f"{e}; the frames stored until then are kept"
                    log.error("experiment %s stopped: %s", worker.experiment_id, worker.failure)
                    worker.process.kill()
            except Exception:  # a bad event must not kill the reader; the worker's exit is still handled
                log.exception("worker event %r failed", msg[:1])
        worker.process.join(timeout=5)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_exit, worker)

    def _on_event(self, worker: Worker, msg: tuple) -> None:
        kind = msg[0]
        if kind == "ready":
            self.devices = list(msg[2])
            worker.ready.set()
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._on_ready)
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
            self.record_frame(eid, step, prev_step, body)
        elif kind == "late":
            self.record_late_part(eid, msg[1], msg[3])
        elif kind == "layers":
            self.record_layers(eid, [LayerInfo.model_validate(x) for x in json.loads(msg[1])])
        elif kind == "status":
            _, status, step, runs = msg
            self.record_status(eid, status, step, runs)
        elif kind == "fold":
            self.store.set_folds(eid, msg[1])
        elif kind == "download":
            _, file, done, total = msg
            text = DownloadMessage(file=file, done=done, total=total).model_dump_json()
            self.hub.publish_threadsafe(eid, text, droppable=True)
        elif kind == "end":
            worker.end = (msg[1], msg[2])

    # what a worker or a watch client sends (any thread: the store and publish_threadsafe are safe) -----
    def record_frame(self, eid: str, step: int, prev_step: int, body: str) -> None:
        if self.store.add_frame(eid, step, prev_step, body):
            # gzipped here, off the server's loop, once for every viewer that asked (and for later joiners)
            gz = self.hub.gzipped.get(eid, step, body) if self.hub.wants_gzip(eid) else None
            self.hub.publish_threadsafe(eid, body, droppable=True, gz=gz)
            self.prepared.reached(eid, step)

    def record_late_part(self, eid: str, step: int, body: str) -> None:
        """A slow group's part of a step whose frame went out without it: merged into the stored frame, for
        replay, exports and later viewers (the live page has drawn past that step)."""
        stored = self.store.frames_at(eid, [step])
        if stored:
            frame = merge_late(Frame.model_validate_json(stored[0]), Frame.model_validate_json(body))
            self.store.add_frame(eid, step, frame.prev_step, frame.model_dump_json())

    def record_layers(self, eid: str, layers: list[LayerInfo]) -> None:
        self.store.set_layers(eid, json.dumps([li.model_dump() for li in layers]))
        self.hub.publish_threadsafe(eid, LayersMessage(layers=layers).model_dump_json(), droppable=False)

    def record_status(self, eid: str, status: str, step: int, runs: list[str]) -> None:
        self.store.set_status(eid, status, step=step, run_statuses=runs)
        self.prepared.reached(eid, step)  # a last step that was not sampled is still reached
        e = self.store.get(eid)
        if e is not None:
            text = StatusMessage(status=e.status, step=e.step, runs=e.runs, error=e.error).model_dump_json()
            self.hub.publish_threadsafe(eid, text, droppable=False)

    # watch clients (event loop) ----------------------------------------------------------------------
    def connect_external(self, experiment_id: str) -> ExternalLink:
        """A watch client's ingest socket opened: its experiment runs while it stays connected."""
        self._on_loop()
        experiment = self.store.get(experiment_id)
        if experiment is None:
            raise KeyError(experiment_id)
        if experiment.spec.external is None:
            raise ControlError(f"experiment {experiment_id} is trained by the server; it takes no uploads")
        if experiment.status in TERMINAL:
            raise ControlError(f"experiment {experiment_id} is {experiment.status}; it takes no more frames")
        if experiment_id in self._external:
            raise ControlError(f"experiment {experiment_id} has a watching client connected already")
        link = ExternalLink(experiment, self.store.layers(experiment_id))
        self._external[experiment_id] = link
        self.record_status(experiment_id, "running", experiment.step, ["running"] * len(experiment.runs))
        return link

    def disconnect_external(self, link: ExternalLink) -> None:
        """The client's socket closed: after its end message the status it reported, else interrupted."""
        self._on_loop()
        eid = link.experiment.id
        if self._external.get(eid) is not link:
            return  # deleted, or the server is stopping
        del self._external[eid]
        status, error = link.end or ("interrupted", "the watching client disconnected before close()")
        log.info("external experiment %s ended: %s %s", eid, status, error or "")
        self._finish(eid, status, error)

    # worker ends (event loop) ------------------------------------------------------------------------
    def _on_ready(self) -> None:
        """A worker came up: whatever made spares die is over."""
        self._spare_failures = 0
        if self.degraded is not None:
            log.info("a training worker started again; keeping a warm spare again")
            self.degraded = None
            self._ensure_spare()

    def _on_exit(self, worker: Worker) -> None:
        """On the loop: a worker process ended, normally or not; its experiment gets a terminal status."""
        if worker is self._spare:
            self._spare = None
        eid = worker.experiment_id
        if eid is None:
            self._spare_ended(worker)
            return
        if self._running.get(eid) is not worker:
            return  # deleted, or the server is stopping
        del self._running[eid]
        if worker.failure is not None:
            status, error = "failed", worker.failure
        elif worker.end is not None:
            status, error = worker.end
        else:
            status, error = "failed", worker.fatal or _death_reason(worker.process.exitcode)
        log.info("experiment %s ended: %s %s", eid, status, error or "")
        self._finish(eid, status, error)
        self._schedule()

    def _spare_ended(self, worker: Worker) -> None:
        """A spare that never got a job ended: after a failure to come up, respawn later, then not at all."""
        if self._closing or not self.warm_spare:
            return
        if worker.ready.is_set() and not worker.fatal:
            self._ensure_spare()  # it was up, then killed: its replacement starts warming at once
            return
        self._spare_failures += 1
        reason = worker.fatal or _death_reason(worker.process.exitcode)
        if self._spare_failures >= self.spare_max_failures:
            self.degraded = (
                f"the training worker failed to start {self._spare_failures} times in a row "
                f"(last: {reason}); no warm spare is kept, each launch starts its own worker"
            )
            log.error("%s", self.degraded)
            return
        delay = self.spare_backoff_s * 2 ** (self._spare_failures - 1)
        log.warning("the spare worker did not come up (%s); trying again in %.1f s", reason, delay)
        assert self._loop is not None
        self._respawn = self._loop.call_later(delay, self._respawn_spare)

    def _respawn_spare(self) -> None:
        self._respawn = None
        self._ensure_spare()


def _final_status(e: Experiment, status: str, error: str | None) -> StatusMessage:
    """An experiment's last status: runs still queued or running take it, as end_unfinished_runs stores."""
    runs = [
        r.model_copy(update={"status": status}) if r.status in ("queued", "running") else r for r in e.runs
    ]
    return StatusMessage(status=status, step=e.step, runs=runs, error=error)


def _death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (out of memory, or killed)" if name == "SIGKILL" else ""
        return f"the training worker was killed by {name}{hint}"
    return f"the training worker exited unexpectedly with code {exitcode}"


def _check_set_lr(experiment: Experiment, cmd: ControlCommand) -> None:
    """set_lr reaches an optimizer the server holds: not a watched loop's, and only a variant that exists."""
    if experiment.source is not None:
        raise ControlError(RECORDED_LR)
    if experiment.spec.external is not None:
        raise ControlError("set_lr changes a server-trained run; a watched loop's optimizer is the user's")
    variants = len(experiment.spec.variants)
    if cmd.variant is not None and cmd.variant >= variants:
        raise ControlError(f"no variant {cmd.variant}: the experiment has {variants} (0 to {variants - 1})")
