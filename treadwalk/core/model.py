"""The data contracts every layer shares (DESIGN.md "Data contracts"). Stdlib only.

- ``TreadmillState``: what the machine reports; ``None`` means it does not report it.
- ``Capabilities``: what the machine accepts (speed/incline grids, feature names, identity).
- ``MachineEvent``: what the machine did on its own (console buttons, safety key, control lost,
  link state) as typed values.
- ``Plan``/``PlanSegment``/``Cue``: a profile flattened for playing (repeats expanded, units
  resolved to km/h, percent, seconds, metres). ``profile`` builds it; ``engine`` plays it;
  ``dashboard`` draws it.
- ``Command``: what the walker (keys) or a remote (MQTT) asks of a running session.
- ``SessionSnapshot``/``SessionEvent``: what the engine tells every observer. Immutable.
- ``Observer``: the one interface of the dashboard, recorder and telemetry towards the engine.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .units import Grid

__all__ = [
    "BeltState",
    "Capabilities",
    "Command",
    "CommandKind",
    "CommandSource",
    "ConnectionChanged",
    "ConnectionState",
    "ControlLost",
    "Cue",
    "EventKind",
    "HrAdjust",
    "HrHold",
    "Limits",
    "MachineEvent",
    "MachineStarted",
    "MachineStopped",
    "Observer",
    "Phase",
    "Plan",
    "PlanSegment",
    "SegmentKind",
    "SessionEvent",
    "SessionSnapshot",
    "StopReason",
    "TargetChanged",
    "TreadmillState",
]


# ---------------------------------------------------------------------------------------------
# The machine


class BeltState(enum.StrEnum):
    UNKNOWN = "unknown"
    STOPPED = "stopped"
    RUNNING = "running"
    PAUSED = "paused"


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CONTROL_LOST = "control_lost"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class TreadmillState:
    """The latest values the machine reported, merged across notifications.

    ``at`` is the clock time (``Clock.now()``) of the newest value. A field is ``None`` when
    the machine does not report it (never 0 as a stand-in).
    """

    at: float = 0.0
    speed_kmh: float | None = None
    incline_pct: float | None = None
    distance_m: float | None = None
    elapsed_s: float | None = None
    energy_kcal: float | None = None
    heart_rate_bpm: int | None = None
    steps: int | None = None
    avg_speed_kmh: float | None = None
    elevation_gain_m: float | None = None
    remaining_s: float | None = None
    power_w: float | None = None
    belt: BeltState = BeltState.UNKNOWN
    target_speed_kmh: float | None = None
    target_incline_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a machine accepts and reports. ``incline`` is None when incline cannot be set."""

    speed: Grid
    incline: Grid | None
    features: frozenset[str] = frozenset()
    targets: frozenset[str] = frozenset()
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """The walker's own caps (``--max-speed``, ``--max-incline``, config) and change rates."""

    max_speed_kmh: float | None = None
    max_incline_pct: float | None = None
    # At most this much change per second in a commanded target (ramps and keys alike).
    max_speed_step_kmh_per_s: float = 2.0
    max_incline_step_pct_per_s: float = 2.0
    # Above it the heart-rate controller eases off at once, on every segment (safety rule 6).
    ceiling_bpm: float | None = None


@dataclass(frozen=True, slots=True)
class MachineStopped:
    """The machine stopped or paused on its own: a console button or the safety key."""

    at: float
    paused: bool  # True: paused (may resume); False: stopped
    by: str  # "user" (console button), "safety_key", "unknown"


@dataclass(frozen=True, slots=True)
class MachineStarted:
    """The walker started or resumed the belt on the console."""

    at: float


@dataclass(frozen=True, slots=True)
class TargetChanged:
    """A target changed on the machine (console buttons, or an echo of our own write)."""

    at: float
    speed_kmh: float | None = None
    incline_pct: float | None = None
    by_us: bool = False


@dataclass(frozen=True, slots=True)
class ControlLost:
    """FTMS status 0xFF: another app or the console took control. ``regained`` after a re-request."""

    at: float
    regained: bool = False


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    at: float
    state: ConnectionState
    detail: str = ""


MachineEvent = MachineStopped | MachineStarted | TargetChanged | ControlLost | ConnectionChanged


# ---------------------------------------------------------------------------------------------
# What is played


class SegmentKind(enum.StrEnum):
    """What a segment is for: shown, summed per kind, and written to FIT/TCX laps."""

    WARMUP = "warmup"
    WORK = "work"
    RECOVERY = "recovery"
    COOLDOWN = "cooldown"


class HrAdjust(enum.StrEnum):
    """What a heart-rate segment moves to hold its zone."""

    SPEED = "speed"
    INCLINE = "incline"


@dataclass(frozen=True, slots=True)
class HrHold:
    """A segment that holds heart rate: ``low_bpm``-``high_bpm`` (``zone`` names it when it came
    from the walker's zones; ``None`` bounds: a zone not yet resolved against the config), by
    moving ``adjust`` from the segment's own speed/incline within ``minimum``-``maximum`` (km/h or
    %; the walker's caps and the machine's range apply on top, when playing)."""

    adjust: HrAdjust
    minimum: float
    maximum: float
    zone: int | None = None
    low_bpm: float | None = None
    high_bpm: float | None = None

    @property
    def resolved(self) -> bool:
        return self.low_bpm is not None and self.high_bpm is not None

    @property
    def label(self) -> str:
        """``zone 2`` or ``110-125 bpm`` (with the bpm when both are known)."""
        low, high = self.low_bpm, self.high_bpm
        bpm = f"{round(low)}-{round(high)} bpm" if low is not None and high is not None else ""
        if self.zone is None:
            return bpm
        return f"zone {self.zone}" + (f" ({bpm})" if bpm else "")


@dataclass(frozen=True, slots=True)
class Cue:
    """A short form/stride text shown at an offset into its segment (seconds, or metres for
    distance segments)."""

    text: str
    at_s: float | None = None
    at_m: float | None = None


OPEN_ESTIMATE_S = 60.0  # what an open segment counts for in plan totals and charts


@dataclass(frozen=True, slots=True)
class PlanSegment:
    """One segment to play. Exactly one of ``duration_s``/``distance_m`` is set, or neither
    when ``open``: the segment plays until the walker presses ``n`` (skip), as a watch's
    lap-button step (counted as ``OPEN_ESTIMATE_S`` in plan totals and charts).

    A ramp goes linearly from ``speed_kmh``/``incline_pct`` to ``end_speed_kmh``/
    ``end_incline_pct`` across the segment; ``None`` ends mean steady.
    """

    name: str
    kind: SegmentKind
    speed_kmh: float
    incline_pct: float = 0.0
    duration_s: float | None = None
    distance_m: float | None = None
    end_speed_kmh: float | None = None
    end_incline_pct: float | None = None
    cues: tuple[Cue, ...] = ()
    repeat: str | None = None  # e.g. "2/4" when the segment comes from a repeat
    hr: HrHold | None = None  # the segment holds heart rate (speed/incline are where it starts)
    open: bool = False  # plays until skipped (n, or MQTT skip)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, SegmentKind):  # "work" from a caller's own code: the enum
            object.__setattr__(self, "kind", SegmentKind(self.kind))

    def speed_at(self, fraction: float) -> float:
        if self.end_speed_kmh is None:
            return self.speed_kmh
        f = min(max(fraction, 0.0), 1.0)
        return self.speed_kmh + (self.end_speed_kmh - self.speed_kmh) * f

    def incline_at(self, fraction: float) -> float:
        if self.end_incline_pct is None:
            return self.incline_pct
        f = min(max(fraction, 0.0), 1.0)
        return self.incline_pct + (self.end_incline_pct - self.incline_pct) * f

    @property
    def mean_speed_kmh(self) -> float:
        return (
            self.speed_kmh + (self.end_speed_kmh if self.end_speed_kmh is not None else self.speed_kmh)
        ) / 2

    @property
    def mean_incline_pct(self) -> float:
        end = self.end_incline_pct if self.end_incline_pct is not None else self.incline_pct
        return (self.incline_pct + end) / 2

    @property
    def estimated_duration_s(self) -> float:
        if self.duration_s is not None:
            return self.duration_s
        if self.open:
            return OPEN_ESTIMATE_S
        assert self.distance_m is not None
        v = max(self.mean_speed_kmh, 0.1) / 3.6
        return self.distance_m / v

    @property
    def estimated_distance_m(self) -> float:
        if self.distance_m is not None:
            return self.distance_m
        return self.mean_speed_kmh / 3.6 * self.estimated_duration_s

    @property
    def ascent_m(self) -> float:
        return self.estimated_distance_m * max(self.mean_incline_pct, 0.0) / 100.0


@dataclass(frozen=True, slots=True)
class Plan:
    """A profile, flattened: repeats expanded, every unit resolved."""

    name: str
    segments: tuple[PlanSegment, ...]
    description: str = ""
    intent: str = "walking"  # walking | running: the recorded sport, never guessed from speed
    tags: tuple[str, ...] = ()
    source: str | None = None  # file it came from

    @property
    def duration_s(self) -> float:
        return sum(s.estimated_duration_s for s in self.segments)

    @property
    def distance_m(self) -> float:
        return sum(s.estimated_distance_m for s in self.segments)

    @property
    def ascent_m(self) -> float:
        return sum(s.ascent_m for s in self.segments)

    @property
    def max_speed_kmh(self) -> float:
        return max((max(s.speed_kmh, s.end_speed_kmh or 0.0) for s in self.segments), default=0.0)

    @property
    def max_incline_pct(self) -> float:
        return max((max(s.incline_pct, s.end_incline_pct or -100.0) for s in self.segments), default=0.0)


# ---------------------------------------------------------------------------------------------
# The session


class Phase(enum.StrEnum):
    CONNECTING = "connecting"
    READY = "ready"
    COUNTDOWN = "countdown"
    RUNNING = "running"
    PAUSED = "paused"
    COOLDOWN = "cooldown"
    FINISHED = "finished"
    ABORTED = "aborted"


class StopReason(enum.StrEnum):
    FINISHED = "finished"
    USER = "user"
    MACHINE = "machine"
    CONNECTION_LOST = "connection_lost"
    ERROR = "error"


class CommandKind(enum.StrEnum):
    START = "start"  # leave READY: only from a local key or `run --yes`, never from MQTT
    PAUSE = "pause"
    RESUME = "resume"
    TOGGLE_PAUSE = "toggle_pause"
    SPEED = "speed"  # value: delta km/h (+/-)
    INCLINE = "incline"  # value: delta percent
    SKIP = "skip"
    EXTEND = "extend"  # value: seconds (or metres for a distance segment)
    STOP = "stop"  # cool-down (if configured) then stop
    EMERGENCY_STOP = "emergency_stop"  # stop the belt now


class CommandSource(enum.StrEnum):
    """Who asked. Safety rule 1 hangs on it: a remote never starts or resumes a standing belt."""

    KEYBOARD = "keyboard"  # the walker's keys on the machine running treadwalk
    SCRIPT = "script"  # `run --yes`, or a program embedding treadwalk
    SIGNAL = "signal"  # Ctrl+C, SIGTERM
    MQTT = "mqtt"  # a remote over the broker
    WEB = "web"  # the second screen (phone or tablet)

    @property
    def remote(self) -> bool:
        """A remote may pause, stop, change targets, skip; it never starts or resumes the belt."""
        return self in (CommandSource.MQTT, CommandSource.WEB)


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    value: float | None = None
    source: CommandSource = CommandSource.KEYBOARD


class EventKind(enum.StrEnum):
    """What a ``SessionEvent`` is about (recorded, shown, published: the values are stable)."""

    PHASE = "phase"  # the session's phase changed (data: phase)
    SEGMENT = "segment"  # a segment began (data: index, name, segment_kind)
    CUE = "cue"  # a form/stride cue fired
    OVERRIDE = "override"  # the walker's +/- or ]/[
    PAUSE = "pause"
    RESUME = "resume"
    CONSOLE = "console"  # the treadmill's own buttons
    DISCONNECT = "disconnect"
    RECONNECT = "reconnect"
    CONTROL_LOST = "control_lost"
    CLAMPED = "clamped"  # a target was held back by a cap or the machine's range
    COMMAND = "command"  # skip, extend (data: command, source)
    STOP = "stop"  # the session ended (data: reason, phase)
    WARNING = "warning"
    HEART_RATE = "heart_rate"  # the heart-rate controller moved a target, or holds, and why
    LOG = "log"  # a log record shown on the dashboard (never from the engine)
    RECORDING = "recording"  # from the recorder: the store failed or recovered (data: saved, fallback)


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """Something that happened in a session, for the record, the dashboard and MQTT.

    ``kind`` is an ``EventKind``; ``data`` holds JSON-able values only.
    """

    at: float
    wall: float
    kind: EventKind
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """Everything an observer may show, at one moment. Immutable; observers read only this."""

    at: float
    wall: float
    plan: Plan
    phase: Phase
    connection: ConnectionState = ConnectionState.CONNECTING
    segment_index: int | None = None
    segment_elapsed_s: float = 0.0
    segment_remaining_s: float | None = None
    segment_remaining_m: float | None = None  # distance segments
    segment_progress: float = 0.0  # 0..1
    segment_extra: float = 0.0  # what `e` added to the segment: seconds, or metres on a distance segment
    session_elapsed_s: float = 0.0  # moving time, pauses excluded
    session_remaining_s: float | None = None
    target_speed_kmh: float | None = None
    target_incline_pct: float | None = None
    speed_override_kmh: float = 0.0  # the walker's +/- on top of the profile
    incline_override_pct: float = 0.0
    clamped: str | None = None  # why the last target was clamped, if it was
    machine: TreadmillState = field(default_factory=TreadmillState)
    distance_m: float = 0.0
    ascent_m: float = 0.0
    energy_kcal: float | None = None
    cue: str | None = None  # the cue showing now (most recent, for a few seconds)
    countdown_s: float | None = None
    paused_by: str | None = None  # "user" | "machine" | "remote"
    confirm_stop: bool = False  # q was pressed once: waiting for confirmation
    stop_reason: StopReason | None = None
    session_id: int | None = None
    units: str = "metric"  # metric | imperial | pace (display preference)
    message: str | None = None  # one line worth showing (warnings, advice)
    # heart rate: the latest fresh reading (None: no reading), its zone (0..5, when zones are known),
    # and on a segment that holds heart rate its range, the axis it moves and what the loop does
    hr_bpm: float | None = None
    hr_reason: str | None = None  # a source is there but has no reading: why (no_contact, stale, ...)
    hr_battery_pct: int | None = None
    hr_zone: int | None = None
    hr_low_bpm: float | None = None
    hr_high_bpm: float | None = None
    hr_adjust: str | None = None  # "speed" | "incline": the axis on auto
    hr_action: str | None = None  # an engine.heart.HrAction value: raise, lower, ceiling, ...

    @property
    def heart_rate_bpm(self) -> int | None:
        """The heart rate to show, record and publish: the engine's fresh reading from its
        source; with a source but no reading, None (safety rule 6: never a stale or a made-up
        number); with no source at all, the treadmill's own field when it is a real value
        (30-230 bpm: never its 0 or 255)."""
        if self.hr_bpm is not None:
            return round(self.hr_bpm)
        if self.hr_reason is not None:
            return None
        m = self.machine.heart_rate_bpm
        return m if m is not None and 30 <= m <= 230 else None

    @property
    def segment(self) -> PlanSegment | None:
        if self.segment_index is None or not (0 <= self.segment_index < len(self.plan.segments)):
            return None
        return self.plan.segments[self.segment_index]

    @property
    def next_segment(self) -> PlanSegment | None:
        i = 0 if self.segment_index is None else self.segment_index + 1
        return self.plan.segments[i] if i < len(self.plan.segments) else None


class Observer(Protocol):
    """Dashboard, recorder and telemetry implement this. Calls must not block; an exception is
    logged by the engine and never stops the belt logic."""

    def on_snapshot(self, snapshot: SessionSnapshot) -> None: ...

    def on_event(self, event: SessionEvent) -> None: ...
