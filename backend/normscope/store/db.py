"""SQLite store: experiments, their runs and frames. Frames are kept as the encoded message text that
went to the viewers, so history is served and replayed without re-encoding."""

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from normscope.schemas import (
    TERMINAL,
    Experiment,
    ExperimentSource,
    ExperimentSpec,
    FoldResult,
    LayerInfo,
    Mark,
    MarkCreate,
    Room,
    RunInfo,
    ViewState,
)
from normscope.schemas.hall import MAX_MARKS


class TooManyMarks(Exception):
    """The experiment already holds MAX_MARKS marks."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    step INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    error TEXT,
    layers TEXT,
    source TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (experiment_id, idx)
);
CREATE TABLE IF NOT EXISTS folds (
    experiment_id TEXT PRIMARY KEY REFERENCES experiments(id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS views (
    experiment_id TEXT PRIMARY KEY REFERENCES experiments(id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS marks_of_experiment ON marks (experiment_id, step);
CREATE TABLE IF NOT EXISTS room (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    experiment_id TEXT REFERENCES experiments(id) ON DELETE SET NULL,
    lecture TEXT,
    position INTEGER
);
CREATE TABLE IF NOT EXISTS frames (
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    prev_step INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (experiment_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kept_frames (
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    PRIMARY KEY (experiment_id, step)
) WITHOUT ROWID;
"""
# a frame that carries a learning-rate change, as compact JSON says it: such frames are kept in every
# joining viewer's history however it is thinned, so the page marks every change (read without decoding)
LR_CHANGE_MARK = '"lr_changes":[{'


class StoreFull(Exception):
    """A write found the store full: its size limit reached, or the disk itself full (SQLITE_FULL)."""


RESERVE_BYTES = 2**20  # kept on disk beside the database and given up to record statuses when it is full


def headroom(max_bytes: int) -> int:
    """Room kept above the frames' limit for statuses and new experiments' records: 1% or 1 MiB."""
    return max(2**20, max_bytes // 100)


class Store:
    """One connection shared by the server's threads behind a lock, in WAL mode.

    With max_bytes, frames stop at that size, and SQLite itself refuses to grow the file past it plus a
    headroom for statuses (max_page_count): such a write fails as on a full disk, and either way what is
    already stored stays readable. When the disk itself fills, a reserve file beside the database is given
    up so that the statuses saying so can still be written."""

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.reserve = path.with_name(path.name + ".reserve")
        self._make_reserve()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")  # outside a transaction, as SQLite requires
        self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: a process crash loses nothing committed
        self._db.execute("PRAGMA foreign_keys=ON")
        self._page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        if max_bytes is not None:
            ceiling = (max_bytes + headroom(max_bytes)) // self._page_size
            self._db.execute(f"PRAGMA max_page_count = {ceiling}")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(experiments)")}
        if "source" not in columns:  # a store from before played recordings
            self._db.execute("ALTER TABLE experiments ADD COLUMN source TEXT")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
                self._db.execute("COMMIT")  # in WAL mode the write happens here: a full disk fails here
            except BaseException as e:
                if self._db.in_transaction:  # SQLite rolls back by itself on some errors (SQLITE_FULL)
                    self._db.execute("ROLLBACK")
                if isinstance(e, sqlite3.OperationalError) and "full" in str(e):  # SQLITE_FULL
                    raise StoreFull(self._full_message()) from e
                raise

    def _full_message(self) -> str:
        """SQLITE_FULL: the page limit (only reachable once frames are at max_bytes), or the disk itself."""
        if self.max_bytes is not None and self._used() >= self.max_bytes:
            return self.limit_message()
        return self.disk_full_message()

    def disk_full_message(self) -> str:
        return f"the disk holding {self.path} is full"

    def limit_message(self) -> str:
        assert self.max_bytes is not None
        return f"the store reached its limit of {self.max_bytes / 1e9:g} GB (NORMSCOPE_MAX_DATA_GB)"

    def _used(self) -> int:
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return (pages - free) * self._page_size

    def used_bytes(self) -> int:
        """Bytes in pages that hold data (freed pages are reused before the file grows)."""
        with self._lock:
            return self._used()

    def no_room(self) -> str | None:
        """Why a new experiment would not fit, or None: the frames' limit is within a headroom of being
        reached, or the disk has no room for the reserve (given up when it filled, made again once freed)."""
        if not self._make_reserve():
            return self.disk_full_message()
        if self.max_bytes is not None and self.used_bytes() > self.max_bytes - headroom(self.max_bytes):
            return self.limit_message()
        return None

    def _make_reserve(self) -> bool:
        try:
            if not self.reserve.exists():
                with self.reserve.open("wb") as f:
                    os.posix_fallocate(f.fileno(), 0, RESERVE_BYTES)
            return True
        except OSError:  # no room for it: the disk is full
            self.reserve.unlink(missing_ok=True)
            return False

    def _recording(self, write: Callable[[], None]) -> None:
        """A status write that must land: on a full disk the reserve is given up for it, once."""
        try:
            write()
        except StoreFull:
            if not self.reserve.exists():
                raise
            self.reserve.unlink()
            write()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # experiments -------------------------------------------------------------------------------------
    def create(
        self, experiment_id: str, spec: ExperimentSpec, source: ExperimentSource | None = None
    ) -> Experiment:
        now = datetime.now(UTC)
        with self._tx() as db:
            db.execute(
                "INSERT INTO experiments (id, spec, status, created_at, source) "
                "VALUES (?, ?, 'queued', ?, ?)",
                (
                    experiment_id,
                    spec.model_dump_json(),
                    now.isoformat(),
                    None if source is None else source.model_dump_json(),
                ),
            )
            db.executemany(
                "INSERT INTO runs (experiment_id, idx, label, status) VALUES (?, ?, ?, 'queued')",
                [(experiment_id, i, v.label) for i, v in enumerate(spec.variants)],
            )
        return self.get(experiment_id)  # type: ignore[return-value]

    def get(self, experiment_id: str) -> Experiment | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, spec, status, step, created_at, error, source FROM experiments WHERE id = ?",
                (experiment_id,),
            ).fetchone()
            if row is None:
                return None
            runs = self._db.execute(
                "SELECT idx, label, status FROM runs WHERE experiment_id = ? ORDER BY idx", (experiment_id,)
            ).fetchall()
        return _experiment(row, runs)

    def list_experiments(self, limit: int = 500) -> list[Experiment]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, spec, status, step, created_at, error, source FROM experiments "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
            runs: dict[str, list[tuple]] = {}
            for eid, idx, label, status in self._db.execute(
                "SELECT experiment_id, idx, label, status FROM runs ORDER BY experiment_id, idx"
            ):
                runs.setdefault(eid, []).append((idx, label, status))
        return [_experiment(r, runs.get(r[0], [])) for r in rows]

    def set_status(
        self,
        experiment_id: str,
        status: str,
        step: int | None = None,
        run_statuses: list[str] | None = None,
        error: str | None = None,
    ) -> None:
        def write() -> None:
            with self._tx() as db:
                db.execute(
                    "UPDATE experiments SET status = ?, step = COALESCE(?, step), error = COALESCE(?, error) "
                    "WHERE id = ?",
                    (status, step, error, experiment_id),
                )
                if run_statuses is not None:
                    db.executemany(
                        "UPDATE runs SET status = ? WHERE experiment_id = ? AND idx = ?",
                        [(s, experiment_id, i) for i, s in enumerate(run_statuses)],
                    )

        self._recording(write)

    def end_unfinished_runs(self, experiment_id: str, status: str) -> None:
        """Runs still queued or running when their experiment ends take its terminal status."""

        def write() -> None:
            with self._tx() as db:
                db.execute(
                    "UPDATE runs SET status = ? WHERE experiment_id = ? AND status IN ('queued', 'running')",
                    (status, experiment_id),
                )

        self._recording(write)

    def mark_interrupted(self) -> list[str]:
        """At start-up: whatever was queued, running or paused when the server stopped is interrupted."""
        with self._tx() as db:
            ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM experiments WHERE status IN ({})".format(",".join("?" * len(_LIVE))),
                    _LIVE,
                )
            ]
            for eid in ids:
                db.execute(
                    "UPDATE experiments SET status = 'interrupted', "
                    "error = COALESCE(error, 'the server stopped while it ran') WHERE id = ?",
                    (eid,),
                )
                db.execute(
                    "UPDATE runs SET status = 'interrupted' "
                    "WHERE experiment_id = ? AND status IN ('queued', 'running')",
                    (eid,),
                )
        return ids

    def delete(self, experiment_id: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM experiments WHERE id = ?", (experiment_id,)).rowcount > 0

    def finished_before(self, cutoff: datetime) -> list[str]:
        """Experiments in a terminal status created before the cutoff, oldest first (what prune removes)."""
        with self._lock:
            marks = ",".join("?" * len(TERMINAL))
            rows = self._db.execute(
                f"SELECT id FROM experiments WHERE created_at < ? AND status IN ({marks}) "
                "ORDER BY created_at",
                (cutoff.isoformat(), *sorted(TERMINAL)),
            ).fetchall()
        return [r[0] for r in rows]

    # layers and frames -------------------------------------------------------------------------------
    def set_layers(self, experiment_id: str, layers_json: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE experiments SET layers = ? WHERE id = ?", (layers_json, experiment_id))

    def set_folds(self, experiment_id: str, folds_json: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO folds "
                "SELECT ?, ? WHERE EXISTS (SELECT 1 FROM experiments WHERE id = ?)",
                (experiment_id, folds_json, experiment_id),
            )

    def folds(self, experiment_id: str) -> list[FoldResult] | None:
        """The BN runs folded for inference at the end of training; None before (or without) that."""
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM folds WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()
        return None if row is None else [FoldResult.model_validate(x) for x in json.loads(row[0])]

    def layers(self, experiment_id: str) -> list[LayerInfo]:
        with self._lock:
            row = self._db.execute("SELECT layers FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
        if row is None or row[0] is None:
            return []
        return [LayerInfo.model_validate(x) for x in json.loads(row[0])]

    def add_frame(self, experiment_id: str, step: int, prev_step: int, body: str) -> bool:
        """Stores a frame; False when its experiment is gone (deleted while the frame was on its way).
        Raises StoreFull when the frame would pass the store's limit."""
        with self._tx() as db:
            # a frame's text takes whole pages (overflow pages past one), and one more for its leaf
            pages = -(-len(body) // self._page_size) + 1
            if self.max_bytes is not None and self._used() + pages * self._page_size > self.max_bytes:
                raise StoreFull(self.limit_message())
            if not db.execute(
                "UPDATE experiments SET step = MAX(step, ?) WHERE id = ?", (step, experiment_id)
            ).rowcount:
                return False
            db.execute(
                "INSERT OR REPLACE INTO frames (experiment_id, step, prev_step, body) VALUES (?, ?, ?, ?)",
                (experiment_id, step, prev_step, body),
            )
            if LR_CHANGE_MARK in body:
                db.execute(
                    "INSERT OR IGNORE INTO kept_frames (experiment_id, step) VALUES (?, ?)",
                    (experiment_id, step),
                )
        return True

    def frames(self, experiment_id: str, since: int = -1, limit: int = 1000) -> list[str]:
        """Encoded frames with step > since, in step order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM frames WHERE experiment_id = ? AND step > ? ORDER BY step LIMIT ?",
                (experiment_id, since, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def frame_steps(self, experiment_id: str) -> list[int]:
        return self._steps("frames", experiment_id)

    def kept_steps(self, experiment_id: str) -> list[int]:
        """Steps of the frames a thinned history must still hold: those with a learning-rate change."""
        return self._steps("kept_frames", experiment_id)

    def _steps(self, table: Literal["frames", "kept_frames"], experiment_id: str) -> list[int]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT step FROM {table} WHERE experiment_id = ? ORDER BY step", (experiment_id,)
            ).fetchall()
        return [r[0] for r in rows]

    def frames_at(self, experiment_id: str, steps: list[int]) -> list[str]:
        """Encoded frames at the given steps (a downsampled history), in step order."""
        if not steps:
            return []
        out: list[str] = []
        with self._lock:
            for chunk in range(0, len(steps), 500):
                part = steps[chunk : chunk + 500]
                out.extend(
                    r[0]
                    for r in self._db.execute(
                        "SELECT body FROM frames WHERE experiment_id = ? "
                        f"AND step IN ({','.join('?' * len(part))}) "
                        "ORDER BY step",
                        (experiment_id, *part),
                    )
                )
        return out

    # the lecture hall: the presenter's view, marks and the room ------------------------------------
    def set_view(self, experiment_id: str, view: ViewState) -> bool:
        """False when the experiment does not exist."""
        with self._tx() as db:
            return (
                db.execute(
                    "INSERT OR REPLACE INTO views "
                    "SELECT ?, ? WHERE EXISTS (SELECT 1 FROM experiments WHERE id = ?)",
                    (experiment_id, view.model_dump_json(), experiment_id),
                ).rowcount
                > 0
            )

    def view(self, experiment_id: str) -> ViewState | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM views WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()
        return None if row is None else ViewState.model_validate_json(row[0])

    def set_room(self, room: Room) -> bool:
        """What the room is shown, one row kept across restarts; False when the experiment does not exist."""
        with self._tx() as db:
            return (
                db.execute(
                    "INSERT OR REPLACE INTO room (id, experiment_id, lecture, position) "
                    "SELECT 1, ?, ?, ? WHERE EXISTS (SELECT 1 FROM experiments WHERE id = ?)",
                    (room.experiment, room.lecture, room.position, room.experiment),
                ).rowcount
                > 0
            )

    def room(self) -> Room:
        """All null before the presenter showed anything, or once the experiment shown was deleted."""
        with self._lock:
            row = self._db.execute("SELECT experiment_id, lecture, position FROM room").fetchone()
        if row is None or row[0] is None:
            return Room()
        return Room(experiment=row[0], lecture=row[1], position=row[2])

    def add_mark(self, experiment_id: str, mark: MarkCreate) -> Mark:
        """Raises TooManyMarks past MAX_MARKS; the caller has checked that the experiment exists."""
        now = datetime.now(UTC)
        with self._tx() as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM marks WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()
            if count >= MAX_MARKS:
                raise TooManyMarks(f"the experiment already has {MAX_MARKS} marks; delete some first")
            mark_id = db.execute(
                "INSERT INTO marks (experiment_id, step, note, created_at) VALUES (?, ?, ?, ?)",
                (experiment_id, mark.step, mark.note, now.isoformat()),
            ).lastrowid
        assert mark_id is not None
        return Mark(id=mark_id, step=mark.step, note=mark.note, created_at=now)

    def marks(self, experiment_id: str) -> list[Mark]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, step, note, created_at FROM marks WHERE experiment_id = ? ORDER BY step, id",
                (experiment_id,),
            ).fetchall()
        return [Mark(id=i, step=s, note=n, created_at=datetime.fromisoformat(c)) for i, s, n, c in rows]

    def delete_mark(self, experiment_id: str, mark_id: int) -> bool:
        with self._tx() as db:
            return (
                db.execute(
                    "DELETE FROM marks WHERE experiment_id = ? AND id = ?", (experiment_id, mark_id)
                ).rowcount
                > 0
            )


_LIVE = ("queued", "running", "paused")


def _experiment(row: tuple, runs: list[tuple]) -> Experiment:
    eid, spec, status, step, created_at, error, source = row
    return Experiment(
        id=eid,
        spec=ExperimentSpec.model_validate_json(spec),
        status=status,
        step=step,
        created_at=datetime.fromisoformat(created_at),
        runs=[RunInfo(index=i, label=label, status=s) for i, label, s in runs],
        error=error,
        source=None if source is None else ExperimentSource.model_validate_json(source),
    )
