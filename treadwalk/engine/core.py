"""The functional core of the session engine: one pure ``step``, the transitions. Imports stdlib,
treadwalk.core and the engine's own pure ``heart`` (the heart-rate controller) only.

``step(state, now, machine, inputs) -> (state, actions)`` takes the previous ``EngineState``, the
clock time, the machine's latest ``TreadmillState`` and what arrived since the last step (walker
commands, machine events, the link state, failures of earlier actions), and returns the next state
and the actions for the shell to carry out, in order (``StartBelt``, ``PauseBelt``, ``StopBelt``,
``SetSpeed``, ``SetIncline``, ``Emit``). No I/O, no clock reads: tested with plain numbers.

Around it: ``state`` (``Settings``, ``EngineState``, moving time), ``targets`` (target shaping,
safety rule 3: clamped, rounded onto the grid, rate limited) and ``projection`` (``snapshot``,
``next_wakeup``: when the shell should step again: a boundary, a cue, the countdown, or a tick of
``Settings.tick_s``). Their names are re-exported here.

Heart rate (safety rule 6). ``Inputs.heart`` carries the latest reading (``HeartReading``: bpm or None,
and when); a reading older than ``Settings.heart_fresh_s`` is no reading. On a segment that holds
heart rate the adjusted axis' wanted value is the controller's working point (``engine.heart``),
shaped like any other target (safety rule 3: on the grid, under the caps); the walker's +/- and a
console change move that point instead of being undone; the loop is fed once per new reading and
counts as settled only when no programmed ramp is playing. Above ``Limits.ceiling_bpm`` every
segment eases off at once (``heart.ease_off``). Outside heart-rate segments the reading is only
shown (``SessionSnapshot.hr_*``).

Safety rules 1 and 4. The belt starts only from ``READY`` on a ``START`` (or ``TOGGLE_PAUSE``)
command whose source is not remote (``CommandSource.remote``: MQTT, the web page), or with
``Settings.auto_start`` (``run --yes``), and always after the countdown. A remote cannot resume a
paused belt either. The engine never undoes a stop or pause the machine reports; a console target
change is kept for the rest of the segment. A clamp is kept in ``state.clamped`` and reported once
per new reason as a ``clamped`` event.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from treadwalk.core.axis import Quantity, Range
from treadwalk.core.model import (
    BeltState,
    Capabilities,
    Command,
    CommandKind,
    CommandSource,
    ConnectionChanged,
    ConnectionState,
    ControlLost,
    EventKind,
    HrAdjust,
    HrHold,
    MachineEvent,
    MachineStarted,
    MachineStopped,
    PausedBy,
    Phase,
    PlanSegment,
    SegmentKind,
    StoppedBy,
    StopReason,
    TargetChanged,
    TreadmillState,
)
from treadwalk.core.units import format_distance, format_duration, format_speed, snap

from .heart import HrAction, HrBounds, HrLoop, ease_off, start_loop, step_loop
from .projection import next_wakeup, snapshot
from .state import (
    ACTIVE,
    EngineState,
    HeartReading,
    Settings,
    fresh_bpm,
    hr_hold,
    initial_state,
    moving_s,
    seg_fraction,
    seg_len_m,
    seg_len_s,
)
from .targets import Axis, burst, shape

__all__ = [
    "Action",
    "Axis",
    "Emit",
    "EngineState",
    "Failure",
    "HeartReading",
    "Inputs",
    "PauseBelt",
    "SetIncline",
    "SetSpeed",
    "Settings",
    "StartBelt",
    "StopBelt",
    "initial_state",
    "moving_s",
    "next_wakeup",
    "snapshot",
    "step",
]

_EPS = 1e-9


# ---------------------------------------------------------------------------------------------
# Inputs and actions


@dataclass(frozen=True, slots=True)
class StartBelt:
    """Start or resume the belt (only ever after an explicit action of the walker)."""


@dataclass(frozen=True, slots=True)
class PauseBelt:
    pass


@dataclass(frozen=True, slots=True)
class StopBelt:
    pass


@dataclass(frozen=True, slots=True)
class SetSpeed:
    speed_kmh: float


@dataclass(frozen=True, slots=True)
class SetIncline:
    incline_pct: float


@dataclass(frozen=True, slots=True)
class Emit:
    """A SessionEvent to publish; the shell adds the clock and wall times."""

    kind: EventKind
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


Action = StartBelt | PauseBelt | StopBelt | SetSpeed | SetIncline | Emit


@dataclass(frozen=True, slots=True)
class Failure:
    """An action the shell could not carry out (rejected, timed out)."""

    action: Action
    error: str


@dataclass(frozen=True, slots=True)
class Inputs:
    """What arrived since the previous step."""

    commands: tuple[Command, ...] = ()
    events: tuple[MachineEvent, ...] = ()
    connection: ConnectionState | None = None  # the port's current link state, polled
    capabilities: Capabilities | None = None  # once connected
    failures: tuple[Failure, ...] = ()
    link_lost: str | None = None  # the port raised ConnectionLost: why
    error: str | None = None  # something else broke: end the session now
    heart: HeartReading | None = None  # the heart-rate source's latest reading, if it has a new one


# ---------------------------------------------------------------------------------------------
# The step


def step(
    state: EngineState, now: float, machine: TreadmillState, inputs: Inputs = Inputs()
) -> tuple[EngineState, tuple[Action, ...]]:
    """Advance the session to ``now``. Pure: the same arguments give the same result."""
    out: list[Action] = []
    s = state
    if s.done:
        return s, ()
    dt = 0.0 if s.last_now is None else max(0.0, now - s.last_now)
    s = _track_machine(s, now, dt, machine)  # also sets last_now
    if inputs.capabilities is not None and s.phase is Phase.CONNECTING:
        s = _connected(s, now, inputs.capabilities, out)
    for event in inputs.events:
        s = _on_machine_event(s, now, machine, event, out)
    if inputs.connection is not None and inputs.connection is not s.connection:
        s = _on_machine_event(s, now, machine, ConnectionChanged(now, inputs.connection), out)
    s = _follow_belt(s, now, machine, out)
    if inputs.link_lost is not None:
        s = _finish(s, now, StopReason.CONNECTION_LOST, _lost_message(inputs.link_lost), out)
    if inputs.error is not None:
        s = _finish(s, now, StopReason.ERROR, inputs.error, out)
    for failure in inputs.failures:
        s = _on_failure(s, now, failure, out)
    if inputs.heart is not None:
        s = replace(s, heart=inputs.heart)
    for command in inputs.commands:
        mark = len(out)
        s = _on_command(s, now, command, out)
        _tag_source(out, mark, command.source)
    s = _advance(s, now, machine, out)
    s = _heart(s, now, out)
    s = _drive(s, now, dt, machine, out)
    return s, tuple(out)


def _lost_message(detail: str) -> str:
    why = f" ({detail})" if detail else ""
    return f"The link to the treadmill did not come back{why}; check that it is on and in range."


def _track_machine(s: EngineState, now: float, dt: float, machine: TreadmillState) -> EngineState:
    """Odometer (the machine's distance, or its speed integrated), ascent, maxima."""
    if s.started_at is None or s.done:
        return replace(s, last_now=now, last_machine_distance_m=machine.distance_m)
    delta = 0.0
    if machine.distance_m is not None:
        last = s.last_machine_distance_m
        if last is not None and machine.distance_m >= last:
            delta = machine.distance_m - last  # a machine that reset its counter adds nothing once
    else:
        speed = machine.speed_kmh
        if speed is None and not s.held and s.phase in ACTIVE:
            speed = s.speed.value
        delta = max(0.0, speed or 0.0) / 3.6 * dt
    incline = machine.incline_pct if machine.incline_pct is not None else (s.incline.value or 0.0)
    return replace(
        s,
        last_now=now,
        last_machine_distance_m=machine.distance_m,
        odometer_m=s.odometer_m + delta,
        ascent_m=s.ascent_m + delta * max(0.0, incline) / 100.0,
        max_speed_kmh=max(s.max_speed_kmh, machine.speed_kmh or 0.0),
        max_incline_pct=max(s.max_incline_pct, machine.incline_pct or 0.0),
    )


def _emit(out: list[Action], kind: EventKind, message: str, **data: Any) -> None:
    out.append(Emit(kind, message, data))


def _tag_source(out: list[Action], mark: int, source: CommandSource) -> None:
    """Every event a command caused says who asked (keys, a script, a signal, MQTT, the web page)."""
    for i in range(mark, len(out)):
        action = out[i]
        if isinstance(action, Emit) and "source" not in action.data:
            out[i] = Emit(action.kind, action.message, {**action.data, "source": source.value})


def _connected(s: EngineState, now: float, caps: Capabilities, out: list[Action]) -> EngineState:
    s = replace(
        s,
        speed=replace(s.speed, range=Range.of(Quantity.SPEED, caps, s.limits)),
        incline=replace(s.incline, range=Range.of(Quantity.INCLINE, caps, s.limits)),
        phase=Phase.READY,
        connection=ConnectionState.CONNECTED if s.connection is ConnectionState.CONNECTING else s.connection,
    )
    _emit(out, EventKind.PHASE, "Connected: ready to start.", phase=Phase.READY.value)
    cap = s.limits.max_speed_kmh
    if cap is not None and cap < caps.speed.minimum - _EPS:
        return _finish(
            s,
            now,
            StopReason.ERROR,
            f"Your speed cap {cap:g} km/h is below this treadmill's slowest speed "
            f"{caps.speed.minimum:g} km/h; raise --max-speed to at least that.",
            out,
        )
    if caps.incline is None and any(seg.incline_pct or seg.end_incline_pct for seg in s.plan.segments):
        _emit(
            out,
            EventKind.WARNING,
            "This treadmill cannot set incline: the profile's inclines are not applied.",
        )
    if s.plan.max_speed_kmh > caps.speed.maximum + _EPS:
        _emit(
            out,
            EventKind.WARNING,
            f"The profile goes up to {s.plan.max_speed_kmh:g} km/h but this treadmill stops at "
            f"{caps.speed.maximum:g} km/h: faster targets are held at its maximum.",
        )
    return s


def _hold(s: EngineState, now: float) -> EngineState:
    return s if s.held_since is not None or s.started_at is None else replace(s, held_since=now)


def _release(s: EngineState, now: float) -> EngineState:
    if s.held_since is None or s.paused_by is not None or s.link_hold_since is not None:
        return s
    return replace(s, held_total_s=s.held_total_s + (now - s.held_since), held_since=None)


def _resend(s: EngineState) -> EngineState:
    return replace(s, speed=replace(s.speed, sent=None), incline=replace(s.incline, sent=None))


def _pause(
    s: EngineState, now: float, by: PausedBy, out: list[Action], *, command: bool, message: str
) -> EngineState:
    if s.phase not in ACTIVE or s.paused_by is not None:
        return s
    if command:
        out.append(PauseBelt())
    s = _hold(replace(s, paused_by=by, message=message), now)
    _emit(out, EventKind.PAUSE, message, by=by)
    return s


def _resume(s: EngineState, now: float, out: list[Action], *, command: bool, message: str) -> EngineState:
    if s.paused_by is None:
        return s
    if command:
        out.append(StartBelt())
    s = _release(replace(s, paused_by=None, message=None), now)
    _emit(out, EventKind.RESUME, message)
    return _resend(s)


def _finish(
    s: EngineState, now: float, reason: StopReason, message: str, out: list[Action], *, graceful: bool = False
) -> EngineState:
    """End the session: a stop goes out first if we ever started the belt. ``graceful``: the
    walker's own ordinary stop, shown as FINISHED; otherwise (emergency, machine, link, error)
    ABORTED, unless the profile simply ended."""
    if s.done:
        return s
    graceful = graceful or reason is StopReason.FINISHED
    # nothing of this step that would move the belt goes out; the stop goes first
    out[:] = [a for a in out if isinstance(a, Emit)]
    if s.belt_commanded:
        out.insert(0, StopBelt())
    if s.held_since is not None:
        s = replace(s, held_total_s=s.held_total_s + (now - s.held_since), held_since=None)
    phase = Phase.FINISHED if graceful else Phase.ABORTED
    s = replace(
        s,
        phase=phase,
        stop_reason=reason,
        ended_at=now if s.started_at is not None else None,
        paused_by=None,
        link_hold_since=None,
        countdown_until=None,
        message=message,
    )
    _emit(out, EventKind.STOP, message, reason=reason.value, phase=phase.value)
    return s


def _on_machine_event(
    s: EngineState, now: float, machine: TreadmillState, event: MachineEvent, out: list[Action]
) -> EngineState:
    if s.done:
        return s
    match event:
        case MachineStopped(paused=True, by=by):
            if s.phase is Phase.COUNTDOWN:
                return _cancel_countdown(
                    s, out, "The treadmill was stopped on the console: start again when ready."
                )
            return _pause(
                s,
                now,
                PausedBy.MACHINE,
                out,
                command=False,
                message=f"The treadmill paused ({by.shown}): press space or start on the console to go on.",
            )
        case MachineStopped(paused=False, by=by):
            if s.phase is Phase.COUNTDOWN:
                return _cancel_countdown(
                    s, out, "The treadmill was stopped on the console: start again when ready."
                )
            if s.phase in ACTIVE:
                return _finish(s, now, StopReason.MACHINE, f"The treadmill stopped ({by.shown}).", out)
            return s
        case MachineStarted():
            if s.paused_by is not None:
                return _resume(s, now, out, command=False, message="The belt was started on the console.")
            if s.phase in (Phase.READY, Phase.COUNTDOWN):
                _emit(
                    out,
                    EventKind.CONSOLE,
                    "The belt was started on the console; the workout starts with your key.",
                )
            return s
        case TargetChanged(by_us=False, speed_kmh=speed, incline_pct=incline):
            return _console_target(s, now, speed, incline, out)
        case TargetChanged():
            return s
        case ControlLost(regained=False):
            if s.connection is ConnectionState.CONTROL_LOST:
                return s
            msg = "Another app or the console took control: treadwalk cannot set speed or incline now."
            _emit(out, EventKind.CONTROL_LOST, msg)
            return replace(s, connection=ConnectionState.CONTROL_LOST, message=msg)
        case ControlLost(regained=True):
            if s.connection is not ConnectionState.CONTROL_LOST:
                return s
            _emit(out, EventKind.CONTROL_LOST, "Control regained: targets are applied again.", regained=True)
            return _resend(replace(s, connection=ConnectionState.CONNECTED, message=None))
        case ConnectionChanged(state=state, detail=detail):
            return _on_link(s, now, machine, state, detail, out)
    return s  # pragma: no cover - exhaustive


def _cancel_countdown(s: EngineState, out: list[Action], message: str) -> EngineState:
    _emit(out, EventKind.PHASE, message, phase=Phase.READY.value)
    return replace(s, phase=Phase.READY, countdown_until=None, message=message)


def _console_target(
    s: EngineState, now: float, speed: float | None, incline: float | None, out: list[Action]
) -> EngineState:
    if s.phase is not Phase.RUNNING or s.paused_by is not None:
        return s
    for q, reported in ((Quantity.SPEED, speed), (Quantity.INCLINE, incline)):
        a = s.axis(q)
        if reported is None or a.range is None or a.sent_recently(reported, now):
            continue  # nothing, cannot be set, or a late echo of our own target
        value = a.range.clamp(reported, capped=False).value  # the walker's own choice on the console
        if (q is Quantity.SPEED and value <= 0) or value == a.value:
            continue
        s = s.with_axis(replace(a, console=value, value=value, sent=value, wanted=value))
        _emit(
            out,
            EventKind.CONSOLE,
            f"{q.label} set on the console: {q.shown(value, s.settings.units)}, kept for this segment.",
            **{q.key: value},
        )
    return _hr_console(s, now)


def _on_link(
    s: EngineState,
    now: float,
    machine: TreadmillState,
    state: ConnectionState,
    detail: str,
    out: list[Action],
) -> EngineState:
    previous = s.connection
    if state is previous:
        return s
    if state is ConnectionState.RECONNECTING:
        _emit(
            out,
            EventKind.DISCONNECT,
            "The link dropped: reconnecting, the session clock is held.",
            detail=detail,
        )
        s = replace(s, connection=state, link_hold_since=now, message="Reconnecting to the treadmill...")
        return _hold(s, now)
    if state is ConnectionState.DISCONNECTED:
        s = replace(s, connection=state)
        if s.phase is Phase.CONNECTING:
            return s
        return _finish(s, now, StopReason.CONNECTION_LOST, _lost_message(detail), out)
    if state is ConnectionState.CONTROL_LOST:
        return _on_machine_event(s, now, machine, ControlLost(now), out)
    if state is ConnectionState.CONNECTED:
        s = replace(s, connection=state, message=None)
        if previous is ConnectionState.RECONNECTING:
            _emit(out, EventKind.RECONNECT, "Reconnected.")
            s = _release(replace(s, link_hold_since=None), now)
            if (
                s.phase in ACTIVE
                and s.paused_by is None
                and machine.belt in (BeltState.STOPPED, BeltState.PAUSED)
            ):
                # the belt stopped while the link was down: never restarted by itself
                return _pause(
                    s,
                    now,
                    PausedBy.MACHINE,
                    out,
                    command=False,
                    message="The belt stopped while the link was down: press space to go on.",
                )
            return _resend(s)
        if previous is ConnectionState.CONTROL_LOST:
            s = replace(s, connection=previous)
            return _on_machine_event(s, now, machine, ControlLost(now, regained=True), out)
        return s
    return replace(s, connection=state)


def _follow_belt(s: EngineState, now: float, machine: TreadmillState, out: list[Action]) -> EngineState:
    """Belt transitions the machine reports in its data, for machines whose status we miss."""
    belt, last = machine.belt, s.last_belt
    if belt is last:
        return s
    s = replace(s, last_belt=belt)
    if s.done or s.connection is ConnectionState.RECONNECTING:
        return s
    if last is BeltState.RUNNING and belt is BeltState.PAUSED:
        return _on_machine_event(s, now, machine, MachineStopped(now, paused=True, by=StoppedBy.UNKNOWN), out)
    if last is BeltState.RUNNING and belt is BeltState.STOPPED and s.paused_by is None:
        return _on_machine_event(
            s, now, machine, MachineStopped(now, paused=False, by=StoppedBy.UNKNOWN), out
        )
    if (
        belt is BeltState.RUNNING
        and last in (BeltState.PAUSED, BeltState.STOPPED)
        and s.paused_by is not None
    ):
        return _on_machine_event(s, now, machine, MachineStarted(now), out)
    return s


def _clause(error: object) -> str:
    """An error's sentence as the tail of another: 'The X refused.' -> 'the X refused'."""
    text = str(error).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _on_failure(s: EngineState, now: float, failure: Failure, out: list[Action]) -> EngineState:
    match failure.action:
        case StartBelt():
            return _finish(
                s, now, StopReason.ERROR, f"The belt did not start: {_clause(failure.error)}.", out
            )
        case SetSpeed():
            _emit(out, EventKind.WARNING, f"Speed not applied ({failure.error}); trying again.")
            return replace(s, speed=replace(s.speed, sent=None, retry_at=now + s.settings.retry_s))
        case SetIncline():
            _emit(out, EventKind.WARNING, f"Incline not applied ({failure.error}); trying again.")
            return replace(s, incline=replace(s.incline, sent=None, retry_at=now + s.settings.retry_s))
        case PauseBelt() | StopBelt():
            _emit(out, EventKind.WARNING, f"The treadmill did not confirm ({failure.error}).")
            return s
    return s


def _on_command(s: EngineState, now: float, c: Command, out: list[Action]) -> EngineState:
    if s.done:
        return s
    remote = c.source.remote
    kind = c.kind
    if kind is CommandKind.TOGGLE_PAUSE:
        if s.phase is Phase.READY:
            kind = CommandKind.START
        elif s.phase is Phase.COUNTDOWN:
            return _cancel_countdown(s, out, "Start cancelled.")
        else:
            kind = CommandKind.RESUME if s.paused_by is not None else CommandKind.PAUSE
    match kind:
        case CommandKind.START | CommandKind.RESUME:
            if remote and (s.phase in (Phase.READY, Phase.COUNTDOWN) or s.paused_by is not None):
                _emit(
                    out,
                    EventKind.WARNING,
                    "A remote cannot start the belt: press a key on the treadwalk screen.",
                    source=c.source,
                )
                return s
            if s.phase is Phase.READY and kind is CommandKind.START:
                return _begin_countdown(s, now, out, c.source)
            if s.paused_by is not None:
                if s.connection is ConnectionState.RECONNECTING:
                    _emit(out, EventKind.WARNING, "Wait for the treadmill to reconnect before resuming.")
                    return s
                return _resume(s, now, out, command=True, message="Resumed.")
            return s
        case CommandKind.PAUSE:
            if s.phase is Phase.COUNTDOWN:
                return _cancel_countdown(s, out, "Start cancelled.")
            return _pause(
                s,
                now,
                PausedBy.REMOTE if remote else PausedBy.USER,
                out,
                command=True,
                message="Paused: press space to go on." if not remote else "Paused from a remote.",
            )
        case CommandKind.SPEED | CommandKind.INCLINE:
            return _override(s, now, c, out)
        case CommandKind.SKIP:
            if s.phase is Phase.COOLDOWN:
                return _finish(
                    s, now, s.cooldown_reason, "Cool-down skipped: the belt stops.", out, graceful=True
                )
            if s.phase is Phase.RUNNING:
                _emit(out, EventKind.COMMAND, "Segment skipped.", command="skip", source=c.source)
                return _next_segment(s, now, moving_s(s, now), out, completed=False)
            return s
        case CommandKind.EXTEND:
            seg = s.segment
            if seg is None:
                return s
            if seg.open:
                _emit(out, EventKind.COMMAND, "This segment lasts until you press n.", command="extend")
                return s
            default = s.settings.extend_s if seg.duration_s is not None else s.settings.extend_m
            value = default if c.value is None else c.value
            extra = max(s.seg_extra + value, -(seg.duration_s or seg.distance_m or 0.0))
            unit = "s" if seg.duration_s is not None else "m"
            _emit(
                out,
                EventKind.COMMAND,
                f"Segment extended by {value:g} {unit}.",
                command="extend",
                value=value,
            )
            return replace(s, seg_extra=extra)
        case CommandKind.STOP:
            if s.phase in (Phase.CONNECTING, Phase.READY, Phase.COUNTDOWN):
                return _finish(s, now, StopReason.USER, "Stopped before the start.", out, graceful=True)
            if s.phase is Phase.COOLDOWN or s.paused_by is not None or s.settings.cooldown_s <= 0:
                return _finish(s, now, StopReason.USER, "Stopped.", out, graceful=True)
            return _begin_cooldown(s, now, moving_s(s, now), StopReason.USER, out)
        case CommandKind.EMERGENCY_STOP:
            return _finish(s, now, StopReason.USER, "Emergency stop.", out)
    return s


def _planned(seg: PlanSegment, q: Quantity, fraction: float) -> float:
    return seg.speed_at(fraction) if q is Quantity.SPEED else seg.incline_at(fraction)


def _override(s: EngineState, now: float, c: Command, out: list[Action]) -> EngineState:
    """A walker's +/- (speed) or ]/[ (incline): a step from what is commanded now, onto the grid
    and under the caps, held as an override of the profile (console values count as the start)."""
    seg = s.segment
    if seg is None or c.value is None or not math.isfinite(c.value):
        return s
    q = Quantity.SPEED if c.kind is CommandKind.SPEED else Quantity.INCLINE
    a = s.axis(q)
    r = a.range
    if r is None:
        _emit(out, EventKind.WARNING, "This treadmill cannot set incline.")
        return s
    if (loop := _hr_loop(s, q)) is not None:
        return _hr_override(s, now, c.value, loop, r, out)
    planned = _planned(seg, q, seg_fraction(s, now, seg))
    # a +/- counts from the target the walker sees, held inside the range: so - at a cap (or on
    # a ramp climbing past it) slows down at once
    current = r.hold(a.console if a.console is not None else planned + a.override)
    target = r.clamp(current + c.value).value
    override = target - planned
    shown = q.shown(target, s.settings.units)
    held = replace(a, override=override, console=None)
    if abs(target - current) < 1e-9 and c.value != 0:
        # at the top (or bottom) already: not another override; said once, not at every press
        edge = "top" if c.value > 0 else "bottom"
        note = f"{q.label} stays {shown}: the {edge} of what is allowed."
        if note != s.edge_note:
            _emit(out, EventKind.CLAMPED, note, **{q.key: target})
        return replace(s.with_axis(held), edge_note=note)
    _emit(
        out, EventKind.OVERRIDE, f"{q.label} {shown}.", **{q.key: target, q.override_key: round(override, 3)}
    )
    return replace(s.with_axis(held), edge_note=None)


def _begin_countdown(s: EngineState, now: float, out: list[Action], source: CommandSource) -> EngineState:
    n = s.settings.countdown_s
    _emit(
        out,
        EventKind.PHASE,
        f"Starting in {n:g} s: step onto the side rails.",
        phase=Phase.COUNTDOWN.value,
        source=source,
    )
    return replace(s, phase=Phase.COUNTDOWN, countdown_until=now + n * s.settings.time_scale, message=None)


def _begin_running(s: EngineState, now: float, machine: TreadmillState, out: list[Action]) -> EngineState:
    grid = s.speed_grid
    assert grid is not None
    out.append(StartBelt())
    incline = s.incline.fresh(None, 0.0)
    if (ri := s.incline.range) is not None:
        # from where the machine stands, so a belt already at 5 % is not sent to 0 % first
        at = machine.incline_pct if machine.incline_pct is not None else 0.0
        incline = s.incline.fresh(snap(at, ri.grid), _burst(s, s.incline))
    s = replace(
        s,
        phase=Phase.RUNNING,
        started_at=now,
        countdown_until=None,
        belt_commanded=True,
        speed=s.speed.fresh(grid.minimum, _burst(s, s.speed)),
        incline=incline,
        seg_index=0,
        seg_start_t=0.0,
        seg_start_m=0.0,
        odometer_m=0.0,
    )
    _emit(out, EventKind.PHASE, "Go!", phase=Phase.RUNNING.value)
    return _enter_segment(s, now, out)


def _enter_segment(s: EngineState, now: float, out: list[Action]) -> EngineState:
    if s.seg_index >= len(s.plan.segments):
        return s
    seg = s.plan.segments[s.seg_index]
    units = s.settings.units
    length = (
        format_duration(seg.duration_s)
        if seg.duration_s is not None
        else format_distance(seg.distance_m or 0.0, units)
    )
    until = "until you press n" if seg.open else f"for {length}"

    def one(x: float) -> str:  # a scaled profile (--fit-to-caps) has 3.309 km/h: say 3.3
        return f"{round(x, 1):g}"

    speed = format_speed(seg.speed_kmh, units, end_kmh=seg.end_speed_kmh)  # in the walker's units
    incline = (
        one(seg.incline_pct)
        if seg.end_incline_pct is None
        else f"{one(seg.incline_pct)}->{one(seg.end_incline_pct)}"
    )
    _emit(
        out,
        EventKind.SEGMENT,
        f"{seg.name}: {speed}, {incline} % {until}.",
        index=s.seg_index,
        name=seg.name,
        segment_kind=seg.kind,
    )
    return s


def _next_segment(
    s: EngineState, now: float, start_t: float, out: list[Action], *, completed: bool
) -> EngineState:
    keep = s.settings.hold_overrides == "session"
    s = replace(
        s,
        seg_index=s.seg_index + 1,
        seg_start_t=start_t,
        seg_start_m=s.odometer_m,
        seg_extra=0.0,
        cues_fired=frozenset(),
        segments_completed=s.segments_completed + (1 if completed else 0),
        speed=s.speed if keep else s.speed.unheld(),
        incline=s.incline if keep else s.incline.unheld(),
    )
    if s.seg_index < len(s.plan.segments):
        return _enter_segment(s, now, out)
    last = s.plan.segments[-1] if s.plan.segments else None
    if s.settings.cooldown_s <= 0 or (last is not None and last.kind is SegmentKind.COOLDOWN):
        return _finish(s, now, StopReason.FINISHED, "Workout complete.", out)
    return _begin_cooldown(s, now, start_t, StopReason.FINISHED, out)


def _begin_cooldown(
    s: EngineState, now: float, start_t: float, reason: StopReason, out: list[Action]
) -> EngineState:
    r = s.speed.range
    assert r is not None
    current = s.speed.value if s.speed.value is not None else r.grid.minimum
    speed = r.clamp(min(s.settings.cooldown_speed_kmh, current)).value  # never faster than now
    n = s.settings.cooldown_s
    why = "Workout complete" if reason is StopReason.FINISHED else "Stopping"
    msg = f"{why}: cool-down at {format_speed(speed, s.settings.units)} for {format_duration(n)} (stop again to end now)."
    _emit(out, EventKind.PHASE, msg, phase=Phase.COOLDOWN.value, reason=reason.value)
    return replace(
        s,
        phase=Phase.COOLDOWN,
        cooldown_start_t=start_t,
        cooldown_len_s=n,
        cooldown_speed_kmh=speed,
        cooldown_reason=reason,
        # the cool-down is its own easy walk: the walker's +/- of the workout no longer apply
        speed=s.speed.unheld(),
        incline=s.incline.unheld(),
        message=msg,
    )


def _advance(s: EngineState, now: float, machine: TreadmillState, out: list[Action]) -> EngineState:
    if s.done:
        return s
    st = s.settings
    if s.link_hold_since is not None and now - s.link_hold_since >= st.link_timeout_s:
        return _finish(s, now, StopReason.CONNECTION_LOST, _lost_message("still reconnecting"), out)
    if s.phase is Phase.READY and st.auto_start and not s.auto_started:
        s = replace(_begin_countdown(s, now, out, CommandSource.SCRIPT), auto_started=True)
    if s.phase is Phase.COUNTDOWN and s.countdown_until is not None and now >= s.countdown_until - _EPS:
        s = _begin_running(s, now, machine, out)
    if s.held or s.phase not in ACTIVE:
        return s
    t = moving_s(s, now)
    while s.phase is Phase.RUNNING:
        seg = s.plan.segments[s.seg_index] if s.seg_index < len(s.plan.segments) else None
        if seg is None:
            s = _next_segment(s, now, t, out, completed=False)
            break
        s = _fire_cues(s, now, t, seg, out)
        length_s = seg_len_s(seg, s.seg_extra)
        if length_s is not None:
            end_t = s.seg_start_t + length_s
            if t < end_t - _EPS:
                break
            s = _next_segment(s, now, end_t, out, completed=True)  # starts at the deadline, not now
        elif seg.open:
            break  # until the walker skips it (n, or MQTT skip)
        else:
            length_m = seg_len_m(seg, s.seg_extra)
            assert length_m is not None
            if s.odometer_m - s.seg_start_m < length_m - _EPS:
                break
            s = _next_segment(s, now, t, out, completed=True)
    if (
        s.phase is Phase.COOLDOWN
        and s.cooldown_start_t is not None
        and t >= s.cooldown_start_t + s.cooldown_len_s - _EPS
    ):
        why = "Workout complete." if s.cooldown_reason is StopReason.FINISHED else "Stopped."
        s = _finish(s, now, s.cooldown_reason, why, out, graceful=True)
    return s


def _fire_cues(s: EngineState, now: float, t: float, seg: PlanSegment, out: list[Action]) -> EngineState:
    into_s = t - s.seg_start_t
    into_m = s.odometer_m - s.seg_start_m
    fired = s.cues_fired
    for i, cue in enumerate(seg.cues):
        if i in fired:
            continue
        due = (cue.at_s is not None and into_s >= cue.at_s - _EPS) or (
            cue.at_m is not None and into_m >= cue.at_m - _EPS
        )
        if cue.at_s is None and cue.at_m is None:
            due = True
        if due:
            fired = fired | {i}
            _emit(out, EventKind.CUE, cue.text, index=s.seg_index, cue=i)
            s = replace(s, cue_text=cue.text, cue_until=now + s.settings.cue_show_s)
    return s if fired is s.cues_fired else replace(s, cues_fired=fired)


# ---------------------------------------------------------------------------------------------
# Targets: snapped, capped, rate limited


def _want(s: EngineState, now: float, q: Quantity) -> tuple[float | None, bool]:
    """The raw wanted value (before snapping), and whether it is the console's."""
    if s.phase is Phase.COOLDOWN:
        return (s.cooldown_speed_kmh if q is Quantity.SPEED else 0.0), False
    seg = s.segment
    if seg is None:
        return None, False
    if (loop := _hr_loop(s, q)) is not None:
        return loop.value, False  # the heart-rate controller's working point, capped like the profile
    a = s.axis(q)
    if a.console is not None:
        return a.console, True
    return _planned(seg, q, seg_fraction(s, now, seg)) + a.override, False


def _shape(s: EngineState, a: Axis, now: float, dt: float, can_send: bool, reasons: list[str]) -> Axis:
    raw, console = _want(s, now, a.quantity)
    st = s.settings
    return shape(
        a, raw, console=console, limits=s.limits, tick_s=st.tick_s, dt=dt, can_send=can_send, reasons=reasons
    )


def _burst(s: EngineState, a: Axis) -> float:
    return burst(a, s.limits, s.settings.tick_s)


def _drive(s: EngineState, now: float, dt: float, machine: TreadmillState, out: list[Action]) -> EngineState:
    if s.done or s.phase not in ACTIVE:
        return s
    assert s.speed.range is not None
    reasons: list[str] = []
    can_send = s.held_since is None and s.connection is ConnectionState.CONNECTED
    speed = _shape(s, s.speed, now, dt, can_send, reasons)
    incline = _shape(s, s.incline, now, dt, can_send, reasons)
    if can_send:
        if speed.value is not None and speed.value != speed.sent and now >= speed.retry_at:
            out.append(SetSpeed(speed.value))
            speed = speed.sending(speed.value, now)
        if (
            incline.range is not None
            and incline.value is not None
            and incline.value != incline.sent
            and now >= incline.retry_at
        ):
            out.append(SetIncline(incline.value))
            incline = incline.sending(incline.value, now)
    clamped = "; ".join(reasons) or None
    if clamped is not None and clamped != s.clamped:
        _emit(out, EventKind.CLAMPED, clamped[0].upper() + clamped[1:] + ".")
    if speed == s.speed and incline == s.incline and clamped == s.clamped:
        return s
    return replace(s, speed=speed, incline=incline, clamped=clamped)


# ---------------------------------------------------------------------------------------------
# Heart rate: the hooks into ``engine.heart``


def _hr_quantity(hold: HrHold) -> Quantity:
    return Quantity.INCLINE if hold.adjust is HrAdjust.INCLINE else Quantity.SPEED


def _hr_loop(s: EngineState, q: Quantity) -> HrLoop | None:
    """The working point of this segment's controller, when it moves axis ``q``."""
    hold = hr_hold(s)
    if hold is None or s.hr_loop is None or s.hr_loop_seg != s.seg_index:
        return None
    return s.hr_loop if _hr_quantity(hold) is q else None


def _hr_bounds(s: EngineState, hold: HrHold) -> HrBounds | None:
    """The segment's bounds inside the machine's range and the walker's caps (safety rule 3)."""
    q = _hr_quantity(hold)
    r = s.axis(q).range
    if r is None:
        return None
    grid = r.grid
    top = r.hold(hold.maximum)
    low = r.clamp(min(r.hold(hold.minimum), top)).value
    floor = max(grid.minimum, 0.0) if q is Quantity.INCLINE else grid.minimum
    step_ = s.settings.hr_tuning.step_for(hold.adjust, grid.step)
    return HrBounds(low, r.clamp(top).value, step_, min(floor, low))


def _heart(s: EngineState, now: float, out: list[Action]) -> EngineState:
    if s.done or s.phase is not Phase.RUNNING or s.held or s.paused_by is not None:
        return s
    bpm = fresh_bpm(s, now)
    fresh_at = s.heart.at if s.heart is not None and bpm is not None else None
    hold = hr_hold(s)
    seg = s.segment
    if hold is None or seg is None:
        if fresh_at is not None and fresh_at <= s.hr_fed_at:
            return s  # nothing new from the strap since the last look
        return _hr_ease_off(s, now, bpm, out)
    bounds = _hr_bounds(s, hold)
    if bounds is None:
        return s
    q = _hr_quantity(hold)
    loop = s.hr_loop
    if loop is None or s.hr_loop_seg != s.seg_index:
        begin = seg.incline_pct if q is Quantity.INCLINE else seg.speed_kmh
        loop = start_loop(min(max(begin, bounds.minimum), bounds.maximum), now)
        s = replace(s, hr_loop=loop, hr_loop_seg=s.seg_index, hr_action=None)
    if fresh_at is not None and fresh_at <= s.hr_fed_at:
        return s  # nothing new from the strap since the last look
    by_incline = q is Quantity.INCLINE
    axis, other = (s.incline, s.speed) if by_incline else (s.speed, s.incline)
    ramping = seg.end_speed_kmh if by_incline else seg.end_incline_pct
    settled = (
        (ramping is None or seg_fraction(s, now, seg) >= 1.0)
        and axis.value is not None
        and axis.value == axis.wanted
        and other.value == other.wanted
    )
    units = s.settings.units

    def show(v: float) -> str:
        return q.shown(v, units)

    assert hold.low_bpm is not None and hold.high_bpm is not None
    loop, move = step_loop(
        loop, now, bpm, hold.low_bpm, hold.high_bpm, bounds, s.limits.ceiling_bpm, settled,
        s.settings.hr_tuning, what=hold.adjust.value, show=show,
    )  # fmt: skip
    if move is not None:
        _emit(
            out, EventKind.HEART_RATE, move.message, action=move.action.value, bpm=move.bpm,
            value=move.value, adjust=hold.adjust.value,
        )  # fmt: skip
    fed = fresh_at if fresh_at is not None else s.hr_fed_at
    return replace(s, hr_loop=loop, hr_loop_seg=s.seg_index, hr_fed_at=fed, hr_action=loop.last)


def _hr_ease_off(s: EngineState, now: float, bpm: float | None, out: list[Action]) -> EngineState:
    """Above the ceiling on a segment that does not hold heart rate: incline first, then speed."""
    seg, rs, ri = s.segment, s.speed.range, s.incline.range
    fed = s.heart.at if s.heart is not None and bpm is not None else s.hr_fed_at
    if seg is None or rs is None or bpm is None or s.limits.ceiling_bpm is None:
        return (
            replace(s, hr_fed_at=fed, hr_action=None) if s.hr_action is not None or fed != s.hr_fed_at else s
        )
    grid, grid_i = rs.grid, (ri.grid if ri is not None else None)
    tuning = s.settings.hr_tuning
    ease = ease_off(
        now, bpm, s.limits.ceiling_bpm, s.hr_ease_at, s.speed.wanted,
        s.incline.wanted if grid_i is not None else None, grid.minimum,
        max(grid_i.minimum, 0.0) if grid_i is not None else 0.0,
        tuning.step_for(HrAdjust.SPEED, grid.step),
        tuning.step_for(HrAdjust.INCLINE, grid_i.step if grid_i is not None else 0.0), tuning,
        show_speed=lambda v: format_speed(v, s.settings.units),
    )  # fmt: skip
    above = bpm > s.limits.ceiling_bpm
    if ease is None:
        action = HrAction.CEILING if above else None
        return replace(s, hr_fed_at=fed, hr_action=action)
    q = Quantity.INCLINE if ease.adjust is HrAdjust.INCLINE else Quantity.SPEED
    a = s.axis(q)
    if a.console is not None:
        a = replace(a, console=ease.value)
    else:
        a = replace(a, override=ease.value - _planned(seg, q, seg_fraction(s, now, seg)))
    s = s.with_axis(a)
    _emit(
        out, EventKind.HEART_RATE, ease.message, action=HrAction.CEILING.value, bpm=bpm, value=ease.value,
        adjust=ease.adjust.value,
    )  # fmt: skip
    return replace(s, hr_fed_at=fed, hr_ease_at=now, hr_action=HrAction.CEILING)


def _hr_override(
    s: EngineState, now: float, delta: float, loop: HrLoop, r: Range, out: list[Action]
) -> EngineState:
    """The walker's +/- on the axis the heart-rate loop moves: a new working point, kept."""
    q = r.quantity
    current = r.hold(loop.value)
    target = r.clamp(current + delta).value
    shown = q.shown(target, s.settings.units)
    if abs(target - current) < 1e-9 and delta != 0:
        note = f"{q.label} stays {shown}: the {'top' if delta > 0 else 'bottom'} of what is allowed."
        if note != s.edge_note:
            _emit(out, EventKind.CLAMPED, note, **{q.key: target})
        return replace(s, edge_note=note)
    _emit(
        out,
        EventKind.OVERRIDE,
        f"{q.label} {shown} (heart rate holds from there).",
        **{q.key: target},
        hr=True,
    )
    return replace(s, edge_note=None, hr_loop=loop.moved_to(target, now))


def _hr_console(s: EngineState, now: float) -> EngineState:
    """A console change on the axis the heart-rate loop moves becomes its working point."""
    for q in (Quantity.SPEED, Quantity.INCLINE):
        a = s.axis(q)
        loop = _hr_loop(s, q)
        if loop is not None and a.console is not None:
            return replace(s.with_axis(replace(a, console=None)), hr_loop=loop.moved_to(a.console, now))
    return s
