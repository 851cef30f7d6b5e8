"""The engine's async shell in virtual time, against a small in-test double of the Treadmill port.

The double sits below the lowest real layer the engine sees (the port): it obeys at once and
records every call with the loop time. The same exit paths through the real stack (FtmsTreadmill
over the radio to the virtual treadmill) are in tests/test_engine_stack.py.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

import pytest

from treadwalk.core.clock import LoopClock
from treadwalk.core.errors import CommandRejected, ConnectionLost
from treadwalk.core.model import (
    BeltState,
    Capabilities,
    Command,
    CommandKind,
    CommandSource,
    ConnectionChanged,
    ConnectionState,
    Limits,
    MachineEvent,
    MachineStopped,
    Phase,
    Plan,
    PlanSegment,
    SessionEvent,
    SessionSnapshot,
    StoppedBy,
    StopReason,
    TreadmillState,
)
from treadwalk.core.units import Grid, snap
from treadwalk.engine import CapsExceeded, Session, Settings
from treadwalk.engine.session import STOP_NOT_CONFIRMED
from treadwalk.treadmill.port import Applied

pytestmark = pytest.mark.virtual_time

SPEED = Grid(0.5, 12.0, 0.1)
INCLINE = Grid(0.0, 12.0, 0.5)


class FakeTreadmill:
    """The Treadmill port, obeying instantly. ``calls``: (loop time, name, value)."""

    def __init__(self, *, fail: dict[str, BaseException] | None = None, stop_hangs: bool = False) -> None:
        self.calls: list[tuple[float, str, float | None]] = []
        self._state = TreadmillState()
        self._connection = ConnectionState.DISCONNECTED
        self._queues: list[asyncio.Queue[MachineEvent | BaseException]] = []
        self.fail = fail or {}
        self.stop_hangs = stop_hangs
        self.entered = self.exited = False
        self._distance_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self.entered = True
        self._connection = ConnectionState.CONNECTED
        self._distance_task = asyncio.create_task(self._odometer(), name="fake-odometer")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.exited = True
        if self._distance_task is not None:
            self._distance_task.cancel()
            await asyncio.wait([self._distance_task])

    async def _odometer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.25)
            v = self._state.speed_kmh or 0.0
            self._state = replace(
                self._state, at=loop.time(), distance_m=(self._state.distance_m or 0.0) + v / 3.6 * 0.25
            )

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(speed=SPEED, incline=INCLINE)

    @property
    def state(self) -> TreadmillState:
        return self._state

    @property
    def connection(self) -> ConnectionState:
        return self._connection

    async def events(self) -> AsyncIterator[MachineEvent]:
        q: asyncio.Queue[MachineEvent | BaseException] = asyncio.Queue()
        self._queues.append(q)
        while True:
            item = await q.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    # -- driving the double from a test
    def push(self, item: MachineEvent | BaseException) -> None:
        for q in self._queues:
            q.put_nowait(item)

    def set_connection(self, state: ConnectionState) -> None:
        self._connection = state
        self.push(ConnectionChanged(asyncio.get_running_loop().time(), state))

    def set_belt(self, belt: BeltState, speed: float | None = None) -> None:
        self._state = replace(
            self._state, belt=belt, speed_kmh=speed if speed is not None else self._state.speed_kmh
        )

    # -- the port
    def _record(self, name: str, value: float | None = None) -> None:
        self.calls.append((asyncio.get_running_loop().time(), name, value))
        if name in self.fail:
            raise self.fail[name]

    async def start(self) -> None:
        self._record("start")
        self.set_belt(BeltState.RUNNING)

    async def pause(self) -> None:
        self._record("pause")
        self.set_belt(BeltState.PAUSED, 0.0)

    async def stop(self) -> None:
        self._record("stop")
        if self.stop_hangs:
            await asyncio.sleep(3600)
        self.set_belt(BeltState.STOPPED, 0.0)

    async def set_speed(self, speed_kmh: float) -> Applied:
        self._record("speed", speed_kmh)
        self._state = replace(self._state, speed_kmh=speed_kmh, target_speed_kmh=speed_kmh)
        return Applied(speed_kmh, snap(speed_kmh, SPEED), clamped=False)

    async def set_incline(self, incline_pct: float) -> Applied:
        self._record("incline", incline_pct)
        self._state = replace(self._state, incline_pct=incline_pct)
        return Applied(incline_pct, incline_pct, clamped=False)

    def names(self) -> list[str]:
        return [n for _, n, _ in self.calls]


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


def _plan(n: int = 3, duration_s: float = 20.0, speed: float = 5.0) -> Plan:
    return Plan(
        name="t",
        segments=tuple(
            PlanSegment(
                name=f"s{i}", kind="work", speed_kmh=speed + i % 2, incline_pct=i % 3, duration_s=duration_s
            )
            for i in range(n)
        ),
    )


def _session(tm: FakeTreadmill, plan: Plan | None = None, **settings: Any) -> tuple[Session, Watcher]:
    settings.setdefault("auto_start", True)
    settings.setdefault("cooldown_s", 30.0)
    w = Watcher()
    s = Session(tm, plan or _plan(), LoopClock(), observers=[w], settings=Settings(**settings))
    return s, w


async def test_a_whole_session_plays_on_time_then_cools_down_and_stops() -> None:
    tm = FakeTreadmill()
    session, w = _session(tm)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    result = await session.run()
    assert result.stop_reason is StopReason.FINISHED
    assert result.segments_completed == result.segments_total == 3
    assert result.duration_s == pytest.approx(90.0)  # 3 x 20 s + 30 s cool-down
    assert loop.time() - t0 == pytest.approx(3.0 + 90.0)  # plus the countdown
    assert tm.names()[0] == "start"
    assert tm.names()[-1] == "stop"
    assert tm.entered
    assert tm.exited
    assert result.distance_m > 100
    # first command of each segment exactly at its deadline (virtual time: no lateness at all)
    for i in range(1, 3):
        deadline = t0 + 3.0 + 20.0 * i
        first = next(t for t, n, _ in tm.calls if t >= deadline - 1e-9 and n in ("speed", "incline"))
        assert first == pytest.approx(deadline, abs=1e-6)
    # snapshots at >= 4 Hz while running, every phase shown, the final one finished
    running = [s.at for s in w.snapshots if s.phase is Phase.RUNNING]
    assert max(b - a for a, b in itertools.pairwise(running)) <= 0.25 + 1e-6
    assert [p for p in dict.fromkeys(s.phase for s in w.snapshots)] == [
        Phase.CONNECTING,
        Phase.COUNTDOWN,  # --yes: READY lasts no time at all
        Phase.RUNNING,
        Phase.COOLDOWN,
        Phase.FINISHED,
    ]
    assert w.snapshots[-1].stop_reason is StopReason.FINISHED
    assert w.kinds().count("segment") == 3
    assert w.kinds()[-1] == "stop"


async def test_the_belt_waits_for_a_start_key() -> None:
    tm = FakeTreadmill()
    session, _w = _session(tm, auto_start=False)
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(120)
    assert tm.calls == []
    session.submit(Command(CommandKind.START, source=CommandSource.MQTT))
    await asyncio.sleep(10)
    assert tm.calls == []
    session.submit(Command(CommandKind.START))
    await asyncio.sleep(2.9)
    assert tm.calls == []
    await asyncio.sleep(0.2)
    assert tm.names()[0] == "start"
    session.submit(Command(CommandKind.EMERGENCY_STOP))
    result = await task
    assert result.stop_reason is StopReason.USER
    assert tm.names()[-1] == "stop"


async def test_stop_cools_down_and_a_second_stop_ends_now() -> None:
    tm = FakeTreadmill()
    session, _w = _session(tm, _plan(3, 600.0), cooldown_s=60.0)
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(100)
    session.submit(Command(CommandKind.STOP))
    await asyncio.sleep(10)
    assert session.snapshot is not None
    assert session.snapshot.phase is Phase.COOLDOWN
    assert "stop" not in tm.names()
    session.submit(Command(CommandKind.STOP))
    result = await task
    assert result.stop_reason is StopReason.USER
    assert tm.names()[-1] == "stop"


async def test_cancellation_stops_the_belt_and_propagates() -> None:
    tm = FakeTreadmill()
    session, w = _session(tm, _plan(3, 600.0))
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(50)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tm.names()[-1] == "stop"
    assert tm.exited
    assert w.snapshots[-1].phase is Phase.ABORTED
    assert w.events[-1].kind == "stop"


async def test_an_exception_below_stops_the_belt_and_is_not_hidden() -> None:
    class Boom(Exception):
        pass

    tm = FakeTreadmill()
    session, _w = _session(tm, _plan(3, 600.0))
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(30)
    tm.fail["speed"] = Boom("radio on fire")
    session.submit(Command(CommandKind.SPEED, 1.0))
    with pytest.raises(Boom, match="radio on fire"):
        await task
    assert tm.names()[-1] == "stop"
    assert session.result().stop_reason is StopReason.ERROR


async def test_an_exception_in_the_machine_events_stops_the_belt() -> None:
    tm = FakeTreadmill()
    session, _w = _session(tm, _plan(3, 600.0))
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(30)
    tm.push(ValueError("bad frame handling"))
    with pytest.raises(ValueError, match="bad frame"):
        await task
    assert tm.names()[-1] == "stop"


async def test_a_stop_that_never_answers_does_not_hang_the_exit() -> None:
    tm = FakeTreadmill(stop_hangs=True)
    settings = Settings(auto_start=True, cooldown_s=0.0)
    session = Session(tm, _plan(1, 10.0), LoopClock(), settings=settings, stop_timeout_s=3.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    result = await session.run()
    assert result.stop_reason is StopReason.FINISHED
    assert tm.names().count("stop") == 2  # once from the core, once more as the backstop
    assert loop.time() - t0 < 3.0 + 10.0 + 2 * 3.0 + 0.1


async def test_a_stop_that_is_never_confirmed_is_said_out_loud_not_finished() -> None:
    """Safety rule 7: the result says the belt may still be turning, and the walker is told."""
    tm = FakeTreadmill(stop_hangs=True)
    w = Watcher()
    settings = Settings(auto_start=True, cooldown_s=0.0)
    session = Session(tm, _plan(1, 10.0), LoopClock(), observers=[w], settings=settings, stop_timeout_s=3.0)
    result = await session.run()
    assert result.belt_stopped is False
    assert result.to_dict()["belt_stopped"] is False
    warnings = [e.message for e in w.events if e.kind == "warning"]
    assert STOP_NOT_CONFIRMED in warnings


async def test_a_confirmed_stop_is_belt_stopped() -> None:
    tm = FakeTreadmill()
    session, w = _session(tm, _plan(1, 10.0), cooldown_s=0.0)
    result = await session.run()
    assert result.belt_stopped is True
    assert STOP_NOT_CONFIRMED not in [e.message for e in w.events]


async def test_a_stop_that_fails_on_a_cancelled_session_is_said_too() -> None:
    tm = FakeTreadmill(fail={"stop": CommandRejected("no", op=8, result=4)})
    w = Watcher()
    session = Session(tm, _plan(1, 600.0), LoopClock(), observers=[w], settings=Settings(auto_start=True))
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert session.result().belt_stopped is False
    assert STOP_NOT_CONFIRMED in [e.message for e in w.events]


async def test_a_pause_that_fails_stops_the_belt() -> None:
    """The walker asked the belt to halt: if the pause is refused, it stops instead of going on."""
    tm = FakeTreadmill(fail={"pause": CommandRejected("pause refused", op=8, result=4)})
    session, _w = _session(tm, _plan(1, 600.0))
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(30)
    loop = asyncio.get_running_loop()
    asked = loop.time()
    session.submit(Command(CommandKind.TOGGLE_PAUSE))
    await asyncio.sleep(1)
    after = [(t, n) for t, n, _ in tm.calls if t >= asked]
    assert [n for _, n in after][:2] == ["pause", "stop"]
    assert after[1][0] - asked < 0.5
    assert tm.state.belt is BeltState.STOPPED
    session.submit(Command(CommandKind.EMERGENCY_STOP))
    await asyncio.wait_for(task, 30)


async def test_fail_ends_the_session_at_once_with_the_belt_stopped() -> None:
    """What the CLI does when the dashboard or the key reader dies: no cool-down, reason kept."""
    tm = FakeTreadmill()
    session, _w = _session(tm, _plan(1, 600.0), cooldown_s=120.0)
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(30)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    session.fail("The dashboard failed.")
    result = await asyncio.wait_for(task, 30)
    assert loop.time() - t0 < 0.5
    assert result.stop_reason is StopReason.ERROR
    assert result.message == "The dashboard failed."
    assert result.belt_stopped
    assert tm.names()[-1] == "stop"


async def test_a_failing_observer_is_logged_once_and_the_session_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def on_snapshot(self, snapshot: SessionSnapshot) -> None:
            raise RuntimeError("observer bug")

        def on_event(self, event: SessionEvent) -> None:
            raise RuntimeError("observer bug")

    tm = FakeTreadmill()
    session, _w = _session(tm, _plan(2, 10.0), cooldown_s=0.0)
    session.add_observer(Broken())
    with caplog.at_level(logging.ERROR, logger="treadwalk.engine.session"):
        result = await session.run()
    assert result.stop_reason is StopReason.FINISHED
    assert sum("observer" in r.getMessage() for r in caplog.records) == 1


async def test_a_link_that_does_not_come_back_ends_the_session_with_a_stop() -> None:
    tm = FakeTreadmill()
    session, w = _session(tm, _plan(3, 600.0))
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(30)
    tm.set_connection(ConnectionState.RECONNECTING)
    await asyncio.sleep(10)
    snap_ = session.snapshot
    assert snap_ is not None
    assert snap_.connection is ConnectionState.RECONNECTING
    elapsed = snap_.session_elapsed_s
    await asyncio.sleep(10)
    assert session.snapshot is not None
    assert session.snapshot.session_elapsed_s == pytest.approx(elapsed)
    tm.push(ConnectionLost("gave up after 30 s"))
    result = await task
    assert result.stop_reason is StopReason.CONNECTION_LOST
    assert tm.names()[-1] == "stop"
    assert "disconnect" in w.kinds()


async def test_a_link_that_comes_back_resumes_the_clock() -> None:
    tm = FakeTreadmill()
    session, w = _session(tm, _plan(1, 60.0), cooldown_s=0.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(20)
    tm.set_connection(ConnectionState.RECONNECTING)
    await asyncio.sleep(7)
    tm.set_connection(ConnectionState.CONNECTED)
    result = await task
    assert result.stop_reason is StopReason.FINISHED
    assert loop.time() - t0 == pytest.approx(3.0 + 60.0 + 7.0)
    assert "reconnect" in w.kinds()


async def test_a_console_stop_is_followed_and_ends_the_session() -> None:
    tm = FakeTreadmill()
    session, _w = _session(tm, _plan(3, 600.0))
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(30)
    tm.set_belt(BeltState.STOPPED, 0.0)
    tm.push(MachineStopped(0.0, paused=False, by=StoppedBy.USER))
    result = await task
    assert result.stop_reason is StopReason.MACHINE
    assert "start" not in tm.names()[1:]


async def test_a_rejected_speed_is_retried_not_fatal() -> None:
    tm = FakeTreadmill()
    session, w = _session(tm, _plan(2, 20.0), cooldown_s=0.0)
    task = asyncio.create_task(session.run(), name="session")
    await asyncio.sleep(10)
    tm.fail["speed"] = CommandRejected("rejected", op=0x02, result=0x03)
    await asyncio.sleep(15)  # the next segment's speed (at 23 s) is rejected, then retried
    del tm.fail["speed"]
    result = await task
    assert result.stop_reason is StopReason.FINISHED
    assert "warning" in w.kinds()
    rejected = [t for t, n, v in tm.calls if n == "speed" and 23.0 <= t < 25.0]
    assert rejected  # tried at the boundary, rejected
    assert any(n == "speed" and v == 6.0 and t >= 25.0 for t, n, v in tm.calls)  # and sent again later


async def test_a_plan_above_the_caps_is_refused_before_connecting() -> None:
    tm = FakeTreadmill()
    session = Session(tm, _plan(speed=9.0), LoopClock(), limits=Limits(max_speed_kmh=6.0))
    with pytest.raises(CapsExceeded, match="--fit-to-caps"):
        await session.run()
    assert not tm.entered
    assert tm.calls == []
