"""The session store: one SQLite file (WAL) holding every session, sample and event.

Imports only the stdlib and ``treadwalk.core``.

Durability (DESIGN.md: "a killed process loses at most the last second"):

- ``journal_mode=WAL`` with ``synchronous=NORMAL``. A commit appends the transaction to the WAL
  file through ``write()`` before it returns, so the data is in the operating system's page cache:
  a process killed with SIGKILL (or crashing) loses nothing that was committed. Only a power cut
  or kernel crash can lose the last few commits (never corrupt the file): NORMAL skips the fsync
  per commit. ``synchronous=FULL`` (``SessionStore(path, durable=True)``) fsyncs every commit;
  ``scripts/bench_recording.py`` measures both.
- Reading while a session records is fine: WAL readers never block the writer.

A session whose ``ended`` is NULL was never finished. If its recorder still runs (another process
holds the session's live lock, an ``flock`` on ``live/<id>.lock`` next to the database) it is
``recording``; otherwise the recording process died and it is ``interrupted``: everything
committed before the kill is kept and readable.

Schema (``PRAGMA user_version`` = ``SCHEMA_VERSION``)::

    sessions(id, profile, plan_json, profile_source, device, sport, started, ended,
             stop_reason, summary_json)
    samples(session_id, t, elapsed_s, speed_kmh, incline_pct, distance_m, energy_kcal,
            heart_rate_bpm, steps, segment, target_speed_kmh, target_incline_pct, phase,
            rr_ms)   -- rr_ms: the strap's RR intervals since the sample before, JSON (schema 2)
    events(session_id, t, elapsed_s, kind, message, data_json)

Times ``started``, ``ended`` and ``t`` are epoch seconds (UTC); ``elapsed_s`` is moving time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from treadwalk.core.errors import RecordingError

try:  # POSIX only; without it an unfinished session is reported as interrupted
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "EventRecord",
    "NothingToExport",
    "Sample",
    "SessionInfo",
    "SessionNotFound",
    "SessionStore",
    "default_data_dir",
]

DB_NAME = "sessions.db"
_DAMAGED = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})  # sqlite3 error names: the file is damaged
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    profile        TEXT NOT NULL,
    plan_json      TEXT NOT NULL,
    profile_source TEXT,
    device         TEXT NOT NULL,
    sport          TEXT NOT NULL,
    started        REAL NOT NULL,
    ended          REAL,
    stop_reason    TEXT,
    summary_json   TEXT
);
CREATE TABLE IF NOT EXISTS samples (
    session_id         INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t                  REAL NOT NULL,
    elapsed_s          REAL NOT NULL,
    speed_kmh          REAL,
    incline_pct        REAL,
    distance_m         REAL,
    energy_kcal        REAL,
    heart_rate_bpm     INTEGER,
    steps              INTEGER,
    segment            INTEGER,
    target_speed_kmh   REAL,
    target_incline_pct REAL,
    phase              TEXT NOT NULL,
    rr_ms              TEXT
);
CREATE INDEX IF NOT EXISTS samples_by_session ON samples(session_id, t);
CREATE TABLE IF NOT EXISTS events (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t          REAL NOT NULL,
    elapsed_s  REAL,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    data_json  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_by_session ON events(session_id, t);
"""

_SAMPLE_COLUMNS = (
    "t",
    "elapsed_s",
    "speed_kmh",
    "incline_pct",
    "distance_m",
    "energy_kcal",
    "heart_rate_bpm",
    "steps",
    "segment",
    "target_speed_kmh",
    "target_incline_pct",
    "phase",
    "rr_ms",
)
_INSERT_SAMPLE = (
    f"INSERT INTO samples (session_id, {', '.join(_SAMPLE_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' for _ in _SAMPLE_COLUMNS)})"
)


def default_data_dir() -> Path:
    """``$TREADWALK_DATA_DIR``, else ``$XDG_DATA_HOME/treadwalk``, else ``~/.local/share/treadwalk``."""
    if explicit := os.environ.get("TREADWALK_DATA_DIR"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_DATA_HOME"):
        return Path(xdg).expanduser() / "treadwalk"
    return Path.home() / ".local" / "share" / "treadwalk"


class SessionNotFound(RecordingError):
    """No session with that id in the store."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        super().__init__(f"there is no session {session_id}; run 'treadwalk history' to list them")


class NothingToExport(RecordingError):
    """The session has no samples from a moving belt (it ended before the belt started)."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        super().__init__(
            f"session {session_id} has no samples from a moving belt, so there is no activity to export"
        )


@dataclass(frozen=True, slots=True)
class Sample:
    """One recorded moment. ``t`` is epoch seconds; ``elapsed_s`` is moving time (pauses excluded)."""

    t: float
    elapsed_s: float
    speed_kmh: float | None = None
    incline_pct: float | None = None
    distance_m: float | None = None
    energy_kcal: float | None = None
    heart_rate_bpm: int | None = None
    steps: int | None = None
    segment: int | None = None
    target_speed_kmh: float | None = None
    target_incline_pct: float | None = None
    phase: str = "running"
    rr_ms: tuple[float, ...] = ()  # the strap's beat-to-beat intervals since the sample before


@dataclass(frozen=True, slots=True)
class EventRecord:
    t: float
    elapsed_s: float | None
    kind: str
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as stored, with what its samples add up to so far.

    ``status``: ``finished`` (``finish()`` was called; see ``stop_reason``), ``recording`` (its
    recorder still runs) or ``interrupted`` (its process died before finishing).
    """

    id: int
    profile: str
    device: str
    sport: str
    started: float
    ended: float | None
    stop_reason: str | None
    status: str
    plan: Mapping[str, Any]
    profile_source: str | None
    summary: Mapping[str, Any]
    sample_count: int
    last_t: float | None  # newest sample or event
    elapsed_s: float  # moving time, from the samples
    distance_m: float | None  # from the samples

    @property
    def duration_s(self) -> float:
        """Wall time from start to the end (or to the last record, when interrupted)."""
        end = self.ended if self.ended is not None else (self.last_t or self.started)
        return max(0.0, end - self.started)


class SessionStore:
    """The SQLite store. ``SessionStore(path=None)``: ``path`` is a folder (an existing one, or a
    new name without a suffix), which gets ``sessions.db``, or the database file itself (an
    existing file, or a name with a suffix such as ``.db``); ``None`` means
    ``default_data_dir()/sessions.db``.

    Use as a context manager or call ``close()``. One connection, used from the thread that
    created it (the event loop's).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, durable: bool = False) -> None:
        p = Path(path).expanduser() if path is not None else default_data_dir()
        if path is None or p.is_dir() or (not p.exists() and not p.suffix):
            p = p / DB_NAME  # a folder (existing, or a name without a suffix)
        self.path = p
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            self._db: sqlite3.Connection | None = sqlite3.connect(p, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise RecordingError(
                f"cannot open the session store {p}: {exc}; check the folder is writable "
                "or set TREADWALK_DATA_DIR"
            ) from exc
        self._live_locks: dict[int, int] = {}
        try:
            self._setup(durable)
        except BaseException:
            self.close()
            raise

    # -- lifecycle ---------------------------------------------------------------------------

    def _setup(self, durable: bool) -> None:
        db = self._conn
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RecordingError(
                    f"the session store {self.path} cannot use write-ahead logging (got {mode}); "
                    "put it on a local disk"
                )
            db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            db.execute("PRAGMA foreign_keys = ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RecordingError(
                    f"the session store {self.path} was written by a newer treadwalk "
                    f"(schema {version}); upgrade treadwalk to read it"
                )
            if version < SCHEMA_VERSION:
                with self.transaction():
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    columns = {row[1] for row in db.execute("PRAGMA table_info(samples)")}
                    if "rr_ms" not in columns:  # a schema-1 store: its sessions stay readable
                        db.execute("ALTER TABLE samples ADD COLUMN rr_ms TEXT")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(
                f"the session store {self.path} is not a readable database ({exc}); "
                "move it aside to start a new one"
            ) from exc

    def _raise_if_damaged(self, exc: sqlite3.Error) -> None:
        """A damaged file (corrupt pages, not a database) is one sentence with the next step."""
        if getattr(exc, "sqlite_errorname", None) in _DAMAGED:
            raise RecordingError(
                f"the session store {self.path} is damaged ({exc}); move it aside with its -wal and "
                f"-shm files (e.g. mv {self.path} {self.path}.damaged) and treadwalk starts a new one"
            ) from exc

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RecordingError("the session store is closed; open a new SessionStore")
        return self._db

    @property
    def closed(self) -> bool:
        return self._db is None

    def close(self) -> None:
        for session_id in list(self._live_locks):
            self.release_live(session_id)
        if self._db is not None:
            db, self._db = self._db, None
            db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One explicit transaction (the connection is in autocommit mode otherwise)."""
        db = self._conn
        db.execute("BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- writing (used by Recorder) ------------------------------------------------------------

    def create_session(
        self,
        *,
        profile: str,
        plan: Mapping[str, Any],
        device: str,
        sport: str,
        started: float,
        profile_source: str | None = None,
    ) -> int:
        try:
            cur = self._conn.execute(
                "INSERT INTO sessions (profile, plan_json, profile_source, device, sport, started) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (profile, json.dumps(plan), profile_source, device, sport, started),
            )
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot write to the session store {self.path}: {exc}") from exc
        assert cur.lastrowid is not None
        return cur.lastrowid

    def add_sample(self, session_id: int, sample: Sample) -> None:
        """Insert one sample (committed at once unless inside ``transaction()``)."""
        try:
            self._conn.execute(_INSERT_SAMPLE, (session_id, *_sample_row(sample)))
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot write a sample to {self.path}: {exc}") from exc

    def add_samples(self, session_id: int, samples: list[Sample]) -> None:
        """Insert several samples in one transaction."""
        try:
            with self.transaction() as db:
                db.executemany(_INSERT_SAMPLE, [(session_id, *_sample_row(s)) for s in samples])
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot write samples to {self.path}: {exc}") from exc

    def add_event(
        self,
        session_id: int,
        *,
        t: float,
        kind: str,
        message: str,
        data: Mapping[str, Any] | None = None,
        elapsed_s: float | None = None,
    ) -> None:
        try:
            self._conn.execute(
                "INSERT INTO events (session_id, t, elapsed_s, kind, message, data_json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, t, elapsed_s, kind, message, json.dumps(dict(data or {}), default=str)),
            )
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot write an event to {self.path}: {exc}") from exc

    def finish_session(
        self, session_id: int, *, ended: float, stop_reason: str, summary: Mapping[str, Any]
    ) -> None:
        try:
            self._conn.execute(
                "UPDATE sessions SET ended = ?, stop_reason = ?, summary_json = ? WHERE id = ?",
                (ended, stop_reason, json.dumps(dict(summary), default=str), session_id),
            )
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot finish session {session_id} in {self.path}: {exc}") from exc

    def delete_session(self, session_id: int) -> None:
        """Remove a session with its samples and events (one that never reached a treadmill)."""
        try:
            with self.transaction() as db:
                db.execute("DELETE FROM samples WHERE session_id = ?", (session_id,))
                db.execute("DELETE FROM events WHERE session_id = ?", (session_id,))
                db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot remove session {session_id} from {self.path}: {exc}") from exc

    # -- live locks: tell "recording" from "interrupted" ----------------------------------------

    def _lock_path(self, session_id: int) -> Path:
        return self.path.parent / "live" / f"{session_id}.lock"

    def hold_live(self, session_id: int) -> None:
        """Mark the session as being recorded by this process until ``release_live`` or exit."""
        if fcntl is None or session_id in self._live_locks:
            return
        path = self._lock_path(session_id)
        try:
            path.parent.mkdir(exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError:
            return  # the lock is a nicety for `history`, never a reason to stop recording
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return
        self._live_locks[session_id] = fd

    def release_live(self, session_id: int) -> None:
        fd = self._live_locks.pop(session_id, None)
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self._lock_path(session_id).unlink()
        os.close(fd)

    def _is_live(self, session_id: int) -> bool:
        if session_id in self._live_locks:
            return True
        if fcntl is None:
            return False
        path = self._lock_path(session_id)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True  # another process holds it: that recorder is alive
        finally:
            os.close(fd)
        return False

    # -- reading ----------------------------------------------------------------------------

    _SESSION_QUERY = """
        SELECT s.id, s.profile, s.device, s.sport, s.started, s.ended, s.stop_reason,
               s.plan_json, s.profile_source, s.summary_json,
               (SELECT COUNT(*) FROM samples WHERE session_id = s.id),
               (SELECT MAX(t) FROM samples WHERE session_id = s.id),
               (SELECT MAX(t) FROM events WHERE session_id = s.id),
               (SELECT MAX(elapsed_s) FROM samples WHERE session_id = s.id),
               (SELECT MAX(distance_m) FROM samples WHERE session_id = s.id)
        FROM sessions AS s
    """

    def _info(self, row: tuple[Any, ...]) -> SessionInfo:
        (sid, profile, device, sport, started, ended, stop_reason, plan_json, source, summary_json,
         count, last_sample, last_event, elapsed, distance) = row  # fmt: skip
        live = ended is None and self._is_live(sid)
        status = "finished" if ended is not None else "recording" if live else "interrupted"
        last = max((x for x in (last_sample, last_event) if x is not None), default=None)
        return SessionInfo(
            id=sid,
            profile=profile,
            device=device,
            sport=sport,
            started=started,
            ended=ended,
            stop_reason=stop_reason,
            status=status,
            plan=json.loads(plan_json),
            profile_source=source,
            summary=json.loads(summary_json) if summary_json else {},
            sample_count=count,
            last_t=last,
            elapsed_s=elapsed or 0.0,
            distance_m=distance,
        )

    def list_sessions(self, limit: int | None = None) -> list[SessionInfo]:
        """Newest first."""
        sql = self._SESSION_QUERY + " ORDER BY s.started DESC, s.id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        try:
            rows = self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot read the session store {self.path}: {exc}") from exc
        return [self._info(r) for r in rows]

    def get_session(self, session_id: int) -> SessionInfo:
        """The session, or ``SessionNotFound``."""
        try:
            row = self._conn.execute(self._SESSION_QUERY + " WHERE s.id = ?", (session_id,)).fetchone()
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot read the session store {self.path}: {exc}") from exc
        if row is None:
            raise SessionNotFound(session_id)
        return self._info(row)

    def samples(self, session_id: int) -> list[Sample]:
        """Every sample of the session, oldest first."""
        try:
            rows = self._conn.execute(
                f"SELECT {', '.join(_SAMPLE_COLUMNS)} FROM samples WHERE session_id = ? ORDER BY t, rowid",
                (session_id,),
            ).fetchall()
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot read the session store {self.path}: {exc}") from exc
        make: Any = Sample  # a row's columns are Sample's fields in order; rr_ms is JSON text
        return [make(*r[:-1], tuple(json.loads(r[-1])) if r[-1] else ()) for r in rows]

    def events(self, session_id: int) -> list[EventRecord]:
        """Every event of the session, oldest first."""
        try:
            rows = self._conn.execute(
                "SELECT t, elapsed_s, kind, message, data_json FROM events WHERE session_id = ? "
                "ORDER BY t, rowid",
                (session_id,),
            ).fetchall()
        except sqlite3.Error as exc:
            self._raise_if_damaged(exc)
            raise RecordingError(f"cannot read the session store {self.path}: {exc}") from exc
        return [EventRecord(t, el, kind, msg, json.loads(data)) for t, el, kind, msg, data in rows]


def _sample_row(s: Sample) -> tuple[Any, ...]:
    return (
        s.t,
        s.elapsed_s,
        s.speed_kmh,
        s.incline_pct,
        s.distance_m,
        s.energy_kcal,
        s.heart_rate_bpm,
        s.steps,
        s.segment,
        s.target_speed_kmh,
        s.target_incline_pct,
        s.phase,
        json.dumps([round(v, 1) for v in s.rr_ms]) if s.rr_ms else None,
    )
