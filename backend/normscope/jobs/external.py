"""An external experiment's link to its `normscope.watch` client: what it uploads is checked here before it
is stored and published exactly as a worker's events are; the presenter's controls wait here to go out."""

import asyncio
import itertools
import json
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

from normscope.schemas import (
    ClientEnd,
    ClientStatus,
    ControlCommand,
    ControlMessage,
    Experiment,
    Frame,
    LayerInfo,
    LayersMessage,
)

if TYPE_CHECKING:
    from normscope.jobs.manager import JobManager

MAX_INGEST_MESSAGE = 4 * 2**20  # characters: a 64-layer frame of a few variants is a few hundred KB
MAX_LAYERS = 512
CONTROLS_WAITING = 64  # controls not yet sent to a client that stopped reading: past this they are refused


class Refused(Exception):
    """An upload that is not stored; the client is told why and the connection stays."""


class ExternalLink:
    """One connected watch client. Its outbox belongs to the event loop; handle() runs in a worker thread."""

    def __init__(self, experiment: Experiment, layers: list[LayerInfo]) -> None:
        self.experiment = experiment
        self.layers = {li.name: li for li in layers} or None
        self.last_step = experiment.step
        self.end: tuple[str, str | None] | None = None  # (status, error) from the client's end message
        self.outbox: asyncio.Queue[str | tuple[int, str]] = asyncio.Queue(CONTROLS_WAITING)

    def send(self, cmd: ControlCommand) -> bool:
        msg = ControlMessage(action=cmd.action, steps_per_second=cmd.steps_per_second)
        try:
            self.outbox.put_nowait(msg.model_dump_json())
        except asyncio.QueueFull:
            return False
        return True

    def close(self, code: int = 1001, reason: str = "the server is stopping") -> None:
        """The socket is closed with this code: a close jumps the controls still waiting."""
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self.outbox.put_nowait((code, reason))

    def handle(self, text: str, manager: "JobManager") -> None:
        """Validates one client message and records it; raises Refused with the reason."""
        if len(text) > MAX_INGEST_MESSAGE:
            raise Refused(f"message of {len(text):,} characters; the limit is {MAX_INGEST_MESSAGE:,}")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise Refused(f"not JSON: {e}") from None
        kind = data.get("type") if isinstance(data, dict) else None
        eid = self.experiment.id
        if kind == "frame":
            frame = _parse(Frame, data)
            self._check_frame(frame)
            manager.record_frame(eid, frame.step, frame.prev_step, frame.model_dump_json())
            self.last_step = frame.step
        elif kind == "layers":
            layers = _parse(LayersMessage, data).layers
            self._check_layers(layers)
            manager.record_layers(eid, layers)
            self.layers = {li.name: li for li in layers}
        elif kind == "status":
            status = _parse(ClientStatus, data)
            self._check_runs(status.runs)
            manager.record_status(eid, status.status, status.step, list(status.runs))
        elif kind == "end":
            end = _parse(ClientEnd, data)
            self._check_runs(end.runs)
            manager.store.set_status(eid, "running", step=end.step, run_statuses=list(end.runs))
            self.end = (end.status, end.error)
        else:
            raise Refused(f"unknown message type {kind!r}; a watch client sends layers, frame, status or end")

    def _check_runs(self, runs: list[str]) -> None:
        if len(runs) != len(self.experiment.runs):
            variants = len(self.experiment.runs)
            raise Refused(f"{len(runs)} run statuses for an experiment of {variants} variants")

    def _check_layers(self, layers: list[LayerInfo]) -> None:
        if self.layers is not None:
            raise Refused("the layers were sent already: histogram edges are fixed for the whole experiment")
        if not 0 < len(layers) <= MAX_LAYERS or len({li.name for li in layers}) != len(layers):
            raise Refused(f"layers must be 1 to {MAX_LAYERS} with distinct names")
        for li in layers:
            if set(li.edges) != set(li.taps):
                raise Refused(f"layer {li.name!r}: edges must be given for exactly its taps")
            for tap, edges in li.edges.items():
                if not 9 <= len(edges) <= 257 or any(b <= a for a, b in itertools.pairwise(edges)):
                    raise Refused(f"layer {li.name!r} tap {tap}: 9 to 257 increasing edges")

    def _check_frame(self, frame: Frame) -> None:
        if self.layers is None:
            raise Refused("send the layers message before the first frame")
        steps = self.experiment.spec.steps
        if not self.last_step < frame.step <= steps:
            raise Refused(f"step {frame.step} must come after step {self.last_step} and be at most {steps}")
        if not 0 <= frame.prev_step < frame.step:
            raise Refused(f"prev_step {frame.prev_step} must be at least 0 and below step {frame.step}")
        indices, variants = [r.index for r in frame.runs], len(self.experiment.runs)
        if len(set(indices)) != len(indices) or not all(0 <= i < variants for i in indices):
            raise Refused(f"run indices {indices} must be distinct variants of the {variants}")
        span = frame.step - frame.prev_step
        for run in frame.runs:
            if len(run.loss) > span:
                raise Refused(f"run {run.index}: {len(run.loss)} losses for {span} steps")
            for ls in run.layers:
                info = self.layers.get(ls.name)
                if info is None:
                    raise Refused(f"run {run.index}: layer {ls.name!r} is not among the layers sent")
                for tap, stats in ls.taps.items():
                    if tap not in info.edges:
                        raise Refused(f"run {run.index}: layer {ls.name!r} has no {tap} tap")
                    if len(stats.counts) != len(info.edges[tap]) - 1:
                        raise Refused(
                            f"run {run.index}: layer {ls.name!r} {tap}: {len(stats.counts)} counts "
                            f"for {len(info.edges[tap]) - 1} bins"
                        )


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: dict) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        where = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()[:3])
        raise Refused(f"invalid {data.get('type')}: {where}") from None
