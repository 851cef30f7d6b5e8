"""The functional core of the session engine: one pure ``step``. Imports stdlib, treadwalk.core and
the engine's own pure ``heart`` (the heart-rate controller) only.

``step(state, now, machine, inputs) -> (state, actions)`` takes the previous ``EngineState``, the
clock time, the machine's latest ``TreadmillState`` and what arrived since the last step (walker
commands, machine events, the link state, failures of earlier actions), and returns the next state
and the actions for the shell to carry out, in order (``StartBelt``, ``PauseBelt``, ``StopBelt``,
``SetSpeed``, ``SetIncline``, ``Emit``). No I/O, no clock reads: tested with plain numbers.

Time. Moving time is ``now - started_at - held time`` (held: paused by anyone, or the link is
reconnecting). A time segment ends at the moving time ``segment start + duration`` and the next one
starts exactly there, so a boundary's clock deadline is ``started_at + held + sum(durations)``:
absolute, shifted only by holds, never accumulated from late wake-ups. ``next_wakeup`` tells the
shell when to step again (a boundary, a cue, the countdown, or a tick of ``Settings.tick_s``).

Targets (safety rule 3). The wanted value (profile, ramp, walker override) is snapped onto the
machine's grid under the walker's caps (rounded, never truncated); the commanded value then moves
toward it through a token bucket: it may move at once by ``burst`` (one grid step, or a tick's
worth of rate), then at ``Limits.max_*_step_*_per_s``; every command is on the grid and inside the
caps. A clamp is kept in ``state.clamped`` and reported once per new reason as a ``clamped`` event.

Heart rate (safety rule 6). ``Inputs.heart`` carries the latest reading (``HeartReading``: bpm or None,
and when); a reading older than ``Settings.heart_fresh_s`` is no reading. On a segment that holds
heart rate the adjusted axis' wanted value is the controller's working point (``engine.heart``);
the walker's +/- and a console change move that point instead of being undone; the loop is fed
once per new reading and counts as settled only when no programmed ramp is playing. Above
``Limits.ceiling_bpm`` every segment eases off at once (``heart.ease_off``). Outside heart-rate
segments the reading is only shown (``SessionSnapshot.hr_*``).

Safety rules 1 and 4. The belt starts only from ``READY`` on a ``START`` (or ``TOGGLE_PAUSE``)
command whose source is not remote (``CommandSource.remote``: MQTT, the web page), or with ``Settings.auto_start`` (``run --yes``), and always
after the countdown. A remote cannot resume a paused belt either. The engine never undoes a stop
or pause the machine reports; a console target change is kept for the rest of the segment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

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
    Limits,
    MachineEvent,
    MachineStarted,
    MachineStopped,
    Phase,
    Plan,
    PlanSegment,
    SegmentKind,
    SessionSnapshot,
    StopReason,
    TargetChanged,
    TreadmillState,
)
from treadwalk.core.units import Grid, format_distance, format_duration, format_speed, snap
from treadwalk.core.zones import Zone, zone_of

from .heart import HrAction, HrBounds, HrLoop, HrTuning, ease_off, start_loop, step_loop

__all__ = [
    "Action",
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
_ECHO_S = 3.0  # a machine's echo of our own target arrives within this long
_ECHO_TOLERANCE = 0.05  # km/h or %: what unit conversions on the machine (mph) may shift
_ACTIVE = (Phase.RUNNING, Phase.COOLDOWN)


# ---------------------------------------------------------------------------------------------
# Settings, inputs, actions


@dataclass(frozen=True, slots=True)
class Settings:
    """How a session behaves. Defaults are what a walker expects; the CLI fills them from flags
    and the config file."""

    countdown_s: float = 3.0  # visible countdown before the belt starts (3-5 s)
    auto_start: bool = False  # `run --yes`: the flag is the explicit action; the countdown stays
    cooldown_s: float = 120.0  # easy walk before the belt stops (end of profile, or a first stop)
    cooldown_speed_kmh: float = 3.0  # never faster than the walker is going
    hold_overrides: str = "segment"  # "segment": +/- last until the segment ends; "session": to the end
    tick_s: float = 0.25  # step (and snapshot) at least this often: 4 Hz
    cue_show_s: float = 8.0  # how long a cue stays in the snapshot
    extend_s: float = 60.0  # EXTEND without a value, time segments
    extend_m: float = 100.0  # EXTEND without a value, distance segments
    retry_s: float = 2.0  # a failed target is sent again after this long
    link_timeout_s: float = 300.0  # backstop: a link "reconnecting" this long is lost
    units: str = "metric"
    # Clock seconds per real second (the clock's speedup). The countdown is the walker's time to
    # step on and get ready (safety rule 1): it lasts ``countdown_s`` REAL seconds at any speedup.
    time_scale: float = 1.0
    hr_tuning: HrTuning = field(default_factory=HrTuning)  # the heart-rate controller's timing and steps
    hr_zones: tuple[Zone, ...] = ()  # the walker's zones, to show which one a reading is in
    heart_fresh_s: float = 5.0  # a reading older than this is no reading (safety rule 6)

    def __post_init__(self) -> None:
        if not (self.time_scale >= 1.0 and math.isfinite(self.time_scale)):
            raise ValueError("time_scale must be a finite number of at least 1")
        if self.hold_overrides not in ("segment", "session"):
            raise ValueError('hold_overrides must be "segment" or "session"')
        if not self.tick_s > 0:
            raise ValueError("tick_s must be positive")
        if self.countdown_s < 0 or self.cooldown_s < 0:
            raise ValueError("countdown_s and cooldown_s must not be negative")


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
class HeartReading:
    """The engine's view of the heart-rate source: the latest reading (``bpm`` None: no reading,
    for whatever reason the source found) and its clock time."""

    bpm: float | None
    at: float
    reason: str | None = None  # why there is no reading (a core.heart.HrReason value)
    battery_pct: int | None = None  # the strap's battery, when it reports one


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
# State


@dataclass(frozen=True, slots=True)
class Axis:
    """One commanded quantity (speed or incline) and its rate limit."""

    value: float | None = None  # the rate-limited commanded value (on the grid)
    sent: float | None = None  # what the machine was last sent; None: send ``value`` again
    budget: float = 0.0  # token bucket: how far ``value`` may move right now
    retry_at: float = -math.inf
    wanted: float | None = None  # the goal: snapped and capped, before rate limiting
    recent: tuple[tuple[float, float], ...] = ()  # (time, value) sent in the last few seconds

    def sent_recently(self, value: float, now: float) -> bool:
        """Whether ``value`` is one of ours (a late echo of an earlier target is not the console)."""
        return any(now - t <= _ECHO_S and abs(v - value) <= _ECHO_TOLERANCE for t, v in self.recent)

    def sending(self, value: float, now: float) -> Axis:
        kept = tuple((t, v) for t, v in self.recent if now - t <= _ECHO_S)
        return replace(self, sent=value, recent=(*kept, (now, value)))


@dataclass(frozen=True, slots=True)
class EngineState:
    plan: Plan
    limits: Limits
    settings: Settings
    speed_grid: Grid | None = None
    incline_grid: Grid | None = None  # None: the machine cannot set incline
    phase: Phase = Phase.CONNECTING  # never PAUSED here: see ``paused_by``
    connection: ConnectionState = ConnectionState.CONNECTING
    last_now: float | None = None
    countdown_until: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    held_since: float | None = None
    held_total_s: float = 0.0
    paused_by: str | None = None  # user | machine | remote
    link_hold_since: float | None = None
    # the segment
    seg_index: int = 0
    seg_start_t: float = 0.0  # moving time
    seg_start_m: float = 0.0  # odometer
    seg_extra: float = 0.0  # seconds (time segments) or metres (distance segments) added by EXTEND
    cues_fired: frozenset[int] = frozenset()
    cue_text: str | None = None
    cue_until: float = -math.inf
    cooldown_start_t: float | None = None
    cooldown_len_s: float = 0.0
    cooldown_speed_kmh: float = 0.0
    cooldown_reason: StopReason = StopReason.FINISHED
    # the walker's and the console's overrides
    speed_override_kmh: float = 0.0
    incline_override_pct: float = 0.0
    console_speed_kmh: float | None = None
    console_incline_pct: float | None = None
    speed: Axis = Axis()
    incline: Axis = Axis()
    clamped: str | None = None
    edge_note: str | None = None  # the last "stays at the top/bottom" said for a key press
    # totals
    odometer_m: float = 0.0
    ascent_m: float = 0.0
    last_machine_distance_m: float | None = None
    max_speed_kmh: float = 0.0
    max_incline_pct: float = 0.0
    segments_completed: int = 0
    # the belt
    belt_commanded: bool = False  # we started it (so every exit commands a stop)
    auto_started: bool = False  # the one automatic countdown of ``Settings.auto_start`` happened
    last_belt: BeltState = BeltState.UNKNOWN
    stop_reason: StopReason | None = None
    message: str | None = None
    # heart rate
    heart: HeartReading | None = None
    hr_loop: HrLoop | None = None  # the controller of segment ``hr_loop_seg``
    hr_loop_seg: int = -1
    hr_fed_at: float = -math.inf  # the reading the loop last saw
    hr_ease_at: float = -math.inf  # the ceiling's last step outside heart-rate segments
    hr_action: HrAction | None = None

    @property
    def done(self) -> bool:
        return self.phase in (Phase.FINISHED, Phase.ABORTED)

    @property
    def held(self) -> bool:
        return self.held_since is not None

    @property
    def shown_phase(self) -> Phase:
        if self.paused_by is not None and not self.done:
            return Phase.PAUSED
        return self.phase

    @property
    def segment(self) -> PlanSegment | None:
        if self.phase is Phase.RUNNING and self.seg_index < len(self.plan.segments):
            return self.plan.segments[self.seg_index]
        return None


def initial_state(plan: Plan, limits: Limits, settings: Settings | None = None) -> EngineState:
    return EngineState(plan=plan, limits=limits, settings=settings or Settings())


def moving_s(s: EngineState, now: float) -> float:
    """Seconds the session has been moving (pauses and link holds excluded)."""
    if s.started_at is None:
        return 0.0
    t = now if s.ended_at is None else min(now, s.ended_at)
    held = (t - s.held_since) if s.held_since is not None else 0.0
    return max(0.0, t - s.started_at - s.held_total_s - held)


def _seg_len_s(seg: PlanSegment, extra: float) -> float | None:
    return None if seg.duration_s is None else seg.duration_s + extra


def _seg_len_m(seg: PlanSegment, extra: float) -> float | None:
    return None if seg.distance_m is None else seg.distance_m + extra


def _seg_fraction(s: EngineState, now: float, seg: PlanSegment) -> float:
    if seg.open:
        return 0.0  # no end to be a fraction of
    length_s = _seg_len_s(seg, s.seg_extra)
    if length_s is not None:
        return 1.0 if length_s <= 0 else (moving_s(s, now) - s.seg_start_t) / length_s
    length_m = _seg_len_m(seg, s.seg_extra)
    assert length_m is not None
    return 1.0 if length_m <= 0 else (s.odometer_m - s.seg_start_m) / length_m


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
        if speed is None and not s.held and s.phase in _ACTIVE:
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
        speed_grid=caps.speed,
        incline_grid=caps.incline,
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
    s: EngineState, now: float, by: str, out: list[Action], *, command: bool, message: str
) -> EngineState:
    if s.phase not in _ACTIVE or s.paused_by is not None:
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
                "machine",
                out,
                command=False,
                message=f"The treadmill paused ({_by(by)}): press space or start on the console to go on.",
            )
        case MachineStopped(paused=False, by=by):
            if s.phase is Phase.COUNTDOWN:
                return _cancel_countdown(
                    s, out, "The treadmill was stopped on the console: start again when ready."
                )
            if s.phase in _ACTIVE:
                return _finish(s, now, StopReason.MACHINE, f"The treadmill stopped ({_by(by)}).", out)
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


def _by(by: str) -> str:
    return {"user": "console", "safety_key": "safety key"}.get(by, "by itself")


def _cancel_countdown(s: EngineState, out: list[Action], message: str) -> EngineState:
    _emit(out, EventKind.PHASE, message, phase=Phase.READY.value)
    return replace(s, phase=Phase.READY, countdown_until=None, message=message)


def _console_target(
    s: EngineState, now: float, speed: float | None, incline: float | None, out: list[Action]
) -> EngineState:
    if s.phase is not Phase.RUNNING or s.paused_by is not None:
        return s
    if speed is not None and s.speed_grid is not None:
        speed = None if s.speed.sent_recently(speed, now) else snap(speed, s.speed_grid)
    if incline is not None:
        grid_i = s.incline_grid
        incline = None if grid_i is None or s.incline.sent_recently(incline, now) else snap(incline, grid_i)
    if speed is not None and speed > 0 and speed != s.speed.value:
        s = replace(s, console_speed_kmh=speed, speed=replace(s.speed, value=speed, sent=speed, wanted=speed))
        _emit(
            out,
            EventKind.CONSOLE,
            f"Speed set on the console: {format_speed(speed, s.settings.units)}, kept for this segment.",
            speed_kmh=speed,
        )
    if incline is not None and incline != s.incline.value:
        s = replace(
            s,
            console_incline_pct=incline,
            incline=replace(s.incline, value=incline, sent=incline, wanted=incline),
        )
        _emit(
            out,
            EventKind.CONSOLE,
            f"Incline set on the console: {incline:g} %, kept for this segment.",
            incline_pct=incline,
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
                s.phase in _ACTIVE
                and s.paused_by is None
                and machine.belt in (BeltState.STOPPED, BeltState.PAUSED)
            ):
                # the belt stopped while the link was down: never restarted by itself
                return _pause(
                    s,
                    now,
                    "machine",
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
        return _on_machine_event(s, now, machine, MachineStopped(now, paused=True, by="unknown"), out)
    if last is BeltState.RUNNING and belt is BeltState.STOPPED and s.paused_by is None:
        return _on_machine_event(s, now, machine, MachineStopped(now, paused=False, by="unknown"), out)
    if (
        belt is BeltState.RUNNING
        and last in (BeltState.PAUSED, BeltState.STOPPED)
        and s.paused_by is not None
    ):
        return _on_machine_event(s, now, machine, MachineStarted(now), out)
    return s


def _on_failure(s: EngineState, now: float, failure: Failure, out: list[Action]) -> EngineState:
    match failure.action:
        case StartBelt():
            return _finish(s, now, StopReason.ERROR, f"The treadmill did not start ({failure.error}).", out)
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
                "remote" if remote else "user",
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


def _clamp_to(value: float, grid: Grid, cap: float | None) -> float:
    """``value`` held inside what can be commanded: a +/- counts from the target the walker
    sees, so - at a cap (or on a ramp climbing past it) slows down at once."""
    upper = grid.maximum if cap is None else max(grid.minimum, min(grid.maximum, cap))
    return min(max(value, grid.minimum), upper)


def _override(s: EngineState, now: float, c: Command, out: list[Action]) -> EngineState:
    """A walker's +/- (speed) or ]/[ (incline): a step from what is commanded now, onto the grid
    and under the caps, held as an override of the profile (console values count as the start)."""
    seg = s.segment
    if seg is None or c.value is None or not math.isfinite(c.value):
        return s
    fraction = _seg_fraction(s, now, seg)
    speed = c.kind is CommandKind.SPEED
    grid = s.speed_grid if speed else s.incline_grid
    if grid is None:
        _emit(out, EventKind.WARNING, "This treadmill cannot set incline.")
        return s
    if (loop := _hr_loop(s, incline=not speed)) is not None:
        return _hr_override(s, now, c.value, loop, grid, speed=speed, out=out)
    planned = seg.speed_at(fraction) if speed else seg.incline_at(fraction)
    console = s.console_speed_kmh if speed else s.console_incline_pct
    held = s.speed_override_kmh if speed else s.incline_override_pct
    cap = s.limits.max_speed_kmh if speed else s.limits.max_incline_pct
    current = _clamp_to(console if console is not None else planned + held, grid, cap)
    target = snap(current + c.value, grid, cap=cap)
    override = target - planned
    if speed:
        shown = format_speed(target, s.settings.units)
        fields = {"speed_override_kmh": override, "console_speed_kmh": None}
        data: dict[str, float] = {"speed_kmh": target}
        name, key = "Speed", "override_kmh"
    else:
        shown = f"{target:g} %"
        fields = {"incline_override_pct": override, "console_incline_pct": None}
        data = {"incline_pct": target}
        name, key = "Incline", "override_pct"
    if abs(target - current) < 1e-9 and c.value != 0:
        # at the top (or bottom) already: not another override; said once, not at every press
        edge = "top" if c.value > 0 else "bottom"
        note = f"{name} stays {shown}: the {edge} of what is allowed."
        if note != s.edge_note:
            _emit(out, EventKind.CLAMPED, note, **data)
        return replace(s, edge_note=note, **fields)  # type: ignore[arg-type]
    _emit(out, EventKind.OVERRIDE, f"{name} {shown}.", **data, **{key: round(override, 3)})
    return replace(s, edge_note=None, **fields)  # type: ignore[arg-type]


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
    incline_grid = s.incline_grid
    incline_axis = Axis()
    if incline_grid is not None:
        # from where the machine stands, so a belt already at 5 % is not sent to 0 % first
        at = machine.incline_pct if machine.incline_pct is not None else 0.0
        incline_axis = Axis(value=snap(at, incline_grid), budget=_burst(s, incline=True))
    s = replace(
        s,
        phase=Phase.RUNNING,
        started_at=now,
        countdown_until=None,
        belt_commanded=True,
        speed=Axis(value=grid.minimum, budget=_burst(s, incline=False)),
        incline=incline_axis,
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
        speed_override_kmh=s.speed_override_kmh if keep else 0.0,
        incline_override_pct=s.incline_override_pct if keep else 0.0,
        console_speed_kmh=s.console_speed_kmh if keep else None,
        console_incline_pct=s.console_incline_pct if keep else None,
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
    grid = s.speed_grid
    assert grid is not None
    current = s.speed.value if s.speed.value is not None else grid.minimum
    speed = snap(min(s.settings.cooldown_speed_kmh, current), grid, cap=s.limits.max_speed_kmh)
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
        console_speed_kmh=None,
        console_incline_pct=None,
        # the cool-down is its own easy walk: the walker's +/- of the workout no longer apply
        speed_override_kmh=0.0,
        incline_override_pct=0.0,
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
    if s.held or s.phase not in _ACTIVE:
        return s
    t = moving_s(s, now)
    while s.phase is Phase.RUNNING:
        seg = s.plan.segments[s.seg_index] if s.seg_index < len(s.plan.segments) else None
        if seg is None:
            s = _next_segment(s, now, t, out, completed=False)
            break
        s = _fire_cues(s, now, t, seg, out)
        length_s = _seg_len_s(seg, s.seg_extra)
        if length_s is not None:
            end_t = s.seg_start_t + length_s
            if t < end_t - _EPS:
                break
            s = _next_segment(s, now, end_t, out, completed=True)  # starts at the deadline, not now
        elif seg.open:
            break  # until the walker skips it (n, or MQTT skip)
        else:
            length_m = _seg_len_m(seg, s.seg_extra)
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


def _burst(s: EngineState, *, incline: bool) -> float:
    grid = s.incline_grid if incline else s.speed_grid
    rate = s.limits.max_incline_step_pct_per_s if incline else s.limits.max_speed_step_kmh_per_s
    step_ = grid.step if grid is not None else 0.0
    return max(step_, rate * s.settings.tick_s)


def _want(s: EngineState, now: float, *, incline: bool) -> tuple[float | None, float | None]:
    """The raw wanted value (before snapping) and the console's value if it holds."""
    if s.phase is Phase.COOLDOWN:
        if incline:
            return 0.0, None
        return s.cooldown_speed_kmh, None
    seg = s.segment
    if seg is None:
        return None, None
    f = _seg_fraction(s, now, seg)
    if (loop := _hr_loop(s, incline=incline)) is not None:
        return loop.value, None  # the heart-rate controller's working point
    if incline:
        if s.console_incline_pct is not None:
            return s.console_incline_pct, s.console_incline_pct
        return seg.incline_at(f) + s.incline_override_pct, None
    if s.console_speed_kmh is not None:
        return s.console_speed_kmh, s.console_speed_kmh
    return seg.speed_at(f) + s.speed_override_kmh, None


def _clamp_reason(raw: float, grid: Grid, cap: float | None, *, incline: bool) -> str | None:
    """Why ``raw`` cannot be commanded as is (a stable text: one event per new reason)."""
    unit, flag, what = ("%", "--max-incline", "incline") if incline else ("km/h", "--max-speed", "speed")
    if cap is not None and raw > cap + 1e-6 and cap <= grid.maximum:
        return f"{what} held at your {flag} {cap:g} {unit}"
    if raw > grid.maximum + 1e-6:
        return f"{what} held at the treadmill's maximum {grid.maximum:g} {unit}"
    if raw < grid.minimum - 1e-6:
        return f"{what} raised to the treadmill's minimum {grid.minimum:g} {unit}"
    return None


def _slew(axis: Axis, wanted: float, grid: Grid, refill: float, burst: float) -> Axis:
    """Move ``axis.value`` toward ``wanted`` through the token bucket, staying on the grid."""
    budget = min(burst, axis.budget + refill)
    value = axis.value if axis.value is not None else wanted
    diff = wanted - value
    if abs(diff) < 1e-9:
        if axis.value == wanted and axis.budget == budget and axis.wanted == wanted:
            return axis  # steady: the common case, no new object
        return replace(axis, value=wanted, budget=budget, wanted=wanted)
    if grid.step > 0:
        steps_needed = round(abs(diff) / grid.step)
        steps_allowed = math.floor(budget / grid.step + 1e-9)
        if steps_needed == 0:  # less than half a step off (a value from elsewhere): onto the grid
            return replace(axis, value=wanted, budget=budget, wanted=wanted)
        n = min(steps_needed, steps_allowed)
        if n <= 0:
            return replace(axis, value=value, budget=budget, wanted=wanted)
        new = wanted if n == steps_needed else snap(value + math.copysign(n * grid.step, diff), grid)
        moved = abs(new - value)
    else:
        moved = min(abs(diff), budget)
        new = wanted if moved >= abs(diff) else value + math.copysign(moved, diff)
    return replace(axis, value=new, budget=max(0.0, budget - moved), wanted=wanted)


def _drive(s: EngineState, now: float, dt: float, machine: TreadmillState, out: list[Action]) -> EngineState:
    if s.done or s.phase not in _ACTIVE:
        return s
    speed_rate = s.limits.max_speed_step_kmh_per_s
    incline_rate = s.limits.max_incline_step_pct_per_s
    reasons: list[str] = []
    grid = s.speed_grid
    assert grid is not None
    can_send = s.held_since is None and s.connection is ConnectionState.CONNECTED
    raw, console = _want(s, now, incline=False)
    speed = s.speed
    if raw is not None:
        wanted = snap(raw, grid, cap=None if console is not None else s.limits.max_speed_kmh)
        if console is None and (why := _clamp_reason(raw, grid, s.limits.max_speed_kmh, incline=False)):
            reasons.append(why)
        if can_send:
            speed = _slew(speed, wanted, grid, speed_rate * dt, _burst(s, incline=False))
        else:
            speed = replace(
                speed, wanted=wanted, budget=min(_burst(s, incline=False), speed.budget + speed_rate * dt)
            )
    incline = s.incline
    grid_i = s.incline_grid
    raw_i, console_i = _want(s, now, incline=True)
    if grid_i is not None and raw_i is not None:
        wanted_i = snap(raw_i, grid_i, cap=None if console_i is not None else s.limits.max_incline_pct)
        if console_i is None and (
            why := _clamp_reason(raw_i, grid_i, s.limits.max_incline_pct, incline=True)
        ):
            reasons.append(why)
        if can_send:
            incline = _slew(incline, wanted_i, grid_i, incline_rate * dt, _burst(s, incline=True))
        else:
            incline = replace(
                incline,
                wanted=wanted_i,
                budget=min(_burst(s, incline=True), incline.budget + incline_rate * dt),
            )
    if can_send:
        if speed.value is not None and speed.value != speed.sent and now >= speed.retry_at:
            out.append(SetSpeed(speed.value))
            speed = speed.sending(speed.value, now)
        if (
            grid_i is not None
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
# Reading the state


def next_wakeup(s: EngineState, now: float) -> float:
    """When the shell should step again, at the latest (it also steps on every input)."""
    if s.done:
        return math.inf
    tick = now + s.settings.tick_s
    if s.phase is Phase.COUNTDOWN and s.countdown_until is not None:
        return min(tick, s.countdown_until)
    if s.held or s.phase not in _ACTIVE or s.started_at is None:
        return tick
    base = s.started_at + s.held_total_s  # clock time = base + moving time
    wake = tick
    if s.cue_until > now:
        wake = min(wake, s.cue_until)
    if s.phase is Phase.COOLDOWN and s.cooldown_start_t is not None:
        return min(wake, base + s.cooldown_start_t + s.cooldown_len_s)
    seg = s.segment
    if seg is None:
        return wake
    length_s = _seg_len_s(seg, s.seg_extra)
    if length_s is not None:
        wake = min(wake, base + s.seg_start_t + length_s)
    for i, cue in enumerate(seg.cues):
        if i not in s.cues_fired and cue.at_s is not None:
            wake = min(wake, base + s.seg_start_t + cue.at_s)
    return max(wake, now)


def snapshot(
    s: EngineState, now: float, wall: float, machine: TreadmillState, *, session_id: int | None = None
) -> SessionSnapshot:
    t = moving_s(s, now)
    seg = s.segment
    seg_elapsed = 0.0
    seg_remaining_s: float | None = None
    seg_remaining_m: float | None = None
    progress = 0.0
    rest_after = sum(x.estimated_duration_s for x in s.plan.segments[s.seg_index + 1 :])
    cooldown_after = (
        s.settings.cooldown_s
        if not (s.plan.segments and s.plan.segments[-1].kind is SegmentKind.COOLDOWN)
        else 0.0
    )
    session_remaining: float | None = None
    index: int | None = None
    if seg is not None:
        index = s.seg_index
        seg_elapsed = t - s.seg_start_t
        progress = min(max(_seg_fraction(s, now, seg), 0.0), 1.0)
        length_s = _seg_len_s(seg, s.seg_extra)
        if length_s is not None:
            seg_remaining_s = max(0.0, length_s - seg_elapsed)
        elif seg.open:
            seg_remaining_s = None  # until skipped
        else:
            length_m = _seg_len_m(seg, s.seg_extra) or 0.0
            seg_remaining_m = max(0.0, length_m - (s.odometer_m - s.seg_start_m))
            v = max(machine.speed_kmh or seg.mean_speed_kmh, 0.5) / 3.6
            seg_remaining_s = seg_remaining_m / v
        session_remaining = (seg_remaining_s or 0.0) + rest_after + cooldown_after
    elif s.phase is Phase.COOLDOWN and s.cooldown_start_t is not None:
        seg_elapsed = t - s.cooldown_start_t
        seg_remaining_s = max(0.0, s.cooldown_len_s - seg_elapsed)
        progress = 1.0 if s.cooldown_len_s <= 0 else min(1.0, seg_elapsed / s.cooldown_len_s)
        session_remaining = seg_remaining_s
    elif s.phase in (Phase.CONNECTING, Phase.READY, Phase.COUNTDOWN):
        session_remaining = s.plan.duration_s + cooldown_after
    countdown = None
    if s.phase is Phase.COUNTDOWN and s.countdown_until is not None:
        countdown = max(0.0, s.countdown_until - now) / s.settings.time_scale  # real seconds
    active = s.phase in _ACTIVE
    return SessionSnapshot(
        at=now,
        wall=wall,
        plan=s.plan,
        phase=s.shown_phase,
        connection=s.connection,
        segment_index=index,
        segment_elapsed_s=max(0.0, seg_elapsed),
        segment_remaining_s=seg_remaining_s,
        segment_remaining_m=seg_remaining_m,
        segment_progress=progress,
        segment_extra=s.seg_extra if seg is not None else 0.0,
        session_elapsed_s=t,
        session_remaining_s=session_remaining,
        target_speed_kmh=s.speed.wanted if active else None,
        target_incline_pct=s.incline.wanted if active else None,
        speed_override_kmh=round(s.speed_override_kmh, 6),
        incline_override_pct=round(s.incline_override_pct, 6),
        clamped=s.clamped,
        machine=machine,
        distance_m=s.odometer_m,
        ascent_m=s.ascent_m,
        energy_kcal=machine.energy_kcal,
        cue=s.cue_text if now < s.cue_until else None,
        countdown_s=countdown,
        paused_by=s.paused_by,
        stop_reason=s.stop_reason,
        session_id=session_id,
        units=s.settings.units,
        message=s.message,
        **_hr_view(s, now),
    )


# ---------------------------------------------------------------------------------------------
# Heart rate: the hooks into ``engine.heart``


def _fresh_bpm(s: EngineState, now: float) -> float | None:
    h = s.heart
    if h is None or h.bpm is None or now - h.at > s.settings.heart_fresh_s + _EPS:
        return None
    return h.bpm


def _hr_hold(s: EngineState) -> HrHold | None:
    seg = s.segment
    if seg is None or seg.hr is None or not seg.hr.resolved:
        return None
    if seg.hr.adjust is HrAdjust.INCLINE and s.incline_grid is None:
        return None  # the machine cannot set incline: the segment plays as written
    return seg.hr


def _hr_loop(s: EngineState, *, incline: bool) -> HrLoop | None:
    """The working point of this segment's controller, when it moves the asked axis."""
    hold = _hr_hold(s)
    if hold is None or s.hr_loop is None or s.hr_loop_seg != s.seg_index:
        return None
    return s.hr_loop if (hold.adjust is HrAdjust.INCLINE) == incline else None


def _hr_bounds(s: EngineState, hold: HrHold) -> HrBounds | None:
    """The segment's bounds inside the machine's range and the walker's caps (safety rule 3)."""
    by_incline = hold.adjust is HrAdjust.INCLINE
    grid = s.incline_grid if by_incline else s.speed_grid
    if grid is None:
        return None
    cap = s.limits.max_incline_pct if by_incline else s.limits.max_speed_kmh
    top = _clamp_to(hold.maximum, grid, cap)
    low = min(_clamp_to(hold.minimum, grid, cap), top)
    floor = max(grid.minimum, 0.0) if by_incline else grid.minimum
    step_ = s.settings.hr_tuning.step_for(hold.adjust, grid.step)
    return HrBounds(snap(low, grid), snap(top, grid, cap=cap), step_, min(floor, snap(low, grid)))


def _heart(s: EngineState, now: float, out: list[Action]) -> EngineState:
    if s.done or s.phase is not Phase.RUNNING or s.held or s.paused_by is not None:
        return s
    bpm = _fresh_bpm(s, now)
    fresh_at = s.heart.at if s.heart is not None and bpm is not None else None
    hold = _hr_hold(s)
    seg = s.segment
    if hold is None or seg is None:
        if fresh_at is not None and fresh_at <= s.hr_fed_at:
            return s  # nothing new from the strap since the last look
        return _hr_ease_off(s, now, bpm, out)
    bounds = _hr_bounds(s, hold)
    if bounds is None:
        return s
    by_incline = hold.adjust is HrAdjust.INCLINE
    loop = s.hr_loop
    if loop is None or s.hr_loop_seg != s.seg_index:
        begin = seg.incline_pct if by_incline else seg.speed_kmh
        loop = start_loop(min(max(begin, bounds.minimum), bounds.maximum), now)
        s = replace(s, hr_loop=loop, hr_loop_seg=s.seg_index, hr_action=None)
    if fresh_at is not None and fresh_at <= s.hr_fed_at:
        return s  # nothing new from the strap since the last look
    axis, other = (s.incline, s.speed) if by_incline else (s.speed, s.incline)
    ramping = seg.end_speed_kmh if by_incline else seg.end_incline_pct
    settled = (
        (ramping is None or _seg_fraction(s, now, seg) >= 1.0)
        and axis.value is not None
        and axis.value == axis.wanted
        and other.value == other.wanted
    )
    units = s.settings.units

    def show(v: float) -> str:
        return f"{v:g} %" if by_incline else format_speed(v, units)

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
    seg, grid, grid_i = s.segment, s.speed_grid, s.incline_grid
    fed = s.heart.at if s.heart is not None and bpm is not None else s.hr_fed_at
    if seg is None or grid is None or bpm is None or s.limits.ceiling_bpm is None:
        return (
            replace(s, hr_fed_at=fed, hr_action=None) if s.hr_action is not None or fed != s.hr_fed_at else s
        )
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
    f = _seg_fraction(s, now, seg)
    if ease.adjust is HrAdjust.INCLINE:
        if s.console_incline_pct is not None:
            s = replace(s, console_incline_pct=ease.value)
        else:
            s = replace(s, incline_override_pct=ease.value - seg.incline_at(f))
    elif s.console_speed_kmh is not None:
        s = replace(s, console_speed_kmh=ease.value)
    else:
        s = replace(s, speed_override_kmh=ease.value - seg.speed_at(f))
    _emit(
        out, EventKind.HEART_RATE, ease.message, action=HrAction.CEILING.value, bpm=bpm, value=ease.value,
        adjust=ease.adjust.value,
    )  # fmt: skip
    return replace(s, hr_fed_at=fed, hr_ease_at=now, hr_action=HrAction.CEILING)


def _hr_override(
    s: EngineState, now: float, delta: float, loop: HrLoop, grid: Grid, *, speed: bool, out: list[Action]
) -> EngineState:
    """The walker's +/- on the axis the heart-rate loop moves: a new working point, kept."""
    cap = s.limits.max_speed_kmh if speed else s.limits.max_incline_pct
    current = _clamp_to(loop.value, grid, cap)
    target = snap(current + delta, grid, cap=cap)
    name = "Speed" if speed else "Incline"
    shown = format_speed(target, s.settings.units) if speed else f"{target:g} %"
    data = {"speed_kmh": target} if speed else {"incline_pct": target}
    if abs(target - current) < 1e-9 and delta != 0:
        note = f"{name} stays {shown}: the {'top' if delta > 0 else 'bottom'} of what is allowed."
        if note != s.edge_note:
            _emit(out, EventKind.CLAMPED, note, **data)
        return replace(s, edge_note=note)
    _emit(out, EventKind.OVERRIDE, f"{name} {shown} (heart rate holds from there).", **data, hr=True)
    return replace(s, edge_note=None, hr_loop=loop.moved_to(target, now))


def _hr_console(s: EngineState, now: float) -> EngineState:
    """A console change on the axis the heart-rate loop moves becomes its working point."""
    loop = _hr_loop(s, incline=False)
    if loop is not None and s.console_speed_kmh is not None:
        return replace(s, hr_loop=loop.moved_to(s.console_speed_kmh, now), console_speed_kmh=None)
    loop = _hr_loop(s, incline=True)
    if loop is not None and s.console_incline_pct is not None:
        return replace(s, hr_loop=loop.moved_to(s.console_incline_pct, now), console_incline_pct=None)
    return s


def _hr_view(s: EngineState, now: float) -> dict[str, Any]:
    bpm = _fresh_bpm(s, now)
    hold = _hr_hold(s)
    h = s.heart
    reason = None
    if h is not None and bpm is None:
        reason = h.reason or ("stale" if h.bpm is not None else None)
    return {
        "hr_bpm": bpm,
        "hr_reason": reason,
        "hr_battery_pct": h.battery_pct if h is not None else None,
        "hr_zone": zone_of(bpm, s.settings.hr_zones),
        "hr_low_bpm": hold.low_bpm if hold is not None else None,
        "hr_high_bpm": hold.high_bpm if hold is not None else None,
        "hr_adjust": hold.adjust.value if hold is not None else None,
        "hr_action": s.hr_action.value if s.hr_action is not None else None,
    }
