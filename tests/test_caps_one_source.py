"""The walker's caps have one source: the Session's. The treadmill it drives clamps every target
to those same caps at the wire (safety rule 3 twice over), without being given them itself."""

from __future__ import annotations

import asyncio

import pytest

from treadwalk.core.clock import LoopClock
from treadwalk.core.model import Command, CommandKind, Limits, Phase, Plan, PlanSegment
from treadwalk.engine import Session, Settings
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill

pytestmark = pytest.mark.virtual_time

NAME = "treadwalk-sim"


async def test_the_session_caps_are_the_treadmills_caps() -> None:
    clock = LoopClock()
    caps = Limits(max_speed_kmh=4.5, max_incline_pct=2.0)
    plan = Plan("caps", (PlanSegment("s", "work", speed_kmh=4.0, incline_pct=1.0, duration_s=600.0),))
    async with VirtualRadio() as radio:
        device = await radio.new_device(NAME)
        async with VirtualTreadmill(device, clock, name=NAME) as sim:
            tm = FtmsTreadmill(NAME, clock=clock, radio=radio)  # no limits of its own
            session = Session(tm, plan, clock, limits=caps, settings=Settings(auto_start=True, cooldown_s=0))
            assert tm.limits is session.limits is caps
            task = asyncio.create_task(session.run(), name="session")
            async with asyncio.timeout(60):
                while session.snapshot is None or session.snapshot.phase is not Phase.RUNNING:
                    await asyncio.sleep(0.1)
            # anything that reaches the port directly (a remote, a bug upstream) meets the same caps
            fast = await tm.set_speed(9.0)
            steep = await tm.set_incline(8.0)
            assert (fast.value, steep.value) == (4.5, 2.0)
            assert fast.reason == "speed held at your --max-speed 4.5 km/h"
            session.submit(Command(CommandKind.STOP))
            await task
            assert sim.stopped
            speeds = [
                int.from_bytes(bytes.fromhex(h[2:6]), "little") for _, h in sim.received if h[:2] == "02"
            ]
            assert speeds and max(speeds) <= 450
