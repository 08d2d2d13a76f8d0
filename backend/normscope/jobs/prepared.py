"""A lesson's prepared marks: each dropped as a real mark (stored, broadcast, as when the presenter presses M)
once its experiment's frames reach its step, whatever feeds them: a worker, a played recording, a watch
client."""

import logging
import sqlite3
import threading
from collections.abc import Iterable

from normscope.realtime import Hub
from normscope.schemas import Mark, MarkCreate
from normscope.schemas.hall import mark_message
from normscope.store import Store, TooManyMarks

log = logging.getLogger("normscope.jobs")


class PreparedMarks:
    """The marks still waiting, per experiment. Safe from any thread: readers of different experiments and
    the event loop call in."""

    def __init__(self, store: Store, hub: Hub) -> None:
        self.store, self.hub = store, hub
        self._waiting: dict[str, list[MarkCreate]] = {}
        self._lock = threading.Lock()

    def add(self, experiment_id: str, marks: Iterable[MarkCreate]) -> None:
        waiting = sorted(marks, key=lambda m: m.step)
        if waiting:
            with self._lock:
                self._waiting[experiment_id] = waiting

    def waiting(self, experiment_id: str) -> list[MarkCreate]:
        with self._lock:
            return list(self._waiting.get(experiment_id, ()))

    def reached(self, experiment_id: str, step: int) -> list[Mark]:
        """The experiment is at step: the marks up to it are dropped, in step order (each once)."""
        with self._lock:
            waiting = self._waiting.get(experiment_id)
            if not waiting or waiting[0].step > step:
                return []
            due = [m for m in waiting if m.step <= step]
            if len(due) == len(waiting):
                del self._waiting[experiment_id]
            else:
                self._waiting[experiment_id] = waiting[len(due) :]
        dropped = []
        for mark in due:
            try:
                made = self.store.add_mark(experiment_id, mark)
            except TooManyMarks as e:  # the presenter's own marks took the room: theirs stay
                log.warning("experiment %s: mark at step %d not dropped: %s", experiment_id, mark.step, e)
                continue
            except sqlite3.IntegrityError:  # deleted meanwhile: nothing left to mark
                return dropped
            self.hub.publish_threadsafe(experiment_id, mark_message(made), droppable=False)
            dropped.append(made)
        return dropped

    def discard(self, experiment_id: str) -> None:
        """The experiment ended or was deleted: what it did not reach is never dropped."""
        with self._lock:
            self._waiting.pop(experiment_id, None)
