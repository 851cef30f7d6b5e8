"""Disk full mid-session: the belt logic goes on untouched, the walker is told at once, nothing
walked is lost (kept in memory and written when space returns, or at the end to a fallback file
the message names), and nothing says "saved" falsely.

The store is the real one; only its SQLite connection answers writes with the error SQLite gives
on a full disk (``sqlite3.OperationalError: database or disk is full``) while ``full`` is set.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_engine_session import FakeTreadmill, Watcher, _plan

from treadwalk.core.clock import LoopClock
from treadwalk.core.errors import RecordingError
from treadwalk.core.model import EventKind, StopReason
from treadwalk.engine import Session, Settings
from treadwalk.recording import Recorder, SessionStore

pytestmark = pytest.mark.virtual_time

_WRITES = ("INSERT", "UPDATE", "DELETE")


class _FullDisk:
    """A sqlite3 connection whose writes fail as on a full disk; reads still work."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.lstrip().upper().startswith(_WRITES):
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        raise sqlite3.OperationalError("database or disk is full")


class FillingStore(SessionStore):
    full = False

    @property
    def _conn(self) -> Any:
        db = super()._conn
        return _FullDisk(db) if self.full else db


async def _walk(
    tmp_path: Path, *, full_from_s: float, full_until_s: float | None
) -> tuple[Session, Watcher, Recorder, FillingStore, Any]:
    """A 3 x 20 s plan + 30 s cool-down, recorded; the disk is full from/until those times."""
    store = FillingStore(tmp_path / "data")
    recorder = Recorder(store, _plan(), device="fake", fallback_dir=tmp_path / "fallback")
    watcher = Watcher()
    session = Session(
        FakeTreadmill(),
        _plan(),
        LoopClock(),
        observers=[recorder, watcher],
        settings=Settings(auto_start=True, cooldown_s=30.0),
        session_id=recorder.session_id,
    )
    recorder.notify = session.notify

    async def disk() -> None:
        await asyncio.sleep(full_from_s)
        store.full = True
        if full_until_s is not None:
            await asyncio.sleep(full_until_s - full_from_s)
            store.full = False

    filler = asyncio.create_task(disk(), name="disk")
    result = await session.run()
    filler.cancel()
    await asyncio.wait([filler])
    return session, watcher, recorder, store, result


def _recording_events(w: Watcher) -> list[tuple[bool, str]]:
    return [(bool(e.data["saved"]), e.message) for e in w.events if e.kind is EventKind.RECORDING]


def _dense(times: list[float]) -> None:
    assert max(b - a for a, b in itertools.pairwise(times)) <= 1.0 + 1e-6


async def test_space_that_returns_gets_everything_kept_in_memory(tmp_path: Path) -> None:
    _session, w, recorder, store, result = await _walk(tmp_path, full_from_s=20.0, full_until_s=50.0)
    # the belt logic is untouched: the whole plan and the cool-down, then a stop
    assert result.stop_reason is StopReason.FINISHED
    assert result.segments_completed == result.segments_total == 3
    assert result.duration_s == pytest.approx(90.0)
    told = _recording_events(w)
    assert told[0][0] is False  # told at once ...
    first = next(e for e in w.events if e.kind is EventKind.RECORDING)
    assert 20.0 <= first.at - w.snapshots[0].at <= 21.0  # ... within a second of the failure
    assert "database or disk is full" in told[0][1]
    assert str(recorder.fallback_path) in told[0][1]
    assert told[-1][0] is True  # and again when it works
    summary = {"stop_reason": result.stop_reason.value}
    recorder.finish(result.stop_reason, summary)
    with store:
        info = store.get_session(recorder.session_id)
        samples = store.samples(recorder.session_id)
        kinds = [e.kind for e in store.events(recorder.session_id)]
    assert info.status == "finished"
    assert recorder.saved
    moving = [s.elapsed_s for s in samples if s.phase in ("running", "cooldown")]
    assert moving[0] == pytest.approx(0.0, abs=0.3)
    assert moving[-1] >= 89.0
    _dense(moving)  # nothing walked is lost: no gap over a second across the full disk
    assert kinds.count("segment") == 3
    assert "recording" in kinds
    assert not recorder.fallback_path.exists()


async def test_a_disk_that_stays_full_ends_in_the_fallback_file_the_walker_was_told(
    tmp_path: Path,
) -> None:
    _session, w, recorder, store, result = await _walk(tmp_path, full_from_s=30.0, full_until_s=None)
    assert result.stop_reason is StopReason.FINISHED
    assert result.segments_completed == 3
    told = _recording_events(w)
    assert all(saved is False for saved, _ in told)
    assert "Not saved in the session store" in told[-1][1]  # what the summary shows, never "saved"
    assert str(recorder.fallback_path) in told[-1][1]
    with pytest.raises(RecordingError, match="everything walked is in") as caught:
        recorder.finish(result.stop_reason, {"stop_reason": "finished"})
    assert str(recorder.fallback_path) in str(caught.value)
    assert not recorder.saved
    lines = [json.loads(line) for line in recorder.fallback_path.read_text().splitlines()]
    assert lines[0]["type"] == "session"
    assert lines[0]["profile"] == "t"
    assert lines[-1] == {
        "type": "finish",
        "ended": lines[-1]["ended"],
        "stop_reason": "finished",
        "summary": {"stop_reason": "finished"},
    }
    moving = sorted(
        x["elapsed_s"] for x in lines if x["type"] == "sample" and x["phase"] in ("running", "cooldown")
    )
    assert moving[-1] >= 89.0
    _dense(moving)  # the file alone holds the whole walk: the part the store took, and the rest
    assert sum(x["type"] == "event" and x["kind"] == "segment" for x in lines) == 3
    store.close()


async def test_a_session_that_never_reached_a_treadmill_is_not_kept(tmp_path: Path) -> None:
    class NoBluetooth(FakeTreadmill):
        async def __aenter__(self) -> NoBluetooth:
            raise RecordingError("stand-in for 'No usable Bluetooth adapter'")

    with SessionStore(tmp_path / "data") as store:
        recorder = Recorder(store, _plan(), device="fake")
        watcher = Watcher()
        session = Session(NoBluetooth(), _plan(), LoopClock(), observers=[recorder, watcher])
        recorder.notify = session.notify
        with pytest.raises(RecordingError):
            await session.run()
        recorder.finish(StopReason.ERROR, {})
        assert store.list_sessions() == []
    assert recorder.discarded
    assert _recording_events(watcher) == [(False, "Nothing was recorded: the treadmill never connected.")]


async def test_the_summary_never_says_saved_while_the_store_does_not_have_it(tmp_path: Path) -> None:
    from rich.console import Console

    from treadwalk.cli.run import PlainLines
    from treadwalk.dashboard.view import render_summary

    session, w, recorder, store, _result = await _walk(tmp_path, full_from_s=30.0, full_until_s=None)
    store.close()
    final = w.snapshots[-1]
    told = [e for e in w.events if e.kind is EventKind.RECORDING]
    lines = PlainLines(session, keys=False)
    lines.on_snapshot(final)
    assert "saved as session" in lines.summary_line()  # before the recorder spoke: it was fine
    for event in told:
        lines.on_event(event)
    assert "saved as session" not in lines.summary_line()
    assert str(recorder.fallback_path) in lines.summary_line()
    console = Console(record=True, width=100, color_system=None)
    console.print(render_summary(final, not_saved=told[-1].message, width=100))
    text = console.export_text()
    assert "Saved as" not in text
    assert "Not saved in the session store" in text
