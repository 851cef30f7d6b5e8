"""The session store and the Recorder: schema, sampling rate, events, finish, interrupted
sessions, and a real process killed with SIGKILL in the middle of recording."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treadwalk.cli import main
from treadwalk.core.errors import RecordingError
from treadwalk.core.model import (
    Phase,
    Plan,
    PlanSegment,
    SessionEvent,
    SessionSnapshot,
    StopReason,
    TreadmillState,
)
from treadwalk.recording import (
    SCHEMA_VERSION,
    Recorder,
    Sample,
    SessionNotFound,
    SessionStore,
    default_data_dir,
)
from treadwalk.recording.synthetic import synthetic_plan, synthetic_session

ROOT = Path(__file__).resolve().parent.parent
WALL0 = 1_767_225_600.0
PLAN = Plan(
    name="Two steps",
    segments=(
        PlanSegment("Warm-up", "warmup", 4.0, 0.0, duration_s=30.0),
        PlanSegment("Hill", "work", 5.5, 8.0, duration_s=30.0),
    ),
)


def snap(
    at: float, phase: Phase = Phase.RUNNING, segment: int | None = 0, speed: float = 4.0
) -> SessionSnapshot:
    return SessionSnapshot(
        at=at,
        wall=WALL0 + at,
        plan=PLAN,
        phase=phase,
        segment_index=segment,
        session_elapsed_s=at,
        machine=TreadmillState(
            at=at, speed_kmh=speed, incline_pct=1.0, heart_rate_bpm=100, steps=int(at * 2)
        ),
        distance_m=at * speed / 3.6,
        energy_kcal=at / 10,
        target_speed_kmh=speed,
        target_incline_pct=1.0,
    )


def play(recorder: Recorder, items: object) -> None:
    for item in items:  # type: ignore[attr-defined]
        if isinstance(item, SessionEvent):
            recorder.on_event(item)
        else:
            recorder.on_snapshot(item)


# -- the store ------------------------------------------------------------------------------------


def test_store_is_wal_with_a_versioned_schema(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        assert store.path == tmp_path / "s.db"
    db = sqlite3.connect(tmp_path / "s.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"sessions", "samples", "events"} <= tables
    finally:
        db.close()


def test_a_folder_gets_sessions_db(tmp_path: Path) -> None:
    with SessionStore(tmp_path) as store:
        assert store.path == tmp_path / "sessions.db"


def test_default_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TREADWALK_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_dir() == tmp_path / "home" / ".local" / "share" / "treadwalk"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_data_dir() == tmp_path / "xdg" / "treadwalk"
    monkeypatch.setenv("TREADWALK_DATA_DIR", str(tmp_path / "explicit"))
    assert default_data_dir() == tmp_path / "explicit"
    with SessionStore() as store:
        assert store.path == tmp_path / "explicit" / "sessions.db"


def test_a_store_from_a_newer_treadwalk_is_refused(tmp_path: Path) -> None:
    SessionStore(tmp_path).close()
    db = sqlite3.connect(tmp_path / "sessions.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RecordingError, match="newer treadwalk"):
        SessionStore(tmp_path)


def test_a_file_that_is_not_a_database_is_a_recording_error(tmp_path: Path) -> None:
    (tmp_path / "sessions.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RecordingError, match="move it aside"):
        SessionStore(tmp_path)


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.close()
    store.close()  # twice is fine
    with pytest.raises(RecordingError, match="closed"):
        store.list_sessions()


def test_unknown_session(tmp_path: Path) -> None:
    with SessionStore(tmp_path) as store, pytest.raises(SessionNotFound, match="no session 42"):
        store.get_session(42)


# -- the recorder ---------------------------------------------------------------------------------


def test_recorder_writes_one_sample_per_second_from_a_10_hz_stream(tmp_path: Path) -> None:
    with SessionStore(tmp_path) as store:
        rec = Recorder(store, PLAN, device="Sim", clock_wall=lambda: WALL0)
        for i in range(601):  # 60 s at 10 Hz
            rec.on_snapshot(snap(i / 10))
        samples = store.samples(rec.session_id)
    times = [s.elapsed_s for s in samples]
    assert 60 <= len(samples) <= 67
    assert times[0] == 0.0
    assert times[-1] >= 59.0
    assert max(b - a for a, b in itertools.pairwise(times)) <= 1.0 + 1e-9


def test_recorder_keeps_every_snapshot_of_a_jittery_1_hz_stream(tmp_path: Path) -> None:
    ats = [0.0, 0.97, 2.02, 2.95, 4.0, 4.93, 6.05]
    with SessionStore(tmp_path) as store:
        rec = Recorder(store, PLAN, device="Sim")
        for at in ats:
            rec.on_snapshot(snap(at))
        assert [s.elapsed_s for s in store.samples(rec.session_id)] == ats


def test_phase_and_segment_changes_are_sampled_and_a_standing_belt_is_not(tmp_path: Path) -> None:
    with SessionStore(tmp_path) as store:
        rec = Recorder(store, PLAN, device="Sim")
        for i in range(30):  # 3 s of countdown: one sample at the phase change only
            rec.on_snapshot(snap(i / 10, Phase.COUNTDOWN, None, speed=0.0))
        rec.on_snapshot(snap(3.0))
        rec.on_snapshot(snap(3.1, segment=1))  # segment change, 0.1 s later
        for i in range(50):  # 5 s paused, belt stopped
            rec.on_snapshot(snap(3.2 + i / 10, Phase.PAUSED, 1, speed=0.0))
        rec.on_snapshot(snap(8.3, Phase.RUNNING, 1))
        phases = [(s.phase, s.segment) for s in store.samples(rec.session_id)]
    assert phases == [
        ("countdown", None),
        ("running", 0),
        ("running", 1),
        ("paused", 1),
        ("running", 1),
    ]


def test_finish_keeps_the_last_moments_before_the_stop(tmp_path: Path) -> None:
    with SessionStore(tmp_path) as store:
        rec = Recorder(store, PLAN, device="Sim")
        for at in (0.0, 1.0, 1.4):  # 1.4 is not due yet when the session stops
            rec.on_snapshot(snap(at))
        rec.finish(StopReason.USER, {})
        assert [s.elapsed_s for s in store.samples(rec.session_id)] == [0.0, 1.0, 1.4]


def test_samples_carry_the_snapshot_values(tmp_path: Path) -> None:
    with SessionStore(tmp_path) as store:
        rec = Recorder(store, PLAN, device="Sim")
        rec.on_snapshot(snap(12.0, speed=5.5))
        (s,) = store.samples(rec.session_id)
    assert s.t == WALL0 + 12.0
    assert (s.speed_kmh, s.incline_pct, s.heart_rate_bpm, s.steps, s.segment) == (5.5, 1.0, 100, 24, 0)
    assert s.distance_m == pytest.approx(12.0 * 5.5 / 3.6)
    assert s.energy_kcal == pytest.approx(1.2)
    assert (s.target_speed_kmh, s.target_incline_pct, s.phase) == (5.5, 1.0, "running")


def test_events_are_recorded_with_their_data_and_finish_closes_the_session(tmp_path: Path) -> None:
    running_plan = Plan(name="Tempo", segments=PLAN.segments, intent="running")
    with SessionStore(tmp_path) as store:
        rec = Recorder(
            store, running_plan, device="Sim Treadmill", clock_wall=lambda: WALL0, profile_text="x = 1"
        )
        assert store.get_session(rec.session_id).status == "recording"
        rec.on_snapshot(snap(0.0))
        rec.on_event(SessionEvent(1.0, WALL0 + 1, "cue", "shorter steps", {"segment": 0}))
        rec.on_event(SessionEvent(2.0, WALL0 + 2, "override", "speed +0.5", {"delta_kmh": 0.5}))
        rec.finish(StopReason.USER, {"distance_m": 12.5, "stop_reason": "user"})
        rec.finish(StopReason.ERROR, {})  # a second finish changes nothing
        rec.on_snapshot(snap(5.0))  # nor does anything after finishing
        rec.on_event(SessionEvent(6.0, WALL0 + 6, "late", "ignored"))
        info = store.get_session(rec.session_id)
        events = store.events(rec.session_id)
        assert len(store.samples(rec.session_id)) == 1
    assert [(e.kind, e.message, dict(e.data)) for e in events] == [
        ("cue", "shorter steps", {"segment": 0}),
        ("override", "speed +0.5", {"delta_kmh": 0.5}),
    ]
    assert info.status == "finished"
    assert info.stop_reason == "user"
    assert info.summary == {"distance_m": 12.5, "stop_reason": "user"}
    assert (info.profile, info.device, info.sport, info.profile_source) == (
        "Tempo",
        "Sim Treadmill",
        "running",
        "x = 1",
    )
    assert info.plan["intent"] == "running"
    assert [s["name"] for s in info.plan["segments"]] == ["Warm-up", "Hill"]
    assert info.started == WALL0
    assert info.ended is not None
    assert info.ended >= WALL0


def test_an_unfinished_session_is_recording_while_its_store_is_open_then_interrupted(tmp_path: Path) -> None:
    writer = SessionStore(tmp_path)
    try:
        rec = Recorder(writer, PLAN, device="Sim")
        rec.on_snapshot(snap(0.0))
        with SessionStore(tmp_path) as reader:  # another connection, as `history` would be
            assert reader.get_session(rec.session_id).status == "recording"
    finally:
        writer.close()  # the process "dies" without finish()
    with SessionStore(tmp_path) as reader:
        info = reader.get_session(rec.session_id)
        assert info.status == "interrupted"
        assert info.sample_count == 1


def test_batched_commits_lag_at_most_the_batch_window(tmp_path: Path) -> None:
    with SessionStore(tmp_path) as store, SessionStore(tmp_path) as reader:
        rec = Recorder(store, PLAN, device="Sim", commit_every_s=1.0)

        def committed() -> int:
            return reader.get_session(rec.session_id).sample_count

        rec.on_snapshot(snap(0.0))
        rec.on_snapshot(snap(0.5, segment=1))  # a segment change: sampled at once
        assert committed() == 0  # both in the open batch
        rec.on_snapshot(snap(1.5, segment=1))
        assert committed() == 3  # the window is over: committed together
        rec.on_snapshot(snap(2.5, segment=1))
        assert committed() == 3
        rec.on_event(SessionEvent(2.7, WALL0 + 2.7, "cue", "tall posture"))
        assert committed() == 4  # an event commits what is pending first
        rec.on_snapshot(snap(3.5, segment=1))
        rec.finish(StopReason.FINISHED, {})
        assert committed() == 5


def test_commit_window_over_a_second_is_refused(tmp_path: Path) -> None:
    with SessionStore(tmp_path) as store, pytest.raises(ValueError, match="between 0 and 1"):
        Recorder(store, PLAN, device="Sim", commit_every_s=2.0)


@settings(max_examples=40, deadline=None)
@given(gaps=st.lists(st.floats(min_value=0.01, max_value=2.5), min_size=1, max_size=60))
def test_no_second_of_moving_belt_goes_unsampled(gaps: list[float]) -> None:
    """Whatever the snapshot rhythm, a snapshot is skipped only if a sample was written less
    than a second before it: the record is at least as dense as 1 Hz allows."""
    ats = [0.0]
    for g in gaps:
        ats.append(ats[-1] + g)
    with tempfile.TemporaryDirectory() as d, SessionStore(d) as store:
        rec = Recorder(store, PLAN, device="Sim")
        for at in ats:
            rec.on_snapshot(snap(at))
        written = [s.elapsed_s for s in store.samples(rec.session_id)]
    assert written[0] == 0.0
    for at in ats:
        if at not in written:
            last = max(w for w in written if w < at)
            assert at - last < 1.0


def test_synthetic_session_records_and_finishes(tmp_path: Path) -> None:
    plan = synthetic_plan(5)
    with SessionStore(tmp_path) as store:
        rec = Recorder(store, plan, device="Sim", clock_wall=lambda: WALL0)
        play(rec, synthetic_session(plan, rate_hz=2, pause_at_s=60, pause_s=10))
        rec.finish(StopReason.FINISHED, {})
        (info,) = store.list_sessions()
        kinds = [e.kind for e in store.events(rec.session_id)]
    assert info.status == "finished"
    assert info.elapsed_s == pytest.approx(300, abs=1)
    assert kinds.count("segment") == len(plan.segments)
    assert {"pause", "resume", "stop"} <= set(kinds)


# -- a real process, killed ----------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    from treadwalk.core.model import SessionEvent
    from treadwalk.recording import Recorder, SessionStore
    from treadwalk.recording.synthetic import synthetic_plan, synthetic_session

    data_dir, commit_every_s = sys.argv[1], float(sys.argv[2])
    plan = synthetic_plan(600)  # far longer than the test lets it live
    store = SessionStore(data_dir)
    rec = Recorder(store, plan, device="Sim", commit_every_s=commit_every_s)
    print("session", rec.session_id, flush=True)
    for item in synthetic_session(plan, rate_hz=5, wall_start=time.time()):
        if isinstance(item, SessionEvent):
            rec.on_event(item)
            continue
        before = rec.samples_written
        rec.on_snapshot(item)
        if rec.samples_written != before:
            # returned from on_snapshot: this sample was handed to the store
            print("sample", item.session_elapsed_s, flush=True)
        time.sleep(0.0005)
    """
)


@pytest.mark.parametrize("commit_every_s", [0.0, 1.0], ids=["commit-per-sample", "batched-1s"])
def test_sigkill_mid_recording_loses_at_most_the_last_second(tmp_path: Path, commit_every_s: float) -> None:
    script = tmp_path / "record.py"
    script.write_text(CHILD)
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(data_dir), str(commit_every_s)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline().split()
        assert first[0] == "session", first
        session_id = int(first[1])
        handed: list[float] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until 40 s of session time are recorded
            line = proc.stdout.readline().split()
            handed.append(float(line[1]))
            if handed[-1] >= 40.0:
                break
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        handed += [
            float(line.split()[1]) for line in proc.stdout.read().splitlines() if line.startswith("sample")
        ]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert handed[-1] >= 40.0
    with SessionStore(data_dir) as store:
        info = store.get_session(session_id)
        stored = [s.elapsed_s for s in store.samples(session_id)]
        events = store.events(session_id)
    assert info.status == "interrupted"
    assert info.ended is None
    # everything handed to the store is there, but for (with batching) the last second at most
    lost = [t for t in handed if t not in set(stored)]
    if commit_every_s == 0:
        assert lost == []
    else:
        assert all(t >= handed[-1] - 1.0 - 1.0 / 5 for t in lost), lost
    assert stored == sorted(stored)
    assert stored[-1] >= handed[-1] - 1.2
    assert {e.kind for e in events} >= {"phase", "segment"}

    # and the next `treadwalk history` shows it as interrupted
    out = subprocess.run(
        [sys.executable, "-m", "treadwalk", "history", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    row = next((line for line in out.splitlines() if line.split()[:1] == [str(session_id)]), out)
    assert "INTERRUPTED" in row


def test_history_cli_lists_interrupted_and_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SessionStore(tmp_path) as store:
        done = Recorder(store, PLAN, device="Sim", clock_wall=lambda: WALL0)
        done.on_snapshot(snap(0.0))
        done.finish(StopReason.MACHINE, {})
        broken = Recorder(store, PLAN, device="Sim", clock_wall=lambda: WALL0 + 100)
        broken.on_snapshot(snap(0.0))
        store.release_live(broken.session_id)  # as if its process had died
    assert main(["history", "--data-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "STARTED", "PROFILE", "SPORT", "TIME", "DISTANCE", "STATUS"]
    assert lines[1].split()[0] == str(broken.session_id)
    assert lines[1].endswith("INTERRUPTED")
    assert lines[2].split()[0] == str(done.session_id)
    assert lines[2].endswith("machine")
    assert main(["history", "show", str(broken.session_id), "--data-dir", str(tmp_path)]) == 0
    assert "INTERRUPTED" in capsys.readouterr().out


def test_history_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--data-dir", str(tmp_path)]) == 0
    assert "No sessions recorded yet" in capsys.readouterr().out
    assert main(["history", "show", "3", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no session 3" in err
    SessionStore(tmp_path).close()
    for argv in (
        ["history", "show", "7"],
        ["history", "show", "x"],
        ["history", "show"],
        ["history", "sideways"],
    ):
        assert main([*argv, "--data-dir", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("treadwalk: "), err
        assert err.count("\n") == 1, err


SCHEMA_1 = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, profile TEXT NOT NULL,
    plan_json TEXT NOT NULL, profile_source TEXT, device TEXT NOT NULL, sport TEXT NOT NULL,
    started REAL NOT NULL, ended REAL, stop_reason TEXT, summary_json TEXT);
CREATE TABLE samples (session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t REAL NOT NULL, elapsed_s REAL NOT NULL, speed_kmh REAL, incline_pct REAL, distance_m REAL,
    energy_kcal REAL, heart_rate_bpm INTEGER, steps INTEGER, segment INTEGER,
    target_speed_kmh REAL, target_incline_pct REAL, phase TEXT NOT NULL);
CREATE TABLE events (session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    t REAL NOT NULL, elapsed_s REAL, kind TEXT NOT NULL, message TEXT NOT NULL,
    data_json TEXT NOT NULL DEFAULT '{}');
"""


def test_a_schema_1_store_opens_keeps_its_walks_and_takes_rr_intervals(tmp_path: Path) -> None:
    """Walks recorded before RR intervals were kept stay readable after the upgrade."""
    path = tmp_path / "sessions.db"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    db.execute(
        "INSERT INTO sessions (profile, plan_json, device, sport, started) VALUES ('old', '{}', 'x', 'walking', 1.0)"
    )
    db.execute(
        "INSERT INTO samples VALUES (1, 2.0, 1.0, 4.0, 0.0, 1.0, NULL, 118, NULL, 0, 4.0, 0.0, 'running')"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with SessionStore(path) as store:
        (old,) = store.samples(1)
        assert (old.heart_rate_bpm, old.rr_ms) == (118, ())
        store.add_sample(1, Sample(t=3.0, elapsed_s=2.0, heart_rate_bpm=119, rr_ms=(502.0, 498.5)))
        assert store.samples(1)[-1].rr_ms == (502.0, 498.5)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
