"""FtmsTreadmill, the Treadmill port over bleak: the contract suite, run through the real bleak
API over the Bumble radio against the virtual treadmill, in strict mode and with each quirk
preset and fault, in virtual time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from treadwalk.core.clock import LoopClock
from treadwalk.core.errors import CommandRejected, ConnectionLost, DeviceNotFound, Timeout
from treadwalk.core.model import (
    BeltState,
    ConnectionChanged,
    ConnectionState,
    ControlLost,
    Limits,
    MachineEvent,
    MachineStarted,
    MachineStopped,
    TargetChanged,
)
from treadwalk.radio import VirtualRadio
from treadwalk.sim import QUIRKS, VirtualTreadmill, parse_fault
from treadwalk.testing import virtual_rig
from treadwalk.treadmill.ftms import FtmsTreadmill
from treadwalk.treadmill.port import Treadmill

pytestmark = pytest.mark.virtual_time

NAME = "treadwalk-sim"


@dataclass
class Rig:
    radio: VirtualRadio
    sim: VirtualTreadmill
    clock: LoopClock

    def treadmill(self, **kwargs: object) -> FtmsTreadmill:
        kwargs.setdefault("reconnect_grace_s", 20.0)
        return FtmsTreadmill(NAME, clock=self.clock, radio=self.radio, **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def rig(**sim_kwargs: object) -> AsyncIterator[Rig]:
    clock = LoopClock()
    async with virtual_rig(clock, name=NAME, **sim_kwargs) as r:  # type: ignore[arg-type]
        yield Rig(r.radio, r.machine, clock)


class Recorder:
    """Collects a treadmill's machine events in a named task."""

    def __init__(self, tm: FtmsTreadmill) -> None:
        self.events: list[MachineEvent] = []
        self._task = asyncio.get_running_loop().create_task(self._run(tm), name="test.events")

    async def _run(self, tm: FtmsTreadmill) -> None:
        async for event in tm.events():
            self.events.append(event)

    def of(self, kind: type) -> list[MachineEvent]:
        return [e for e in self.events if isinstance(e, kind)]

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def until(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.1)


def ops(sim: VirtualTreadmill) -> list[str]:
    return [h[:2] for _, h in sim.received]


PRESETS = ["", "citysports", "urevo", "kingsmith", *sorted(QUIRKS)]


@pytest.mark.parametrize("quirks", PRESETS)
async def test_contract_walk_through_a_session(quirks: str) -> None:
    async with rig(quirks=quirks) as r:
        tm: Treadmill = r.treadmill()
        async with tm:
            caps = tm.capabilities
            assert caps.name == NAME
            assert caps.manufacturer == "treadwalk"
            assert caps.speed.maximum > caps.speed.minimum
            assert tm.connection is ConnectionState.CONNECTED
            assert r.sim.start_count == 0, "connecting must never move the belt"

            await tm.start()
            applied = await tm.set_speed(4.0)
            assert applied.value == pytest.approx(4.0, abs=caps.speed.step)
            await until(
                lambda: (
                    abs((tm.state.speed_kmh or 0) - r.sim.belt_speed_kmh) < 0.2 and r.sim.belt_speed_kmh > 3.5
                )
            )
            assert tm.state.belt is BeltState.RUNNING
            assert tm.state.distance_m is not None
            if caps.incline is not None:
                await tm.set_incline(2.0)
                await until(lambda: (tm.state.incline_pct or 0) >= 1.9)
            await tm.pause()
            await until(lambda: r.sim.belt_speed_kmh == 0)
            await tm.start()
            await until(lambda: r.sim.belt_speed_kmh > 0)
            await tm.stop()
            await until(lambda: r.sim.belt_speed_kmh == 0)
            assert r.sim.stopped
            assert tm.state.belt is BeltState.STOPPED


async def test_targets_are_rounded_not_truncated_onto_the_wire() -> None:
    async with rig() as r, r.treadmill() as tm:
        await tm.start()
        assert (await tm.set_speed(4.1)).value == 4.1
        assert (await tm.set_speed(4.15)).value == 4.2
        assert (await tm.set_speed(4.149)).value == 4.1
        assert (await tm.set_incline(2.3)).value == 2.5  # 0.5 % grid, nearest step
        sent = [h for _, h in r.sim.received if h.startswith(("02", "03"))]
        assert sent[:4] == ["029a01", "02a401", "029a01", "031900"]  # 410, 420, 410; 25 (2.5 %)
        await tm.stop()


async def test_clamping_at_range_edges_and_user_caps_says_so() -> None:
    limits = Limits(max_speed_kmh=5.2, max_incline_pct=4.0)
    async with rig(speed=(1.0, 6.0, 0.5), incline=(0.0, 10.0, 1.0)) as r, r.treadmill(limits=limits) as tm:
        await tm.start()
        high = await tm.set_speed(9.0)
        assert high.clamped and high.value == 5.0  # the cap 5.2 rounds down onto the 0.5 grid
        assert "max speed 5.2" in (high.reason or "")
        low = await tm.set_speed(0.2)
        assert low.clamped and low.value == 1.0 and "min 1" in (low.reason or "")
        ok = await tm.set_speed(3.7)
        assert not ok.clamped and ok.value == 3.5
        steep = await tm.set_incline(12.0)
        assert steep.clamped and steep.value == 4.0
        neg = await tm.set_incline(-3.0)
        assert neg.clamped and neg.value == 0.0
        wire = [h for _, h in r.sim.received if h[:2] in ("02", "03")]
        assert wire == ["02f401", "026400", "025e01", "032800", "030000"]
        await tm.stop()


async def test_start_is_never_sent_to_a_running_belt() -> None:
    async with rig() as r, r.treadmill() as tm:
        await tm.start()
        await tm.set_speed(3.0)
        await until(lambda: r.sim.belt_speed_kmh > 2.5)
        await tm.start()
        assert ops(r.sim).count("07") == 1
        await tm.stop()


async def test_leaving_the_context_stops_a_belt_we_started() -> None:
    async with rig() as r:
        async with r.treadmill() as tm:
            await tm.start()
            await tm.set_speed(3.0)
            await until(lambda: r.sim.belt_speed_kmh > 2.5)
        assert ops(r.sim)[-1] == "08"
        await until(lambda: r.sim.belt_speed_kmh == 0)


async def test_an_error_inside_the_context_still_stops_the_belt() -> None:
    async with rig() as r:
        with pytest.raises(RuntimeError, match="boom"):
            async with r.treadmill() as tm:
                await tm.start()
                await until(lambda: r.sim.belt_speed_kmh > 0)
                raise RuntimeError("boom")
        assert r.sim.received[-1][1] == "0801"


async def test_console_stop_and_safety_key_are_followed_never_fought() -> None:
    async with rig() as r, r.treadmill() as tm:
        rec = Recorder(tm)
        await tm.start()
        await tm.set_speed(4.0)
        await until(lambda: r.sim.belt_speed_kmh > 3.0)
        r.sim.press_stop()
        await until(lambda: bool(rec.of(MachineStopped)))
        stopped = rec.of(MachineStopped)[0]
        assert isinstance(stopped, MachineStopped) and stopped.by == "user" and not stopped.paused
        assert tm.state.belt is BeltState.STOPPED
        await asyncio.sleep(5)
        assert r.sim.stopped and ops(r.sim).count("07") == 1, "the client must not restart the belt"

        r.sim.press_start()
        await until(lambda: bool(rec.of(MachineStarted)))
        r.sim.console_set_speed(5.0)
        await until(lambda: any(isinstance(e, TargetChanged) and e.speed_kmh == 5.0 for e in rec.events))
        change = next(e for e in rec.events if isinstance(e, TargetChanged))
        assert not change.by_us
        r.sim.pull_safety_key()
        await until(lambda: any(isinstance(e, MachineStopped) and e.by == "safety_key" for e in rec.events))
        await rec.close()


@pytest.mark.parametrize("quirks", ["echo_status", "urevo", "kingsmith"])
async def test_our_own_commands_echoed_by_the_machine_are_not_console_events(quirks: str) -> None:
    async with rig(quirks=quirks) as r, r.treadmill() as tm:
        rec = Recorder(tm)
        await tm.start()
        await tm.set_speed(4.0)
        await tm.pause()
        await tm.start()
        await tm.stop()
        await asyncio.sleep(2)
        console = [e for e in rec.events if not isinstance(e, ConnectionChanged)]
        assert console == [], f"echoes read as console actions: {console}"
        await rec.close()


async def test_machine_that_never_answers_is_confirmed_from_data() -> None:
    async with rig(quirks="no_response") as r, r.treadmill() as tm:
        await tm.start()
        await tm.set_speed(3.0)
        await until(lambda: r.sim.belt_speed_kmh >= 2.9)
        await tm.stop()
        await until(lambda: r.sim.belt_speed_kmh == 0)


async def test_a_machine_that_never_answers_is_not_waited_on_for_every_change() -> None:
    async with rig(quirks="kingsmith") as r, r.treadmill() as tm:
        await tm.start()
        await tm.set_speed(3.0)
        await until(lambda: r.sim.belt_speed_kmh >= 2.9)
        took = []
        for speed in (3.5, 4.0, 4.5):
            t0 = r.clock.now()
            await tm.set_speed(speed)
            took.append(r.clock.now() - t0)
        # virtual time: after two unanswered requests the client stops waiting seconds per command
        assert max(took) <= 1.0, took
        assert ops(r.sim).count("00") == 1, "control is not re-requested before every command"
        await tm.stop()


async def test_a_rejected_command_is_an_exception_with_the_result_code() -> None:
    async with rig(faults=["reject:speed"]) as r, r.treadmill() as tm:
        await tm.start()
        with pytest.raises(CommandRejected, match="refused to set the speed") as info:
            await tm.set_speed(4.0)
        assert info.value.result == 0x04 and info.value.op == 0x02
        await tm.stop()


async def test_control_refused_is_a_clear_error_and_nothing_moves() -> None:
    async with rig(faults=["refuse_control"]) as r, r.treadmill() as tm:
        with pytest.raises(CommandRejected, match="refused control") as info:
            await tm.start()
        assert info.value.op == 0x00
        assert "07" not in ops(r.sim)
        assert r.sim.stopped


async def test_control_answered_operation_failed_then_obeyed_works_like_kingsmith() -> None:
    async with rig(quirks="no_control_enforcement", faults=["refuse_control:04"]) as r, r.treadmill() as tm:
        await tm.start()
        await tm.set_speed(4.0)
        await until(lambda: r.sim.belt_speed_kmh >= 3.9)
        await tm.stop()
        assert ops(r.sim)[:2] == ["00", "07"]


async def test_operation_failed_for_control_then_not_permitted_is_a_refusal() -> None:
    async with rig(faults=["refuse_control:04"]) as r, r.treadmill() as tm:
        with pytest.raises(CommandRejected, match="refused control"):
            await tm.start()
        assert r.sim.stopped
        assert r.sim.start_count == 0


async def test_a_machine_that_neither_answers_nor_moves_is_a_timeout_with_advice() -> None:
    async with rig(faults=["no_answer:start"]) as r, r.treadmill() as tm:
        r.sim.pull_safety_key()  # the belt cannot start, and the machine says nothing
        with pytest.raises(Timeout, match=r"did not answer when asked to start the belt.*own buttons"):
            await tm.start()
        assert tm.state.belt is not BeltState.RUNNING


async def test_control_lost_is_re_requested_once_then_reported() -> None:
    async with rig() as r, r.treadmill() as tm:
        rec = Recorder(tm)
        await tm.start()
        r.sim.revoke_control()
        await until(lambda: any(isinstance(e, ControlLost) and e.regained for e in rec.events))
        assert tm.has_control and r.sim.has_control
        # Another app keeps control this time: shown, not fought.
        r.sim.faults = (parse_fault("refuse_control"),)
        r.sim.revoke_control()
        await until(lambda: tm.connection is ConnectionState.CONTROL_LOST)
        lost = rec.of(ControlLost)
        assert [e.regained for e in lost if isinstance(e, ControlLost)] == [False, True, False]
        assert not tm.has_control
        await rec.close()


async def test_a_drop_mid_walk_reconnects_and_reapplies_targets() -> None:
    async with rig() as r, r.treadmill(backoff_s=(0.5, 1.0)) as tm:
        rec = Recorder(tm)
        await tm.start()
        await tm.set_speed(4.0)
        await until(lambda: r.sim.belt_speed_kmh > 3.9)
        before = len(r.sim.received)
        r.sim.drop_link(come_back_after_s=3.0)
        await until(lambda: tm.connection is ConnectionState.RECONNECTING)
        await until(lambda: tm.connection is ConnectionState.CONNECTED)
        await until(lambda: any(h.startswith("02") for _, h in r.sim.received[before:]))
        after = [h for _, h in r.sim.received[before:]]
        assert after[0] == "00", "control must be re-requested first"
        assert "029001" in after and "07" not in after
        states = [e.state for e in rec.of(ConnectionChanged) if isinstance(e, ConnectionChanged)]
        assert states[-2:] == [ConnectionState.RECONNECTING, ConnectionState.CONNECTED]
        await tm.stop()
        await rec.close()


async def test_a_belt_stopped_while_away_is_never_restarted() -> None:
    async with rig() as r, r.treadmill(backoff_s=(0.5, 1.0)) as tm:
        await tm.start()
        await tm.set_speed(3.0)
        await until(lambda: r.sim.belt_speed_kmh > 2.9)
        before = len(r.sim.received)
        r.sim.drop_link(come_back_after_s=3.0)
        await until(lambda: tm.connection is ConnectionState.RECONNECTING)
        r.sim.press_stop()
        await until(lambda: tm.connection is ConnectionState.CONNECTED)
        await asyncio.sleep(5)
        after = [h[:2] for _, h in r.sim.received[before:]]
        assert "07" not in after and "02" not in after
        assert r.sim.stopped and tm.state.belt is BeltState.STOPPED


async def test_a_drop_mid_command_fails_that_command_and_recovers() -> None:
    async with rig(faults=["no_answer:speed"]) as r, r.treadmill(backoff_s=(0.5,)) as tm:
        await tm.start()
        task = asyncio.get_running_loop().create_task(tm.set_speed(4.0), name="test.set-speed")
        await until(lambda: any(h.startswith("02") for _, h in r.sim.received))
        r.sim.drop_link(come_back_after_s=2.0)
        # The belt reaches 4 km/h before the link drops (no answer, confirmed from data), or the
        # drop fails the command: either way nothing hangs.
        with contextlib.suppress(ConnectionLost):
            await task
        await until(lambda: tm.connection is ConnectionState.CONNECTED)
        assert r.sim.has_control


async def test_a_link_that_does_not_come_back_is_reported_and_commands_fail_clearly() -> None:
    async with rig() as r, r.treadmill(reconnect_grace_s=5.0, backoff_s=(1.0,)) as tm:
        await tm.start()
        r.sim.drop_link()
        await until(lambda: tm.connection is ConnectionState.DISCONNECTED, timeout_s=30)
        with pytest.raises(ConnectionLost, match="own buttons"):
            await tm.stop()


async def test_ten_drops_leave_no_task_or_connection_behind() -> None:
    async with rig() as r:
        baseline = {t.get_name() for t in asyncio.all_tasks()}
        async with r.treadmill(backoff_s=(0.2,)) as tm:
            await tm.start()
            for _ in range(10):
                r.sim.drop_link(come_back_after_s=0.5)
                await until(lambda: tm.connection is ConnectionState.RECONNECTING)
                await until(lambda: tm.connection is ConnectionState.CONNECTED)
            assert len(r.sim.connections) == 1
        await until(lambda: not r.sim.connections)
        await asyncio.sleep(1)
        left = {t.get_name() for t in asyncio.all_tasks() if not t.done()} - baseline
        left.discard(asyncio.current_task().get_name())  # type: ignore[union-attr]
        assert not {n for n in left if n.startswith("treadwalk.treadmill")}, left


async def test_a_malformed_frame_is_skipped_and_the_walk_goes_on() -> None:
    async with rig(faults=["malformed@6s"]) as r, r.treadmill() as tm:
        await tm.start()
        await tm.set_speed(4.0)
        await until(lambda: r.sim.sim_time() > 8)
        frames_after = tm._frames
        await until(lambda: tm._frames > frames_after + 4)
        assert tm.connection is ConnectionState.CONNECTED
        assert tm.state.speed_kmh == pytest.approx(r.sim.belt_speed_kmh, abs=0.3)
        assert any(h == "2acd" and len(x) <= 8 for _, h, x in r.sim.sent), "the sim sent its short frame"
        await tm.stop()


async def test_multi_packet_records_and_vendor_steps_reach_the_state() -> None:
    async with rig(quirks=["multi_packet_mtu23", "step_count_bit13"]) as r, r.treadmill() as tm:
        await tm.start()
        await tm.set_speed(5.0)
        await until(lambda: (tm.state.steps or 0) > 0 and (tm.state.distance_m or 0) > 5)
        assert tm.state.speed_kmh and tm.state.speed_kmh > 0
        await tm.stop()


async def test_mph_machine_speed_range_is_used_as_reported() -> None:
    async with rig(quirks="mph_ranges") as r, r.treadmill() as tm:
        grid = tm.capabilities.speed
        assert grid.step == pytest.approx(0.16, abs=0.01)  # 0.1 mph
        await tm.start()
        applied = await tm.set_speed(4.0)
        # onto the machine's own grid, counted from its minimum
        n = (applied.value - grid.minimum) / grid.step
        assert abs(n - round(n)) < 1e-6
        await tm.stop()


async def test_a_console_set_to_miles_reports_mph_and_the_config_quirk_converts_it() -> None:
    async with rig() as r, r.treadmill(quirks={"data_in_mph": True}) as tm:
        await tm.start()
        await tm.set_speed(3.0)  # the sim reports 3.00 "km/h": this machine means mph
        await until(lambda: r.sim.belt_speed_kmh >= 3.0)
        await until(lambda: tm.state.speed_kmh == pytest.approx(3.0 * 1.609344, abs=0.01))
        assert tm.quirks.data_in_mph
        await tm.stop()


async def test_an_absent_treadmill_is_device_not_found_with_advice() -> None:
    async with rig() as r:
        tm = FtmsTreadmill("no-such-treadmill", clock=r.clock, radio=r.radio, scan_timeout_s=2.0)
        with pytest.raises(DeviceNotFound, match="treadwalk scan"):
            await tm.__aenter__()


async def test_scan_finds_the_virtual_treadmill_by_its_service_data() -> None:
    from treadwalk.treadmill.discovery import scan

    async with rig() as r:
        found = await scan(2.0, backend=r.radio.scanner_backend)
        assert [(m.name, m.machine_types) for m in found] == [(NAME, ("treadmill",))]
        assert found[0].available
