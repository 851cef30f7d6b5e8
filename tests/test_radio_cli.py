"""The radio as a user meets it: ``treadwalk run --sim`` ends without a word from Bumble.

Real process, real (accelerated) time. Each run crosses the sim's notifications with the
client's disconnect at the end; Bumble's controller used to log those packets in flight as
"!!! no connection for ..." WARNINGs (the deterministic version is in ``test_radio.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_run_on_the_sim_ends_without_warnings_or_tracebacks(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["TREADWALK_CONFIG"] = str(tmp_path / "no-config.toml")
    env["TREADWALK_DATA_DIR"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "treadwalk",
            "run",
            "demo",
            "--sim",
            "--speedup",
            "50",
            "--yes",
            "--no-dashboard",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    noisy = [
        line
        for line in out.stderr.splitlines()
        if any(word in line for word in ("WARNING", "ERROR", "Traceback", "Warning:"))
    ]
    assert noisy == [], out.stderr
    assert "Workout complete." in out.stdout


# Under ``-X dev -W error``: an unclosed transport or socket, a coroutine never awaited, a task
# destroyed pending would be a ResourceWarning / RuntimeWarning turned into an error (or printed).
_CLOSE_UNDER_DEV_MODE = textwrap.dedent(
    """
    import asyncio, gc, sys
    sys.path.insert(0, sys.argv[1])
    from bleak import BleakClient, BleakScanner
    from radio_peripheral import NOTIFY, READ, build_peripheral
    from treadwalk.radio import RadioConnectTimeout, VirtualRadio

    async def main():
        for honour_cancel in (True, False):
            async with VirtualRadio(honour_cancel=honour_cancel) as radio:
                peripheral = await build_peripheral(await radio.new_device("P"), "P")
                found = await BleakScanner.find_device_by_name("P", timeout=5, backend=radio.scanner_backend)
                client = BleakClient(found, backend=radio.client_backend)
                await client.connect()
                await client.start_notify(NOTIFY, lambda _c, _d: None)
                assert await client.read_gatt_char(READ)
                await peripheral.connection.disconnect()
                await peripheral.stop_advertising()
                try:
                    await BleakClient(found, timeout=1.0, backend=radio.client_backend).connect()
                except RadioConnectTimeout:
                    pass
                await peripheral.release()
                # left connected-to-nothing and, without the cancel honoured, with an attempt
                # pending: leaving the radio closes everything
        gc.collect()
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not left, left

    asyncio.run(main())
    gc.collect()
    print("closed")
    """
)


def test_closing_a_virtual_radio_leaves_nothing_open_under_dev_mode() -> None:
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", _CLOSE_UNDER_DEV_MODE, str(TESTS)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "closed"
    # asyncio's debug mode (on under -X dev) may report slow callbacks: real time, not a leak.
    leaks = [
        line
        for line in out.stderr.splitlines()
        if any(
            word in line for word in ("unclosed", "Unclosed", "ResourceWarning", "never awaited", "destroyed")
        )
    ]
    assert leaks == [], out.stderr
