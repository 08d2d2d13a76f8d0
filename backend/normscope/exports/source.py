"""An experiment's frames read out of the store a page at a time, and thinned for the HTML replay."""

import json
import math
from collections.abc import Iterator

from normscope.schemas import BNStats, Frame
from normscope.store import Store

PAGE = 200  # frames read per query: a ResNet-56 frame is ~100 KB, so a page stays a few MB at most
BN_FIELDS = tuple(BNStats.model_fields)  # batch_mean … beta, each a per-channel summary


def frame_texts(store: Store, experiment_id: str) -> Iterator[str]:
    """The stored frames, encoded as the viewers got them, in step order."""
    since = -1
    while True:
        page = store.frames(experiment_id, since, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        since = json.loads(page[-1])["step"]


def frames(store: Store, experiment_id: str) -> Iterator[Frame]:
    for text in frame_texts(store, experiment_id):
        yield Frame.model_validate_json(text)


def thinned(frames: Iterator[Frame], total: int, keep: int) -> Iterator[Frame]:
    """At most `keep` of `total` frames, evenly spaced and always the last; a dropped frame's per-step losses
    move into the next kept frame, so the loss curve stays whole while the layer statistics thin out."""
    stride = max(1, math.ceil(total / keep))
    pending: dict[int, list[float | None]] = {}
    first_prev: int | None = None
    for i, frame in enumerate(frames):
        first_prev = frame.prev_step if first_prev is None else first_prev
        if (total - 1 - i) % stride and i != total - 1:
            for run in frame.runs:  # padded to the frame's span: a run that stopped early keeps its steps
                span = frame.step - frame.prev_step
                pending.setdefault(run.index, []).extend(run.loss + [None] * (span - len(run.loss)))
            continue
        runs = [r.model_copy(update={"loss": pending.get(r.index, []) + r.loss}) for r in frame.runs]
        yield frame.model_copy(update={"prev_step": first_prev, "runs": runs})
        pending, first_prev = {}, None
