"""A played recording: a lesson trained elsewhere, its frames read from the file a line at a time and fed to
the store and the Hub from a thread exactly as a worker's reader feeds them, at the recorded pace or the
presenter's. No process and no torch: a laptop without a GPU plays the GPU lesson."""

import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from normscope.schemas import ControlCommand, Experiment, Frame, Recording
from normscope.store import StoreFull
from normscope.store.recordings import Head, RecordingRefused, read_recording

if TYPE_CHECKING:
    from normscope.jobs.manager import JobManager

log = logging.getLogger("normscope.jobs")


class Player:
    """One recording playing into its experiment. send() and discard() may be called from any thread."""

    def __init__(self, manager: "JobManager", experiment: Experiment, path: Path, max_bytes: int) -> None:
        assert experiment.source is not None, "a player plays a lesson's recording"
        self.manager, self.experiment = manager, experiment
        self.recording: Recording = experiment.source.recording
        self.path, self.max_bytes = path, max_bytes
        self.pace: float | None = experiment.spec.pace  # a spec's pace is the pace it starts at, played too
        self.paused = False
        self.played = 0.0  # seconds of play, pauses excluded: the played frames' `elapsed`
        self.step = 0
        self.runs = ["running"] * len(experiment.runs)
        self._controls: queue.SimpleQueue[ControlCommand] = queue.SimpleQueue()
        self._discarded = threading.Event()  # deleted, or the server stops: nothing more is recorded

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"player-{self.experiment.id}", daemon=True).start()

    def send(self, cmd: ControlCommand) -> None:
        self._controls.put(cmd)

    def discard(self) -> None:
        self._discarded.set()
        self._controls.put(ControlCommand(action="cancel"))

    def _run(self) -> None:
        status, error = "failed", None
        try:
            status = self._play()
        except RecordingRefused as e:
            error = f"the recording {self.path.name} was refused: {e}"
        except StoreFull as e:
            error = f"{e}; the frames stored until then are kept"
        except Exception as e:  # a bad file or a bug ends this experiment, never the server
            log.exception("experiment %s: playing %s failed", self.experiment.id, self.path.name)
            error = f"{type(e).__name__}: {e}"
        self.manager.player_ended(self, status, error)

    def _play(self) -> str:
        eid, store = self.experiment.id, self.manager.store
        self._status("running")
        recorded_before = 0.0  # the recording's time at the frame before
        items = read_recording(self.path, self.max_bytes)
        try:
            for item in items:
                if self._discarded.is_set():
                    return "cancelled"
                if isinstance(item, Head):
                    continue  # the launch took the spec and layers from it
                if isinstance(item, list):
                    store.set_folds(eid, json.dumps([f.model_dump() for f in item]))
                    continue
                recorded = self._recorded_at(item, recorded_before)
                if not self._wait(item, max(0.0, recorded - recorded_before)):
                    return "cancelled"
                recorded_before = recorded
                self._emit(item)
        finally:
            items.close()
        return "done"

    def _recorded_at(self, frame: Frame, before: float) -> float:
        """When the recording reached this frame: its `elapsed`, or where the wall time puts its step."""
        if frame.elapsed > 0 and frame.elapsed >= before:
            return frame.elapsed
        return self.recording.wall_s * frame.step / self.recording.steps

    def _wait(self, frame: Frame, recorded_gap: float) -> bool:
        """Until the frame is due (a pause stops the clock), or a step while paused; False on cancel."""
        waited = 0.0
        while True:
            if self.paused:
                cmd = self._controls.get()
            else:
                due = (frame.step - self.step) / self.pace if self.pace else recorded_gap
                started = time.monotonic()
                try:
                    cmd = self._controls.get(timeout=max(0.0, due - waited))
                except queue.Empty:
                    self.played += max(0.0, due - waited)
                    return True
                took = time.monotonic() - started
                waited += took
                self.played += took
            match cmd.action:
                case "cancel":
                    return False
                case "pause" if not self.paused:
                    self.paused = True
                    self._status("paused")
                case "resume" if self.paused:
                    self.paused = False
                    self._status("running")
                case "step" if self.paused:
                    return True
                case "pace":
                    self.pace = cmd.steps_per_second

    def _emit(self, frame: Frame) -> None:
        if self._discarded.is_set():
            return
        played = frame.model_copy(update={"sent_at": time.time(), "elapsed": round(self.played, 6)})
        self.manager.record_frame(self.experiment.id, frame.step, frame.prev_step, played.model_dump_json())
        self.step = frame.step
        runs = list(self.runs)
        for r in frame.runs:
            runs[r.index] = r.status
        if runs != self.runs:  # a run diverged (or ended) in the recording: its status changes here too
            self.runs = runs
            self._status("paused" if self.paused else "running")

    def _status(self, status: str) -> None:
        if not self._discarded.is_set():
            self.manager.record_status(self.experiment.id, status, self.step, self.runs)
