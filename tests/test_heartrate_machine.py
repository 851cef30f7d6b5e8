"""The treadmill's own heart-rate field through the one rule (MachineHeartRate), on plain states
and through the real stack to the virtual treadmill, and --hr none."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

import pytest

from treadwalk.core.clock import LoopClock, ManualClock
from treadwalk.core.heart import HrReason, HrSourceKind
from treadwalk.core.model import ConnectionState, TreadmillState
from treadwalk.heartrate import MachineHeartRate, NoHeartRate
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill


@dataclass
class Machine:
    """What MachineHeartRate reads of a Treadmill: its merged state and its link."""

    state: TreadmillState
    connection: ConnectionState = ConnectionState.CONNECTED


async def test_machine_reading_follows_the_rule() -> None:
    clock = ManualClock()
    machine = Machine(TreadmillState())
    async with MachineHeartRate(machine, clock) as hr:
        assert hr.status().reason is HrReason.NO_SOURCE
        assert not hr.reports_heart_rate()
        clock.advance(1)
        machine.state = TreadmillState(at=clock.now(), speed_kmh=4.0, heart_rate_bpm=None)
        assert hr.status().reason is HrReason.NO_SOURCE  # a machine without a strap
        clock.advance(1)
        machine.state = replace(machine.state, at=clock.now(), heart_rate_bpm=118)
        status = hr.status()
        assert status.bpm == 118 and status.kind is HrSourceKind.MACHINE
        assert hr.reports_heart_rate()
        clock.advance(1)
        machine.state = replace(machine.state, at=clock.now(), heart_rate_bpm=255)
        assert hr.status().reason is HrReason.INVALID
        clock.advance(1)
        machine.state = replace(machine.state, at=clock.now(), heart_rate_bpm=121)
        assert hr.status().bpm == 121
        clock.advance(6)  # no frame from the machine for 6 s
        assert hr.status().reason is HrReason.STALE
        assert hr.latest is not None and hr.latest.bpm == 121


async def test_a_machine_repeating_a_dropped_field_goes_stale() -> None:
    clock = ManualClock()
    machine = Machine(TreadmillState(at=0.0, speed_kmh=4.0, heart_rate_bpm=110))
    hr = MachineHeartRate(machine, clock)
    for _ in range(40):  # frames keep coming; the heart-rate field was kept from an old one
        clock.advance(1)
        machine.state = replace(machine.state, at=clock.now())
        last = hr.status()
    assert last.reason is HrReason.STALE


async def test_a_lost_treadmill_link_is_no_source() -> None:
    clock = ManualClock()
    machine = Machine(TreadmillState(at=1.0, speed_kmh=4.0, heart_rate_bpm=110))
    clock.advance(1)
    hr = MachineHeartRate(machine, clock)
    assert hr.status().bpm == 110
    machine.connection = ConnectionState.RECONNECTING
    assert hr.status().reason is HrReason.NO_SOURCE


async def test_no_heart_rate() -> None:
    async with NoHeartRate() as hr:
        assert hr.status().reason is HrReason.NO_SOURCE
        assert hr.latest is None and hr.kind is HrSourceKind.NONE


@pytest.mark.virtual_time
async def test_the_treadmills_own_field_over_the_radio() -> None:
    """FtmsTreadmill -> bleak -> radio -> the virtual treadmill relaying a strap in Treadmill Data."""
    clock = LoopClock()
    async with VirtualRadio() as radio:
        sim = VirtualTreadmill(await radio.new_device("treadwalk-sim"), clock)
        async with (
            sim,
            FtmsTreadmill("treadwalk-sim", clock=clock, radio=radio) as tm,
            MachineHeartRate(tm, clock) as hr,
        ):
            await asyncio.sleep(2)
            assert hr.status().reason is HrReason.NO_SOURCE  # the field is not sent
            assert not hr.reports_heart_rate()
            sim.heart_rate_bpm = 0  # no strap paired: "0 bpm" is no reading, never a number
            await asyncio.sleep(2)
            assert hr.status().reading is None
            sim.heart_rate_bpm = 128
            await asyncio.sleep(2)
            assert hr.status().bpm == 128 and hr.reports_heart_rate()
            sim.heart_rate_bpm = 255
            await asyncio.sleep(2)
            assert hr.status().reason is HrReason.INVALID
