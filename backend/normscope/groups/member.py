"""What one Ray actor runs: a Trainer over one group's variants, calibrated with the whole experiment's
magnitudes, whose events come out as a stream. The actor is threaded: the stream is one call, controls are
others, and they land between steps as they do in a local worker. A threaded actor may run two calls out of
the order they were sent, so the driver numbers its controls and they are queued by that number."""

import os
import queue
import threading
from collections.abc import Iterator
from typing import Any

from normscope.catalog import DataRoot
from normscope.schemas import ControlCommand, ExperimentSpec, LayerInfo

EVENTS_BUFFERED = 8  # the trainer waits when this many events are not yet taken by the stream: bounded


class GroupMember:
    def __init__(
        self, spec_json: str, variants: list[int], device: str, threads: int, data: DataRoot
    ) -> None:
        import torch

        from normscope.engine.trainer import Trainer

        torch.set_num_threads(threads)
        self._controls: queue.SimpleQueue[ControlCommand | int] = queue.SimpleQueue()  # int: step_to
        self._arrived: dict[int, ControlCommand | int] = {}  # sent after one not yet here: held until it is
        self._next = 0
        self._order = threading.Lock()
        self._events: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=EVENTS_BUFFERED)
        self.trainer = Trainer(
            ExperimentSpec.model_validate_json(spec_json),
            device,
            on_frame=lambda frame: self._events.put(("frame", frame)),
            on_status=lambda status, step, runs: self._events.put(("status", status, step, list(runs))),
            on_folds=lambda folds: self._events.put(("folds", folds)),
            control=self._control,
            data_root=data,
            variants=variants,
            calibrate=False,
        )

    def pid(self) -> int:
        return os.getpid()

    def absmax(self) -> dict:
        return self.trainer.absmax()

    def set_absmax(self, absmax: dict) -> list[LayerInfo]:
        self.trainer.set_absmax(absmax)
        return self.trainer.layout()

    def control(self, seq: int, command: dict) -> None:
        """The driver's control number `seq` (0, 1, 2, … across control and step_to)."""
        self._queue(seq, ControlCommand.model_validate(command))

    def step_to(self, seq: int, step: int) -> None:
        self._queue(seq, step)

    def _queue(self, seq: int, item: ControlCommand | int) -> None:
        """Into the trainer's queue in the driver's order: a set_lr then a step never runs the step first."""
        with self._order:
            self._arrived[seq] = item
            while self._next in self._arrived:
                self._controls.put(self._arrived.pop(self._next))
                self._next += 1

    def _control(self, timeout: float) -> ControlCommand | None:
        """Called by the trainer between steps, on its thread: where step_to may change its budget."""
        try:
            item = self._controls.get(timeout=timeout) if timeout > 0 else self._controls.get_nowait()
            while isinstance(item, int):
                self.trainer.step_to(item)
                item = self._controls.get_nowait()
        except queue.Empty:
            return None
        return item

    def run(self) -> Iterator[tuple[Any, ...]]:
        """Trains to the end; yields ("frame", Frame) · ("status", status, step, runs) · ("folds", [...]),
        then ("end", status). A failure in training is raised here, where Ray carries it to the driver."""
        failure: list[BaseException] = []

        def train() -> None:
            try:
                self._events.put(("end", self.trainer.run()))
            except BaseException as e:  # carried to the stream, which raises it where Ray reports it
                failure.append(e)
                self._events.put(("failed",))

        threading.Thread(target=train, name="group-trainer", daemon=True).start()
        while True:
            event = self._events.get()
            if event[0] == "failed":
                raise failure[0]
            yield event
            if event[0] == "end":
                return
