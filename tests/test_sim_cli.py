"""``treadwalk sim`` as a user runs it: bad flags exit 2 with one sentence, and the sim in another
process serves a real bleak client through a TCP virtual-controller pair (real time, bounded)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner

from treadwalk.cli import main
from treadwalk.core.errors import UsageError
from treadwalk.ftms import CONTROL_POINT_UUID, TREADMILL_DATA_UUID, decode_treadmill_data
from treadwalk.radio import HciRadio
from treadwalk.sim import parse_fault, parse_quirks
from treadwalk.sim.options import FaultKind

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["sim"], "needs --hci"),
        (["sim", "--hci", "tcp-client:127.0.0.1:1", "--quirks", "urevo,bogus"], "unknown quirk 'bogus'"),
        (["sim", "--hci", "tcp-client:127.0.0.1:1", "--fault", "drop@soon"], "bad fault 'drop@soon'"),
        (["sim", "--hci", "tcp-client:127.0.0.1:1", "--fault", "reject:warp"], "bad fault 'reject:warp'"),
    ],
)
def test_bad_flags_exit_2_with_one_sentence(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err
    assert err.count("\n") == 0


def test_fault_and_quirk_parsing() -> None:
    assert parse_fault("drop@30s").back_after_s is None
    drop = parse_fault("drop@1.5m+10s")
    assert (drop.kind, drop.at_s, drop.back_after_s) == ("drop", 90.0, 10.0)
    assert parse_fault("reject:07").op == 7
    assert parse_fault("no_answer:set_target_speed").op == 2
    assert parse_fault("refuse_control").result == 5
    assert parse_fault("refuse_control:04").result == 4
    assert parse_fault("malformed@20s").at_s == 20.0
    assert parse_fault("console_stop@40s").kind is FaultKind.CONSOLE_STOP
    assert parse_fault("control_lost@1.5m").at_s == 90.0
    assert parse_quirks("kingsmith,padded_status") >= {"no_response", "padded_status"}
    with pytest.raises(UsageError):
        parse_fault("refuse_control:07")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def controllers() -> Iterator[tuple[int, int]]:
    p1, p2 = _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bumble.apps.controllers", f"tcp-server:_:{p1}", f"tcp-server:_:{p2}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield p1, p2
    finally:
        proc.kill()
        proc.wait(timeout=5)


async def _start_sim(port: int) -> asyncio.subprocess.Process:
    """``treadwalk sim`` on the controller at ``port``, once it says it is serving (retried while
    the controllers are still starting)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for _ in range(10):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "treadwalk",
            "sim",
            "--hci",
            f"tcp-client:127.0.0.1:{port}",
            "--name",
            "tcp-sim",
            cwd=ROOT,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stderr is not None
        try:
            async with asyncio.timeout(15.0):
                while line := await proc.stderr.readline():
                    if b"serving" in line:
                        return proc
        except TimeoutError:
            proc.kill()
        await proc.wait()
        await asyncio.sleep(0.5)
    pytest.fail("treadwalk sim could not reach the controllers")


@pytest.mark.slow
async def test_sim_in_another_process_over_tcp_controllers(controllers: tuple[int, int]) -> None:
    p1, p2 = controllers
    sim = await _start_sim(p1)
    try:
        async with HciRadio(f"tcp-client:127.0.0.1:{p2}") as radio:
            found = await BleakScanner.find_device_by_name(
                "tcp-sim", timeout=10.0, backend=radio.scanner_backend
            )
            assert found is not None
            async with BleakClient(found, backend=radio.client_backend, timeout=10.0) as client:
                got: list[tuple[str, bytes]] = []
                await client.start_notify(CONTROL_POINT_UUID, lambda _c, d: got.append(("cp", bytes(d))))
                await client.start_notify(TREADMILL_DATA_UUID, lambda _c, d: got.append(("data", bytes(d))))
                for request in ("00", "07", "02f401"):
                    await client.write_gatt_char(CONTROL_POINT_UUID, bytes.fromhex(request), response=True)
                    await asyncio.sleep(0.2)
                await asyncio.sleep(2.5)
                assert [d.hex() for k, d in got if k == "cp"] == ["800001", "800701", "800201"]
                speeds = [decode_treadmill_data(d).speed_kmh for k, d in got if k == "data"]
                assert max(s or 0 for s in speeds) > 1.0  # the belt is moving, at its own pace
                await client.write_gatt_char(CONTROL_POINT_UUID, b"\x08\x01", response=True)
                await asyncio.sleep(0.3)
        sim.send_signal(signal.SIGINT)
        async with asyncio.timeout(10.0):
            rest = await sim.stderr.read() if sim.stderr else b""
            rc = await sim.wait()
        err = rest.decode()
        assert rc == 0, err
        assert "control point <- 07" in err
        assert "Traceback" not in err
    finally:
        if sim.returncode is None:
            sim.kill()
            await sim.wait()
