"""`treadwalk run` as a user runs it: bad flags, caps, a whole session on the virtual treadmill,
SIGTERM, and SIGKILL with the store checked afterwards. Real processes, real (accelerated) time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from treadwalk.recording import SessionStore


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TREADWALK_CONFIG"] = str(tmp_path / "no-config.toml")
    env["TREADWALK_DATA_DIR"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    return env


def _run(tmp_path: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", "run", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["demo"], "treadwalk scan"),
        (["demo", "--device", "X", "--speedup", "10"], "--speedup works only with the virtual treadmill"),
        (["demo", "--sim", "--speedup", "0.5"], "at least 1"),
        (["demo", "--sim", "--hci", "usb:0"], "one or the other"),
        (["demo", "--sim", "--max-speed", "4"], "--fit-to-caps"),
        (["no-such-profile", "--sim"], "no profile called"),
        # a zone segment without the config it needs: refused before the belt starts
        (["zone-2-incline-walk", "--sim", "--yes"], "set max_bpm = "),
    ],
)
def test_bad_usage_is_one_sentence_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    out = _run(tmp_path, *args)
    assert out.returncode == 2, out.stderr
    assert needle in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_whole_session_on_the_virtual_treadmill(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    out = _run(
        tmp_path,
        "demo",
        "--sim",
        "--yes",
        "--no-dashboard",
        "--speedup",
        "100",
        "--max-speed",
        "5.5",
        "--fit-to-caps",
        "--summary-json",
        str(summary),
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(summary.read_text())
    assert set(data) == {
        "session_id",
        "profile",
        "stop_reason",
        "belt_stopped",
        "duration_s",
        "distance_m",
        "ascent_m",
        "segments_completed",
        "segments_total",
        "max_speed_kmh",
        "max_incline_pct",
    }
    assert data["stop_reason"] == "finished"
    assert data["belt_stopped"] is True
    assert data["segments_completed"] == data["segments_total"]
    assert data["max_speed_kmh"] <= 5.5
    assert "Scaled" in out.stdout
    assert "Starting in 3 s" in out.stdout
    last = out.stdout.strip().splitlines()[-1]
    assert "summary" in last
    assert "finished" in last
    assert f"saved as session {data['session_id']}" in last
    assert f"{data['distance_m'] / 1000:.2f} km" in last
    with SessionStore(tmp_path / "data") as store:
        info = store.get_session(data["session_id"])
        assert info.status == "finished"
        assert info.stop_reason == "finished"
        assert info.sample_count > 100


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "treadwalk",
            "run",
            "long-steady-climb",
            "--sim",
            "--yes",
            "--no-dashboard",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=_env(tmp_path),
    )


def _wait_for(proc: subprocess.Popen[str], needle: str, timeout_s: float = 60.0) -> list[str]:
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    proc.kill()
    raise AssertionError(f"{needle!r} never showed: {seen}")


@pytest.mark.slow
def test_sigterm_stops_the_belt_and_records_the_session(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    proc = _start(tmp_path, "--speedup", "20", "--summary-json", str(summary))
    _wait_for(proc, "Go!")
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Emergency stop." in out
    data = json.loads(summary.read_text())
    assert data["stop_reason"] == "user"
    with SessionStore(tmp_path / "data") as store:
        info = store.get_session(data["session_id"])
        assert info.status == "finished"
        assert any(e.kind == "stop" for e in store.events(info.id))


@pytest.mark.slow
def test_sigkill_loses_at_most_the_last_second(tmp_path: Path) -> None:
    proc = _start(tmp_path, "--speedup", "10")
    _wait_for(proc, "Go!")
    time.sleep(2.0)  # 20 s of session time
    proc.kill()
    proc.communicate(timeout=30)
    with SessionStore(tmp_path / "data") as store:
        (info,) = store.list_sessions()
        assert info.status == "interrupted"
        assert info.sample_count >= 10
        assert info.elapsed_s >= 10.0
