"""One frame per step out of the groups' frames, without letting a slow group hold back the live view.

Policy: frame s goes out when every group still training has sent its part of s. When the leading group is
`max_lag` sampled steps ahead of the oldest step still waiting, that step goes out with the parts that came
(the slow group's runs are missing from it: a gap in their curves on the live page). The slow group's part
of such a step comes out later as a late part, which the job manager merges into the stored frame, so
replay, exports and viewers who join later see every run at every step. A group that ended (every run
diverged, or the experiment's end) is represented by stubs, as one trainer does for its diverged runs; a
group that failed is left out."""

from dataclasses import dataclass

from normscope.schemas import Frame, RunFrame

MAX_LAG = 2  # sampled steps the live view may run ahead of a slow group before it stops waiting for it


@dataclass
class Merged:
    frame: Frame
    late: bool = False  # a slow group's part of a step already sent: for the store, not the live view


class FrameMerger:
    def __init__(self, groups: list[list[int]], max_lag: int = MAX_LAG) -> None:
        self.groups = groups
        self.max_lag = max_lag
        self._training = set(range(len(groups)))  # groups whose next frames are still to come
        self._stubs: dict[int, RunFrame] = {}  # the runs of ended groups, as later frames carry them
        self._pending: dict[int, dict[int, Frame]] = {}  # step -> group -> its part, not sent yet
        self._owed: dict[int, set[int]] = {}  # step sent without some groups' parts -> those groups

    def add(self, group: int, frame: Frame) -> list[Merged]:
        owed = self._owed.get(frame.step)
        if owed is not None and group in owed:
            owed.discard(group)
            if not owed:
                del self._owed[frame.step]
            return [Merged(frame, late=True)]
        self._pending.setdefault(frame.step, {})[group] = frame
        return self._flush()

    def end(self, group: int, last: list[RunFrame]) -> list[Merged]:
        """The group trained to its end: later frames carry its runs as stubs with their last status."""
        for rf in last:
            self._stubs[rf.index] = RunFrame(
                index=rf.index, status=rf.status, loss=[], train_acc=None, layers=[]
            )
        return self._leave(group)

    def fail(self, group: int) -> list[Merged]:
        return self._leave(group)

    def _leave(self, group: int) -> list[Merged]:
        self._training.discard(group)
        for step in [s for s, owed in self._owed.items() if group in owed]:
            self._owed[step].discard(group)
            if not self._owed[step]:
                del self._owed[step]
        return self._flush()

    def _flush(self) -> list[Merged]:
        out = []
        while self._pending:
            step = min(self._pending)
            parts = self._pending[step]
            missing = self._training - parts.keys()
            if missing and len(self._pending) <= self.max_lag:
                break
            del self._pending[step]
            if missing:
                self._owed[step] = missing
            out.append(Merged(self._join(step, parts)))
        return out

    def _join(self, step: int, parts: dict[int, Frame]) -> Frame:
        frames = list(parts.values())
        runs = [rf for f in frames for rf in f.runs]
        sent = {rf.index for rf in runs}
        runs += [stub for i, stub in self._stubs.items() if i not in sent]
        return Frame(
            step=step,
            prev_step=min(f.prev_step for f in frames),
            sent_at=max(f.sent_at for f in frames),
            elapsed=max(f.elapsed for f in frames),
            runs=sorted(runs, key=lambda rf: rf.index),
        )


def merge_late(stored: Frame, late: Frame) -> Frame:
    """The stored frame of a step with a slow group's part added (its runs replace any of the same index)."""
    indices = {rf.index for rf in late.runs}
    runs = [rf for rf in stored.runs if rf.index not in indices] + late.runs
    return stored.model_copy(update={"runs": sorted(runs, key=lambda rf: rf.index)})
