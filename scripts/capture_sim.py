"""Write a capture fixture of the virtual treadmill, the same format as `treadwalk info --capture`.

    .venv/bin/python scripts/capture_sim.py [QUIRKS] [OUT_DIR]

Drives a short walk (start, speeds, incline, pause, resume, stop) through FtmsTreadmill over the
in-process radio (``treadwalk.testing.virtual_rig``) in virtual time and writes
tests/fixtures/captures/virtual/<identity>.json.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import looptime

from treadwalk.cli.info import _write_capture, capture_fixture
from treadwalk.core.clock import LoopClock
from treadwalk.testing import virtual_rig
from treadwalk.treadmill.ftms import FtmsTreadmill


async def walk(quirks: str, out: Path) -> Path:
    clock = LoopClock()
    model = f"Virtual Treadmill ({quirks or 'strict'})"
    async with virtual_rig(clock, quirks=quirks, model=model) as rig:
        sim = rig.machine
        tm = FtmsTreadmill(rig.machine.name, clock=clock, radio=rig.radio)
        tm.raw_log = []
        async with tm:
            await tm.start()
            await tm.set_speed(4.0)
            await asyncio.sleep(5)
            if tm.capabilities.incline is not None:
                await tm.set_incline(3.0)
            await asyncio.sleep(5)
            sim.console_set_speed(5.0)
            await asyncio.sleep(3)
            await tm.pause()
            await asyncio.sleep(2)
            await tm.start()
            await asyncio.sleep(3)
            await tm.stop()
            await asyncio.sleep(4)
        return _write_capture(out, capture_fixture(tm))


def main() -> None:
    quirks = sys.argv[1] if len(sys.argv) > 1 else ""
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("tests/fixtures/captures/virtual")
    loop = looptime.new_event_loop(start=0.0)  # virtual time: the walk takes no real time
    try:
        path = loop.run_until_complete(walk(quirks, out))
    finally:
        loop.close()
    print(path)


if __name__ == "__main__":
    main()
