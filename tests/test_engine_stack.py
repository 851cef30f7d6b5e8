"""Whole sessions through the real stack, in virtual time: Session -> FtmsTreadmill -> bleak ->
the Bumble radio -> the virtual treadmill (real GATT, belt physics, quirks, faults). One test per
exit path (safety rule 2), plus the machine's own buttons and the link coming and going."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from treadwalk.core.clock import LoopClock
from treadwalk.core.model import (
    Command,
    CommandKind,
    CommandSource,
    ConnectionState,
    Limits,
    Phase,
    Plan,
    PlanSegment,
    SessionEvent,
    SessionSnapshot,
    StopReason,
)
from treadwalk.engine import Session, Settings
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.testing import virtual_rig
from treadwalk.treadmill.ftms import FtmsTreadmill

pytestmark = pytest.mark.virtual_time

NAME = "treadwalk-sim"


class Watcher:
    def __init__(self) -> None:
        self.snapshots: list[SessionSnapshot] = []
        self.events: list[SessionEvent] = []

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        self.snapshots.append(snapshot)

    def on_event(self, event: SessionEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


@dataclass
class Stack:
    sim: VirtualTreadmill
    treadmill: FtmsTreadmill
    session: Session
    watcher: Watcher
    clock: LoopClock

    def ops(self) -> list[str]:
        """Control-point op codes the machine received, in order (00 control, 07 start, 08 stop...)."""
        return [h[:2] for _, h in self.sim.received]

    async def until(self, predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await asyncio.sleep(0.1)

    def phase(self) -> Phase | None:
        snap = self.session.snapshot
        return snap.phase if snap is not None else None


def _plan(n: int = 3, duration_s: float = 30.0) -> Plan:
    return Plan(
        name="stack",
        segments=tuple(
            PlanSegment(
                f"s{i}", "work", speed_kmh=4.0 + i % 2, incline_pct=float(i % 2) * 2, duration_s=duration_s
            )
            for i in range(n)
        ),
    )


@contextlib.asynccontextmanager
async def stack(
    plan: Plan | None = None,
    *,
    sim: dict[str, Any] | None = None,
    treadmill_cls: type[FtmsTreadmill] = FtmsTreadmill,
    grace_s: float = 10.0,
    **settings: Any,
) -> AsyncIterator[Stack]:
    settings.setdefault("auto_start", True)
    settings.setdefault("cooldown_s", 20.0)
    clock = LoopClock()
    async with virtual_rig(clock, name=NAME, **(sim or {})) as rig:
        tm = treadmill_cls(
            NAME, clock=clock, radio=rig.radio, reconnect_grace_s=grace_s, backoff_s=(0.5, 1.0)
        )
        w = Watcher()
        session = Session(
            tm, plan or _plan(), clock, limits=Limits(), observers=[w], settings=Settings(**settings)
        )
        yield Stack(rig.machine, tm, session, w, clock)


def _running(task: asyncio.Task[Any]) -> None:
    assert not task.done(), task


@pytest.mark.parametrize("quirks", ["", "citysports", "urevo", "kingsmith"])
async def test_a_whole_session_plays_cools_down_and_stops(quirks: str) -> None:
    async with stack(sim={"quirks": quirks}) as s:
        t0 = s.clock.now()
        result = await s.session.run()
        assert result.stop_reason is StopReason.FINISHED
        assert result.segments_completed == 3
        assert s.clock.now() - t0 == pytest.approx(3.0 + 90.0 + 20.0, abs=10.0)  # connect, countdown
        assert s.sim.stopped
        assert s.ops().count("07") == 1  # started once
        assert s.ops()[-1] == "08"  # the last command stops the belt
        assert 105 < result.distance_m < 130  # 4, 5, 4 km/h for 30 s each, 3 km/h for 20 s, less the ramps
        assert result.max_speed_kmh == pytest.approx(5.0, abs=0.15)
        assert s.watcher.snapshots[-1].phase is Phase.FINISHED


async def test_the_belt_does_not_start_without_a_key() -> None:
    async with stack(auto_start=False) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await asyncio.sleep(60)
        assert "07" not in s.ops()
        assert s.sim.stopped
        s.session.submit(Command(CommandKind.START, source=CommandSource.MQTT))
        await asyncio.sleep(10)
        assert "07" not in s.ops()
        s.session.submit(Command(CommandKind.STOP))
        result = await task
        assert result.stop_reason is StopReason.USER
        assert "07" not in s.ops()


async def test_exit_by_stop_cools_down_then_stops() -> None:
    async with stack(_plan(1, 600.0), cooldown_s=15.0, cooldown_speed_kmh=2.0) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        s.session.submit(Command(CommandKind.STOP))
        await s.until(lambda: s.phase() is Phase.COOLDOWN)
        await s.until(lambda: s.sim.belt_speed_kmh <= 2.01)
        assert s.sim.running
        result = await task
        assert result.stop_reason is StopReason.USER
        assert s.sim.stopped
        assert s.ops()[-1] == "08"


async def test_exit_by_emergency_stop_stops_now() -> None:
    async with stack(_plan(1, 600.0)) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        t = s.clock.now()
        s.session.submit(Command(CommandKind.EMERGENCY_STOP))
        result = await task
        assert result.stop_reason is StopReason.USER
        assert s.ops()[-1] == "08"
        assert s.sim.target_speed_kmh == 0 or s.sim.stopped
        assert s.clock.now() - t < 1.0


async def test_exit_by_cancellation_stops_the_belt() -> None:
    async with stack(_plan(1, 600.0)) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert s.ops()[-1] == "08"
        await s.until(lambda: s.sim.stopped)
        assert s.watcher.snapshots[-1].phase is Phase.ABORTED


async def test_exit_by_an_exception_stops_the_belt_and_keeps_the_error() -> None:
    class Broken(FtmsTreadmill):
        armed = False

        async def set_incline(self, incline_pct: float) -> Any:
            if self.armed:
                raise RuntimeError("a bug under the engine")
            return await super().set_incline(incline_pct)

    async with stack(_plan(3, 30.0), treadmill_cls=Broken) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        assert isinstance(s.treadmill, Broken)
        s.treadmill.armed = True  # the next segment changes the incline
        with pytest.raises(RuntimeError, match="a bug under the engine"):
            await task
        assert s.ops()[-1] == "08"
        await s.until(lambda: s.sim.stopped)
        assert s.session.result().stop_reason is StopReason.ERROR


async def test_exit_by_a_link_that_does_not_come_back() -> None:
    async with stack(_plan(1, 600.0), grace_s=5.0) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        s.sim.drop_link()
        await s.until(
            lambda: (
                s.session.snapshot is not None
                and s.session.snapshot.connection is ConnectionState.RECONNECTING
            )
        )
        held = s.session.snapshot
        assert held is not None
        result = await asyncio.wait_for(task, 60)
        assert result.stop_reason is StopReason.CONNECTION_LOST
        assert result.duration_s == pytest.approx(held.session_elapsed_s, abs=0.5)  # the clock was held
        assert "disconnect" in s.watcher.kinds()
        assert s.watcher.snapshots[-1].phase is Phase.ABORTED


async def test_a_link_that_comes_back_holds_the_clock_and_carries_on() -> None:
    async with stack(_plan(2, 30.0), cooldown_s=0.0) as s:
        t0 = s.clock.now()
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        s.sim.drop_link(come_back_after_s=4.0)
        result = await asyncio.wait_for(task, 200)
        assert result.stop_reason is StopReason.FINISHED
        assert result.segments_completed == 2
        assert "reconnect" in s.watcher.kinds()
        assert s.clock.now() - t0 > 3.0 + 60.0 + 4.0  # the time away was not counted as walking
        assert s.sim.stopped


async def test_a_console_stop_is_followed_never_fought() -> None:
    async with stack(_plan(1, 600.0)) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        starts = s.ops().count("07")
        s.sim.press_stop()
        result = await asyncio.wait_for(task, 30)
        assert result.stop_reason is StopReason.MACHINE
        assert s.ops().count("07") == starts
        assert s.sim.stopped


async def test_the_safety_key_ends_the_session() -> None:
    async with stack(_plan(1, 600.0)) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        s.sim.pull_safety_key()
        result = await asyncio.wait_for(task, 30)
        assert result.stop_reason is StopReason.MACHINE
        assert any("safety key" in e.message for e in s.watcher.events)


async def test_a_console_pause_is_followed_and_only_the_walker_resumes() -> None:
    async with stack(_plan(1, 120.0), cooldown_s=0.0) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        starts = s.ops().count("07")
        s.sim.press_pause()
        await s.until(lambda: s.phase() is Phase.PAUSED)
        await asyncio.sleep(60)
        assert s.ops().count("07") == starts  # never resumed by the engine
        assert not s.sim.running
        s.sim.press_start()  # the walker, on the console
        await s.until(lambda: s.phase() is Phase.RUNNING)
        result = await asyncio.wait_for(task, 300)
        assert result.stop_reason is StopReason.FINISHED
        assert result.duration_s == pytest.approx(120.0, abs=0.5)


async def test_a_console_speed_change_is_kept_for_the_segment() -> None:
    async with stack(_plan(2, 60.0), cooldown_s=0.0) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        s.sim.console_set_speed(6.0)
        await asyncio.sleep(20)
        assert s.sim.target_speed_kmh == pytest.approx(6.0)  # not snapped back
        assert "console" in s.watcher.kinds()
        await s.until(lambda: s.session.state.seg_index == 1)
        await s.until(lambda: s.sim.target_speed_kmh == pytest.approx(5.0))  # the next segment: the profile
        await asyncio.wait_for(task, 200)


async def test_control_lost_is_shown() -> None:
    """Safety rule 5: status 0xFF reaches the engine, which says so and shows CONTROL LOST; the
    client asks for control once more (the sim grants it) and the engine says it is back."""
    async with stack(_plan(1, 120.0), cooldown_s=0.0) as s:
        task = asyncio.create_task(s.session.run(), name="session")
        await s.until(lambda: s.sim.belt_speed_kmh >= 3.9)
        requests_before = s.ops().count("00")
        s.sim.revoke_control()
        await s.until(lambda: any(e.data.get("regained") for e in s.watcher.events), timeout_s=20)
        lost = [e for e in s.watcher.events if e.kind == "control_lost"]
        assert lost, "the engine ignored 0xFF"
        assert not lost[0].data.get("regained")
        assert "took control" in lost[0].message
        assert lost[-1].data.get("regained") is True
        assert s.session.snapshot is not None
        assert s.session.snapshot.connection is ConnectionState.CONNECTED
        assert s.ops().count("00") == requests_before + 1  # asked once, did not fight
        s.session.submit(Command(CommandKind.STOP))
        s.session.submit(Command(CommandKind.STOP))
        await asyncio.wait_for(task, 60)
        assert s.ops()[-1] == "08"


async def test_the_countdown_lasts_real_seconds_at_any_speedup() -> None:
    """Safety rule 1: the walker's 3 s to step on are 3 real seconds, also in the demo's x10."""
    clock = LoopClock(speedup=10)
    loop = asyncio.get_running_loop()
    async with VirtualRadio() as radio:
        device = await radio.new_device(NAME)
        async with VirtualTreadmill(device, clock, name=NAME) as vt:
            tm = FtmsTreadmill(NAME, clock=clock, radio=radio)
            w = Watcher()
            session = Session(
                tm, _plan(1, 20.0), clock, observers=[w], settings=Settings(countdown_s=3.0, cooldown_s=0.0)
            )
            task = asyncio.create_task(session.run(), name="session")
            async with asyncio.timeout(30):
                while session.snapshot is None or session.snapshot.phase is not Phase.READY:
                    await asyncio.sleep(0.05)
            session.submit(Command(CommandKind.START))
            pressed = loop.time()
            async with asyncio.timeout(30):
                while vt.start_count == 0:
                    await asyncio.sleep(0.01)
            started = loop.time()
            result = await task
    assert started - pressed == pytest.approx(3.0, abs=0.2)  # real (loop) seconds
    shown = [s.countdown_s for s in w.snapshots if s.phase is Phase.COUNTDOWN and s.countdown_s is not None]
    assert shown and max(shown) <= 3.0 + 1e-6 and max(shown) > 2.5
    assert result.stop_reason is StopReason.FINISHED
