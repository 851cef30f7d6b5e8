"""The treadmill's own heart-rate field through the one rule (MachineHeartRate), and --hr none."""

from __future__ import annotations

from dataclasses import dataclass, replace

from treadwalk.core.clock import ManualClock
from treadwalk.core.heart import HrReason, HrSourceKind
from treadwalk.core.model import ConnectionState, TreadmillState
from treadwalk.heartrate import MachineHeartRate, NoHeartRate


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
