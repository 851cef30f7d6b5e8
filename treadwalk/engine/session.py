"""The imperative shell of the engine: ``Session`` runs the pure ``step`` against a Treadmill.

Imports the stdlib, treadwalk.core, treadwalk.treadmill.port and the functional core only; the
dashboard, recorder and telemetry are ``Observer``s it cannot see past.

The loop: read the clock and the machine, ``step``, carry out the actions in order (a stop
always first), publish a snapshot, then sleep until ``next_wakeup`` or until an input arrives
(a walker command through ``submit``, or a machine event). Every exit leaves the belt stopped
(safety rule 2): the profile's end and the walker's stop go through the core; an exception or a
cancellation anywhere (Ctrl+C, SIGTERM, a bug) commands a stop under a short timeout and then
re-raises the original error untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from treadwalk.core.clock import Clock
from treadwalk.core.errors import ConnectionLost, TreadmillError
from treadwalk.core.model import (
    Command,
    CommandKind,
    CommandSource,
    EventKind,
    Limits,
    MachineEvent,
    Observer,
    Plan,
    SessionEvent,
    SessionSnapshot,
    StopReason,
)
from treadwalk.heartrate.port import HeartRate
from treadwalk.treadmill.port import Treadmill

from .caps import CapsExceeded, over_caps
from .core import (
    Action,
    Emit,
    EngineState,
    Failure,
    HeartReading,
    Inputs,
    PauseBelt,
    SetIncline,
    SetSpeed,
    Settings,
    StartBelt,
    StopBelt,
    initial_state,
    moving_s,
    next_wakeup,
    snapshot,
    step,
)

__all__ = ["STOP_NOT_CONFIRMED", "Session", "SessionResult"]

STOP_NOT_CONFIRMED = "The treadmill did not confirm the stop: press its stop button (or pull the safety key)."

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionResult:
    """How a session ended, and its totals (the keys of ``run --summary-json``)."""

    stop_reason: StopReason
    duration_s: float  # moving time, pauses excluded, cool-down included
    distance_m: float
    ascent_m: float
    segments_completed: int
    segments_total: int
    max_speed_kmh: float
    max_incline_pct: float
    message: str | None = None
    # False: a stop was due and the treadmill never confirmed it; the belt may still be turning
    # (safety rule 7). True when the stop was confirmed, or the belt was never started.
    belt_stopped: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "stop_reason": self.stop_reason.value,
            "belt_stopped": self.belt_stopped,
            "duration_s": round(self.duration_s, 3),
            "distance_m": round(self.distance_m, 2),
            "ascent_m": round(self.ascent_m, 2),
            "segments_completed": self.segments_completed,
            "segments_total": self.segments_total,
            "max_speed_kmh": round(self.max_speed_kmh, 2),
            "max_incline_pct": round(self.max_incline_pct, 2),
        }


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer in time"
    return str(exc) or type(exc).__name__


class Session:
    """One workout on one belt. ``await run()`` once; ``submit()`` commands at any time.

    ``run`` enters the treadmill's async context (connect, and disconnect at the end) unless
    ``enter_treadmill=False`` says the caller already did.
    """

    def __init__(
        self,
        treadmill: Treadmill,
        plan: Plan,
        clock: Clock,
        *,
        limits: Limits | None = None,
        observers: Sequence[Observer] = (),
        settings: Settings | None = None,
        session_id: int | None = None,
        enter_treadmill: bool = True,
        heart_rate: HeartRate | None = None,
        action_timeout_s: float = 12.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self._treadmill = treadmill
        self._clock = clock
        self._limits = limits or Limits()
        self._observers: list[Observer] = list(observers)
        self._broken_observers: set[int] = set()
        self._session_id = session_id
        self._enter = enter_treadmill
        self._heart = heart_rate
        self._action_timeout_s = action_timeout_s
        self._stop_timeout_s = stop_timeout_s
        settings = settings or Settings()
        if math.isfinite(clock.speedup) and clock.speedup != settings.time_scale:
            # the countdown stays in real seconds when the clock runs faster (--speedup, demo)
            settings = replace(settings, time_scale=clock.speedup)
        self._state: EngineState = initial_state(plan, self._limits, settings)
        self._commands: deque[Command] = deque()
        self._events: deque[MachineEvent] = deque()
        self._failures: list[Failure] = []
        self._link_lost: str | None = None
        self._fatal: str | None = None
        self._pump_error: BaseException | None = None
        self._wake = asyncio.Event()
        self._ran = False
        self._stop_confirmed = False
        self._snapshot: SessionSnapshot | None = None
        self._targets: dict[type[Action], SetSpeed | SetIncline] = {}
        self._target_task: asyncio.Task[None] | None = None

    # -- the outside ------------------------------------------------------------------------

    def submit(self, command: Command) -> None:
        """Queue a walker or remote command; the loop handles it at once. Never blocks."""
        self._commands.append(command)
        self._wake.set()

    def fail(self, reason: str) -> None:
        """Something the walk cannot go on without has failed (the dashboard, the key reader):
        end the session now with stop reason ``error`` and ``reason`` as its message. The belt is
        stopped at once (no cool-down): the walker may have lost their keys. Never blocks."""
        if self._fatal is None:
            self._fatal = reason
        self._wake.set()

    def add_observer(self, observer: Observer) -> None:
        self._observers.append(observer)

    def notify(self, kind: EventKind, message: str, data: dict[str, Any] | None = None) -> None:
        """An observer's own news for every observer (the recorder: "recording is failing"), as
        a ``SessionEvent`` now. Never touches the belt logic."""
        self._publish_event(Emit(kind, message, dict(data or {})))

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def snapshot(self) -> SessionSnapshot | None:
        """The latest snapshot published (None before ``run``)."""
        return self._snapshot

    def result(self) -> SessionResult:
        """The totals so far (final once ``run`` returned or raised)."""
        s = self._state
        now = self._clock.now()
        return SessionResult(
            stop_reason=s.stop_reason or StopReason.ERROR,
            duration_s=moving_s(s, now),
            distance_m=s.odometer_m,
            ascent_m=s.ascent_m,
            segments_completed=s.segments_completed,
            segments_total=len(s.plan.segments),
            max_speed_kmh=s.max_speed_kmh,
            max_incline_pct=s.max_incline_pct,
            message=s.message,
            belt_stopped=not s.belt_commanded or self._stop_confirmed,
        )

    async def run(self) -> SessionResult:
        if self._ran:
            raise RuntimeError("a Session runs once; make a new one")
        self._ran = True
        problem = over_caps(self._state.plan, self._limits)
        if problem is not None:  # the CLI checks (and scales) first; this is the backstop
            raise CapsExceeded(problem)
        self._publish_snapshot()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self._enter:
                    await stack.enter_async_context(self._treadmill)
                pump = asyncio.create_task(self._pump_machine_events(), name="engine-machine-events")
                try:
                    await self._loop()
                except BaseException as exc:
                    await self._abort(exc)  # inside the treadmill's context: the link is still up
                    raise
                finally:
                    pump.cancel()
                    await asyncio.wait([pump])
                    await self._cancel_targets()
        except BaseException as exc:
            if not self._state.done:  # connecting (or disconnecting) failed
                await self._abort(exc)
            raise
        return self.result()

    # -- the loop ---------------------------------------------------------------------------

    async def _loop(self) -> None:
        tm = self._treadmill
        inputs = Inputs(capabilities=tm.capabilities, connection=tm.connection)
        while True:
            if self._pump_error is not None:
                raise self._pump_error
            if self._fatal is not None and inputs.error is None:
                inputs = replace(inputs, error=self._fatal)
            if self._heart is not None:
                inputs = replace(inputs, heart=self._heart_reading())
            now = self._clock.now()
            self._state, actions = step(self._state, now, tm.state, inputs)
            await self._execute(actions)
            self._publish_snapshot()
            if self._state.done:
                if self._state.belt_commanded and not self._stop_confirmed:
                    await self._safe_stop()  # the stop failed or timed out: once more
                    self._say_if_unconfirmed()
                return
            if not (self._failures or self._link_lost or self._commands or self._events or self._fatal):
                await self._wait_until(next_wakeup(self._state, self._clock.now()))
            inputs = self._drain()

    def _drain(self) -> Inputs:
        commands = tuple(self._commands)
        self._commands.clear()
        events = tuple(self._events)
        self._events.clear()
        failures = tuple(self._failures)
        self._failures.clear()
        link_lost, self._link_lost = self._link_lost, None
        return Inputs(
            commands=commands,
            events=events,
            connection=self._treadmill.connection,
            failures=failures,
            link_lost=link_lost,
        )

    async def _wait_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` (clock time) or until an input arrives."""
        if self._wake.is_set():
            self._wake.clear()
            return
        clock = self._clock
        if not math.isfinite(clock.speedup):  # a ManualClock: time moves only when we sleep
            await clock.sleep_until(deadline)
            self._wake.clear()
            return
        delay = max(0.0, deadline - clock.now()) / clock.speedup
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()
        self._wake.clear()

    def _heart_reading(self) -> HeartReading:
        """The heart-rate source's judgement now (safety rule 6: no reading is None, with why)."""
        assert self._heart is not None
        try:
            status = self._heart.status()
        except Exception:  # a bug in a source is no reading, never a stopped walk
            log.exception("the heart-rate source failed; going on without a reading")
            return HeartReading(None, self._clock.now(), reason="no_source")
        reading = status.reading
        battery = status.battery_pct
        if reading is None:
            why = status.reason.value if status.reason is not None else "no_source"
            return HeartReading(None, self._clock.now(), reason=why, battery_pct=battery)
        return HeartReading(float(reading.bpm), reading.at, battery_pct=battery)

    async def _pump_machine_events(self) -> None:
        try:
            async for event in self._treadmill.events():
                self._events.append(event)
                self._wake.set()
        except ConnectionLost as exc:
            self._link_lost = str(exc) or "lost"
            self._wake.set()
        except TreadmillError as exc:
            log.warning("machine events ended: %s", exc)
        except Exception as exc:  # a bug below us: end the session, belt stopped, error kept
            self._pump_error = exc
            self._wake.set()

    async def _execute(self, actions: Sequence[Action]) -> None:
        """Carry out the core's actions in order. Belt state changes (start, pause, stop) are
        awaited here; targets go to a background task, so a machine that is slow to answer
        (seconds, on some) never holds up the clock, the snapshots or a stop. A pause or a stop
        first cancels a target still in flight: nothing waits behind a speed change."""
        for action in actions:
            match action:
                case Emit():
                    self._publish_event(action)
                case SetSpeed() | SetIncline():
                    self._targets[type(action)] = action
                    if self._target_task is None or self._target_task.done():
                        self._target_task = asyncio.create_task(self._send_targets(), name="engine-targets")
                case StopBelt() | PauseBelt() | StartBelt():
                    if isinstance(action, StopBelt | PauseBelt):
                        await self._cancel_targets()
                    if not await self._belt(action):
                        return

    async def _belt(self, action: StopBelt | PauseBelt | StartBelt) -> bool:
        """One start/pause/stop under its timeout. False: do not carry out what follows."""
        tm = self._treadmill
        try:
            async with asyncio.timeout(
                self._stop_timeout_s if isinstance(action, StopBelt) else self._action_timeout_s
            ):
                match action:
                    case StopBelt():
                        await tm.stop()
                        self._stop_confirmed = True
                    case StartBelt():
                        await tm.start()
                        self._stop_confirmed = False
                    case PauseBelt():
                        await tm.pause()
        except ConnectionLost as exc:
            self._link_lost = str(exc) or "lost"
            return False  # the rest would fail too; the next step ends the session
        except (TreadmillError, TimeoutError) as exc:
            self._failures.append(Failure(action, _why(exc)))
            if isinstance(action, PauseBelt):
                await self._safe_stop()  # a pause that did not happen: the belt must not keep going
            return not isinstance(action, StartBelt)
        return True

    async def _send_targets(self) -> None:
        tm = self._treadmill
        while self._targets:
            kind = SetSpeed if SetSpeed in self._targets else SetIncline
            action = self._targets.pop(kind)
            try:
                async with asyncio.timeout(self._action_timeout_s):
                    if isinstance(action, SetSpeed):
                        applied = await tm.set_speed(action.speed_kmh)
                        unit = "km/h"
                    else:
                        assert isinstance(action, SetIncline)
                        applied = await tm.set_incline(action.incline_pct)
                        unit = "%"
                if applied.clamped:
                    self._publish_event(
                        Emit(EventKind.CLAMPED, applied.reason or f"held at {applied.value:g} {unit}")
                    )
            except ConnectionLost as exc:
                self._link_lost = str(exc) or "lost"
                self._targets.clear()
                self._wake.set()
                return
            except (TreadmillError, TimeoutError) as exc:
                self._failures.append(Failure(action, _why(exc)))
                self._wake.set()
            except Exception as exc:  # a bug below us: the loop raises it (belt stopped, error kept)
                self._pump_error = exc
                self._targets.clear()
                self._wake.set()
                return

    async def _cancel_targets(self) -> None:
        self._targets.clear()
        task, self._target_task = self._target_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def _safe_stop(self) -> None:
        """Command a stop under a short timeout; log (never raise) when it fails."""
        try:
            async with asyncio.timeout(self._stop_timeout_s):
                await self._treadmill.stop()
            self._stop_confirmed = True
        except Exception as exc:
            log.error("could not command the belt to stop: %s", exc or type(exc).__name__)

    async def _abort(self, exc: BaseException) -> None:
        """An exception or a cancellation left the loop: stop the belt, tell the observers."""
        cancelled = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
        inputs = (
            Inputs(commands=(Command(CommandKind.EMERGENCY_STOP, source=CommandSource.SIGNAL),))
            if cancelled
            else Inputs(error=f"Stopped after an error: {type(exc).__name__}: {exc}")
        )
        try:
            started = self._state.belt_commanded
            try:
                self._state, actions = step(self._state, self._clock.now(), self._treadmill.state, inputs)
            except Exception:
                log.exception("the engine's step failed while stopping")
                actions = ()
            for action in actions:
                if isinstance(action, Emit):
                    self._publish_event(action)
            self._publish_snapshot()
        finally:
            await self._cancel_targets()  # nothing in flight holds up the stop
            if started and not self._stop_confirmed:
                await self._safe_stop()
                self._say_if_unconfirmed()

    def _say_if_unconfirmed(self) -> None:
        """Safety rule 7: a stop the treadmill never confirmed is said out loud, never "finished"."""
        if not self._stop_confirmed:
            self._publish_event(Emit(EventKind.WARNING, STOP_NOT_CONFIRMED, {"stop_confirmed": False}))
            self._publish_snapshot()

    # -- observers --------------------------------------------------------------------------

    def _publish_snapshot(self) -> None:
        snap = snapshot(
            self._state,
            self._clock.now(),
            self._clock.wall(),
            self._treadmill.state,
            session_id=self._session_id,
        )
        self._snapshot = snap
        for obs in self._observers:
            self._call(obs, "on_snapshot", snap)

    def _publish_event(self, emit: Emit) -> None:
        event = SessionEvent(self._clock.now(), self._clock.wall(), emit.kind, emit.message, dict(emit.data))
        for obs in self._observers:
            self._call(obs, "on_event", event)

    def _call(self, obs: Observer, method: str, arg: Any) -> None:
        try:
            getattr(obs, method)(arg)
        except Exception:
            if id(obs) not in self._broken_observers:
                self._broken_observers.add(id(obs))
                log.exception("observer %r failed (logged once; the session goes on)", obs)
