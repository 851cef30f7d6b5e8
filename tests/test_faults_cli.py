"""Faults and bad input a user still hit (issue 11), each run as a user runs it: a real process,
its exit code, one sentence on stderr, no traceback, and nothing half-done left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from treadwalk.recording import SessionStore


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TREADWALK_CONFIG"] = str(tmp_path / "no-config.toml")
    env["TREADWALK_DATA_DIR"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env.update(extra)
    return env


def _treadwalk(
    tmp_path: Path, *args: str, timeout: float = 60.0, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _one_sentence(out: subprocess.CompletedProcess[str], code: int) -> str:
    assert out.returncode == code, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    assert "unexpected error" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


# -- 1. no Bluetooth stack (no bluetoothd, no D-Bus socket) -------------------------------------

NO_DBUS = {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/treadwalk-test/system_bus_socket"}


@pytest.mark.parametrize(
    "args",
    [
        ["scan", "--timeout", "1"],
        ["info", "--device", "KS-ST A1", "--timeout", "1"],
        ["run", "demo", "--device", "KS-ST A1", "--yes", "--no-dashboard"],
    ],
    ids=["scan", "info", "run"],
)
def test_no_bluetooth_stack_is_the_same_sentence_everywhere(tmp_path: Path, args: list[str]) -> None:
    line = _one_sentence(_treadwalk(tmp_path, *args, **NO_DBUS), 1)
    assert line.startswith("treadwalk: No usable Bluetooth adapter (FileNotFoundError")
    assert "--hci SPEC" in line


def test_no_bluetooth_stack_records_nothing(tmp_path: Path) -> None:
    out = _treadwalk(tmp_path, "run", "demo", "--device", "KS-ST A1", "--yes", "--no-dashboard", **NO_DBUS)
    assert out.returncode == 1
    assert "saved as session" not in out.stdout
    db = tmp_path / "data" / "sessions.db"
    if db.exists():
        with SessionStore(db) as store:
            assert store.list_sessions() == []
    listed = _treadwalk(tmp_path, "history")
    assert "No sessions recorded yet" in listed.stdout


# -- 3, 7, 10: run's bad input, refused before anything connects --------------------------------


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (
            ["--yes", "--summary-json", "no/such/folder/summary.json"],
            "the folder no/such/folder does not exist",
        ),
        (["--yes", "--summary-json", "."], "is a folder"),
        (["--yes", "--max-incline", "-50"], "--max-incline must be from -10 to 40 %, not -50"),
        (["--yes", "--max-incline", "45"], "--max-incline must be from -10 to 40 %"),
        ([], "add --yes"),  # stdin is /dev/null: no key can ever start the belt
    ],
    ids=["summary-folder-missing", "summary-is-a-folder", "incline-negative", "incline-high", "no-keys"],
)
def test_run_refuses_bad_input_before_the_belt_starts(tmp_path: Path, extra: list[str], needle: str) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "treadwalk",
            "run",
            "demo",
            "--sim",
            "--no-dashboard",
            "--speedup",
            "50",
            *extra,
        ],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    line = _one_sentence(out, 2)
    assert needle in line
    assert out.stdout == ""  # nothing connected, nothing counted down
    assert not (tmp_path / "data").exists()  # nothing recorded


def test_run_takes_keys_from_a_pipe(tmp_path: Path) -> None:
    """A program may drive the keys through a pipe: Enter starts, x stops now."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "treadwalk", "run", "demo", "--sim", "--no-dashboard", "--speedup", "50"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for line in proc.stdout:
            if "keys" in line:
                proc.stdin.write("\n")
                proc.stdin.flush()
            if "Go!" in line:
                proc.stdin.write("x\n")
                proc.stdin.flush()
                break
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "summary" in out


# -- 4, 5: a damaged store, a data dir that is a file --------------------------------------------


def _damaged_store(folder: Path) -> Path:
    """A store with one session, then every page after the first overwritten: it opens, and
    reading it fails with SQLite's "database disk image is malformed"."""
    from treadwalk.core.model import SessionEvent, StopReason
    from treadwalk.recording import Recorder
    from treadwalk.recording.synthetic import synthetic_plan, synthetic_session

    with SessionStore(folder) as store:
        plan = synthetic_plan(5)
        rec = Recorder(store, plan, device="Sim")
        for item in synthetic_session(plan):
            (rec.on_event if isinstance(item, SessionEvent) else rec.on_snapshot)(item)
        rec.finish(StopReason.FINISHED, {})
    db = folder / "sessions.db"
    data = bytearray(db.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)
    db.write_bytes(bytes(data))
    return db


@pytest.mark.parametrize(
    "args",
    [["history"], ["history", "show", "1"], ["export", "1", "--format", "csv", "-o", "out.csv"]],
    ids=["list", "show", "export"],
)
def test_a_damaged_store_names_the_file_and_what_to_do(tmp_path: Path, args: list[str]) -> None:
    db = _damaged_store(tmp_path / "data")
    line = _one_sentence(_treadwalk(tmp_path, *args), 1)
    assert f"the session store {db} is damaged" in line
    assert "move it aside" in line
    assert f"mv {db} {db}.damaged" in line


@pytest.mark.parametrize("args", [["history"], ["export", "1", "--format", "csv"]], ids=["history", "export"])
def test_a_data_dir_that_is_a_file_is_bad_input(tmp_path: Path, args: list[str]) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder\n")
    line = _one_sentence(_treadwalk(tmp_path, *args, "--data-dir", str(a_file)), 2)
    assert f"--data-dir {a_file} is a file, not a folder" in line
    assert "No sessions recorded yet" not in line


# -- 8. profiles: a size limit, and the total length summed through the repeats -------------------


def _nested(levels: int, times: int) -> str:
    """``levels`` repeats of ``times`` each, nested, around one 1 s segment."""
    head = 'name = "Forever"\n'
    prefix = "segment"
    for _ in range(levels):
        head += f"[[{prefix}]]\nrepeat = {times}\n"
        prefix += ".segment"
    return head + f"[[{prefix}]]\nduration = '1s'\nspeed = 4\n"


@pytest.mark.timeout(20)  # a backstop: expanding 10^8 segments first took 48 s of CPU here
def test_nested_repeats_are_refused_without_expanding_them(tmp_path: Path) -> None:
    from treadwalk.core.errors import ProfileError
    from treadwalk.profile import load_profile

    big = tmp_path / "forever.toml"
    big.write_text(_nested(4, 100))
    for _ in range(20):  # twenty times: each must take no time at all
        with pytest.raises(ProfileError, match=r"lasts 27777\.8 h; keep it under 12 h"):
            load_profile(big)
    fine = tmp_path / "fine.toml"
    fine.write_text(_nested(2, 100))  # 10 000 s: under 12 h, plays
    assert len(load_profile(fine).to_plan().segments) == 10_000


def test_a_profile_file_over_the_size_limit_is_one_sentence(tmp_path: Path) -> None:
    huge = tmp_path / "huge.toml"
    huge.write_text(_nested(1, 2) + "# padding\n" * 200_000)  # 2 MB of comments around a valid profile
    sentence = f"{huge}: the file is 2.0 MB; a profile is at most 1 MB"
    line = _one_sentence(_treadwalk(tmp_path, "run", str(huge), "--sim", "--yes"), 2)
    assert sentence in line
    out = _treadwalk(tmp_path, "profiles", "validate", str(huge))  # one line per file, then a count
    assert out.returncode == 2
    assert out.stderr.splitlines()[0].startswith(sentence)
    assert not (tmp_path / "data").exists()  # never played, never copied into the record


# -- 9. export of a session that never started ----------------------------------------------------


@pytest.mark.parametrize("fmt", ["fit", "tcx", "csv"])
def test_export_of_a_session_that_never_started_writes_nothing(tmp_path: Path, fmt: str) -> None:
    from treadwalk.core.model import EventKind, SessionEvent, StopReason
    from treadwalk.recording import Recorder
    from treadwalk.recording.synthetic import synthetic_plan

    with SessionStore(tmp_path / "data") as store:  # as an older treadwalk left it: no samples
        rec = Recorder(store, synthetic_plan(5), device="Sim")
        rec.on_event(SessionEvent(0.0, 1.7e9, EventKind.STOP, "Stopped after an error: no adapter"))
        rec.finish(StopReason.ERROR, {})
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    line = _one_sentence(_treadwalk(tmp_path, "export", "1", "--format", fmt, "-o", str(out_dir)), 2)
    assert "session 1 has nothing to export: it never started" in line
    assert list(out_dir.iterdir()) == []


# -- 11. a closed HCI transport ends `sim` ---------------------------------------------------------


@pytest.mark.slow
async def test_sim_ends_when_its_controller_goes_away() -> None:
    """A real TCP controller (Bumble's, in its own process) serves the sim, then is killed: the
    sim says so and exits 1 (it used to serve nothing for ever)."""
    import asyncio

    from test_sim_cli import _free_port, _start_sim

    port, other = _free_port(), _free_port()  # the app links at least two controllers
    controller = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bumble.apps.controllers", f"tcp-server:_:{port}", f"tcp-server:_:{other}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sim = None
    try:
        sim = await _start_sim(port)
        controller.kill()
        await controller.wait()
        assert sim.stderr is not None
        async with asyncio.timeout(20.0):  # bounded real wait: a closed socket is seen at once
            rest = (await sim.stderr.read()).decode()
            rc = await sim.wait()
    finally:
        if controller.returncode is None:
            controller.kill()
            await controller.wait()
        if sim is not None and sim.returncode is None:
            sim.kill()
            await sim.wait()
    assert rc == 1, rest
    assert "Traceback" not in rest
    last = rest.strip().splitlines()[-1]
    assert last.startswith(f"treadwalk: The HCI transport 'tcp-client:127.0.0.1:{port}' closed")
    assert "start the controller again" in last


def _connected(port: int) -> bool:
    """Whether a client is connected to our listener on ``port`` (Linux: /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # 01: ESTABLISHED
            return True
    return False


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [["scan", "--timeout", "60"], ["info", "--device", "KS-ST A1", "--timeout", "60"]],
    ids=["scan", "info"],
)
def test_scan_and_info_end_when_the_controller_goes_away(tmp_path: Path, args: list[str]) -> None:
    import time

    from test_radio_hci import _free_port, _wait_listening

    port, other = _free_port(), _free_port()
    controller = subprocess.Popen(
        [sys.executable, "-m", "bumble.apps.controllers", f"tcp-server:_:{port}", f"tcp-server:_:{other}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    spec = f"tcp-client:127.0.0.1:{port}"
    proc = None
    try:
        _wait_listening(port, controller)
        proc = subprocess.Popen(
            [sys.executable, "-m", "treadwalk", *args, "--hci", spec],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path),
        )
        deadline = time.monotonic() + 20.0
        while not _connected(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the host is powered on and scanning
        controller.kill()
        controller.wait(timeout=5)
        out, err = proc.communicate(timeout=20)  # it used to wait out its 60 s
    finally:
        for p in (controller, proc):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(timeout=5)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"treadwalk: The HCI transport '{spec}' closed")


@pytest.mark.slow
async def test_run_over_hci_ends_when_the_controller_goes_away(tmp_path: Path) -> None:
    """The walk's link dies with the transport (Bumble's host drops every link): reconnect, the
    grace period, then one sentence and exit 1 (bounded; here a 3 s grace from the config)."""
    import asyncio

    from test_sim_cli import _free_port, _start_sim

    (tmp_path / "config.toml").write_text("reconnect_grace_s = 3\n")
    env = {**_env(tmp_path), "TREADWALK_CONFIG": str(tmp_path / "config.toml"), "PYTHONUNBUFFERED": "1"}
    p1, p2 = _free_port(), _free_port()
    controller = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bumble.apps.controllers", f"tcp-server:_:{p1}", f"tcp-server:_:{p2}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sim = walk = None
    try:
        sim = await _start_sim(p1)
        walk = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "treadwalk", "run", "demo", "--device", "tcp-sim", "--yes"),
            *("--no-dashboard", "--hci", f"tcp-client:127.0.0.1:{p2}"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        assert walk.stdout is not None and walk.stderr is not None
        async with asyncio.timeout(40.0):
            while b"Go!" not in await walk.stdout.readline():
                pass
        controller.kill()
        await controller.wait()
        async with asyncio.timeout(30.0):
            out, err = await walk.communicate()
    finally:
        for proc in (controller, sim, walk):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert walk.returncode == 1, err
    assert b"Traceback" not in err
    (last,) = err.decode().strip().splitlines()[-1:]
    assert last.startswith("treadwalk: The link to the treadmill did not come back")
    # and what to do about a belt that may still be turning, in the same sentence (rule 7)
    assert last.endswith("press its stop button (or pull the safety key).")
    assert b"connection_lost" in out
