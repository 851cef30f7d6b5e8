"""The virtual treadmill in strict spec mode, driven by a real BleakClient over the radio."""

from __future__ import annotations

import pytest
from sim_wire import open_sim

pytestmark = pytest.mark.virtual_time


async def test_request_control_then_start_then_speed() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("07") == "800701"
        assert w.sim.running
        assert await w.cp("02" + (500).to_bytes(2, "little").hex()) == "800201"
        await w.settle(10.0)
        assert w.sim.belt_speed_kmh == pytest.approx(5.0)
