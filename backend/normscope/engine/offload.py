"""Offload: jobs run in order on one background thread, with at most `depth` waiting.

The trainer hands each sample's host work (statistics, the host copy, decoding, the Frame, the sinks) over
and goes on stepping; a full queue makes it wait (bounded memory), and a job's failure is raised on the
training thread at its next hand-over.
"""

import queue
import threading
from collections.abc import Callable

Job = Callable[[], None]


class Offload:
    def __init__(self, name: str, depth: int = 2) -> None:
        self.name = name
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> None:
        """Queue a job behind the others; waits while `depth` jobs are waiting already."""
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def flush(self) -> None:
        """Wait until every queued job is done, and raise what one of them raised."""
        if self._thread is not None:
            self._jobs.join()
        self._raise()

    def close(self) -> None:
        """Finish the queued jobs and end the thread (a later submit starts a new one)."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
        self._raise()

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if self._error is None:  # after a failure the rest are dropped: the caller is told and stops
                    job()
            except BaseException as e:
                self._error = e
            finally:
                self._jobs.task_done()
        self._jobs.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
