"""Machine captures (python-kasa's habit): every capture in tests/fixtures/captures (virtual/ from
the virtual treadmill, real/ from users' machines: tests/captures.py) replays through the codec,
is named from the machine's own identity and has its address masked; and `treadwalk
scan` / `treadwalk info --capture` work as a user runs them, against the virtual treadmill in
another process over a TCP virtual-controller pair (real processes: real time, bounded)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from captures import ALL, REAL, REAL_DIR, VIRTUAL, VIRTUAL_DIR, capture_id
from test_sim_cli import _start_sim, controllers  # noqa: F401  (the fixture is used by name)

from treadwalk import ftms
from treadwalk.cli.info import capture_name

ROOT = Path(__file__).resolve().parent.parent


def test_there_are_captures() -> None:
    assert len(VIRTUAL) >= 4


def test_virtual_and_real_captures_are_kept_apart() -> None:
    """virtual/ holds the virtual treadmill's captures only, real/ real machines' only (and its
    README); nothing else lies loose next to them, so no capture escapes the tests."""
    assert sorted(p.name for p in VIRTUAL_DIR.parent.iterdir()) == ["real", "virtual"]
    assert sorted(p.name for p in VIRTUAL_DIR.iterdir()) == [p.name for p in VIRTUAL]
    assert sorted(p.name for p in REAL_DIR.iterdir()) == sorted([p.name for p in REAL] + ["README.md"])
    for path in VIRTUAL:
        assert json.loads(path.read_text())["identity"]["manufacturer"] == "treadwalk", path.name
    for path in REAL:
        identity = json.loads(path.read_text())["identity"]
        assert identity["manufacturer"] != "treadwalk", (
            f"{path.name} is the virtual treadmill: move it to virtual/"
        )


@pytest.mark.parametrize("path", ALL, ids=capture_id)
def test_capture_is_named_masked_and_replays_through_the_codec(path: Path) -> None:
    real = path in REAL
    capture = json.loads(path.read_text())
    assert capture["format"] == "treadwalk-capture/1"
    assert path.name == capture_name(capture["identity"])
    assert not re.search(r"[0-9A-Fa-f]{2}:", capture["address"]), "the address must be masked"
    speed = capture["speed_kmh"]
    assembler = ftms.TreadmillDataAssembler()
    records = 0
    responses = []
    for frame in capture["frames"]:
        data = bytes.fromhex(frame["hex"])
        decoded = ftms.decode(frame["char"], data)  # raises DecodeError on a bad frame
        if frame["char"] == "2acd":
            record = assembler.feed(data)
            if record is not None:
                records += 1
                assert record.speed_kmh is not None
                assert 0 <= record.speed_kmh <= speed["max"] + 1e-6
        if frame["char"] == "2ad9" and frame["dir"] != "write":
            responses.append(decoded.to_dict())
    assert records > (0 if real else 10)  # a real walk may be short; the virtual ones are not
    times = [f["t"] for f in capture["frames"]]
    assert times == sorted(times)
    # the virtual walks are answered with success (their KingSmith preset never answers); a real
    # machine may refuse something (its answers are checked by the replay test)
    if not real and "kingsmith" not in path.name:
        assert {r["result_name"] for r in responses} == {"success"}


def _treadwalk(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@pytest.mark.slow
async def test_scan_and_info_capture_over_tcp_controllers(
    controllers: tuple[int, int],  # noqa: F811
    tmp_path: Path,
) -> None:
    import asyncio

    p1, p2 = controllers
    sim = await _start_sim(p1)
    try:
        hci = f"tcp-client:127.0.0.1:{p2}"
        scan = await asyncio.to_thread(_treadwalk, "scan", "--hci", hci, "--timeout", "3")
        assert scan.returncode == 0, scan.stderr
        assert re.search(r"tcp-sim\s+\S+\s+-?\d+\s+treadmill", scan.stdout), scan.stdout

        info = await asyncio.to_thread(
            _treadwalk,
            "info",
            "--device",
            "tcp-sim",
            "--hci",
            hci,
            "--capture",
            str(tmp_path),
            "--seconds",
            "2",
        )
        assert info.returncode == 0, info.stderr
        assert "speed kmh" in info.stdout and "0.5 to 12, step 0.1" in info.stdout
        files = await asyncio.to_thread(lambda: list(tmp_path.glob("*.json")))
        assert [f.name for f in files] == ["treadwalk_virtual-treadmill_0.1.0.json"]
        capture = json.loads(files[0].read_text())
        assert capture["address"] == "XX:XX:XX:XX:XX:XX"
        assert any(f["char"] == "2acd" for f in capture["frames"])
    finally:
        sim.kill()
        await sim.wait()


def test_scan_without_an_adapter_is_one_sentence_and_exit_1() -> None:
    out = _treadwalk("scan", "--timeout", "0.5")
    if out.returncode == 0:
        pytest.fail("this machine has a Bluetooth adapter; the test needs one without")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1
    assert "adapter" in out.stderr


def test_bad_flags_exit_2() -> None:
    out = _treadwalk("scan", "--timeout", "-1")
    assert out.returncode == 2
    assert "--timeout" in out.stderr
