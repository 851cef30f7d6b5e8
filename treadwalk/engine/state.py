"""The engine's state: ``Settings``, ``EngineState`` and the time helpers every part reads.
Stdlib, treadwalk.core and the engine's pure ``heart`` only.

Time. Moving time is ``now - started_at - held time`` (held: paused by anyone, or the link is
reconnecting). A time segment ends at the moving time ``segment start + duration`` and the next one
starts exactly there, so a boundary's clock deadline is ``started_at + held + sum(durations)``:
absolute, shifted only by holds, never accumulated from late wake-ups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from treadwalk.core.axis import Quantity
from treadwalk.core.model import (
    BeltState,
    ConnectionState,
    HrAdjust,
    HrHold,
    Limits,
    PausedBy,
    Phase,
    Plan,
    PlanSegment,
    StopReason,
)
from treadwalk.core.units import Grid
from treadwalk.core.zones import Zone

from .heart import HrAction, HrLoop, HrTuning
from .targets import Axis

__all__ = [
    "ACTIVE",
    "EngineState",
    "HeartReading",
    "Settings",
    "fresh_bpm",
    "hr_hold",
    "initial_state",
    "moving_s",
    "seg_fraction",
    "seg_len_m",
    "seg_len_s",
]

ACTIVE = (Phase.RUNNING, Phase.COOLDOWN)
_SPEED = Axis(Quantity.SPEED)  # before connecting: no range yet
_INCLINE = Axis(Quantity.INCLINE)


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
class HeartReading:
    """The engine's view of the heart-rate source: the latest reading (``bpm`` None: no reading,
    for whatever reason the source found) and its clock time."""

    bpm: float | None
    at: float
    reason: str | None = None  # why there is no reading (a core.heart.HrReason value)
    battery_pct: int | None = None  # the strap's battery, when it reports one


@dataclass(frozen=True, slots=True)
class EngineState:
    plan: Plan
    limits: Limits
    settings: Settings
    phase: Phase = Phase.CONNECTING  # never PAUSED here: see ``paused_by``
    connection: ConnectionState = ConnectionState.CONNECTING
    last_now: float | None = None
    countdown_until: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    held_since: float | None = None
    held_total_s: float = 0.0
    paused_by: PausedBy | None = None
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
    # the two targets, with the walker's and the console's overrides
    speed: Axis = _SPEED
    incline: Axis = _INCLINE
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

    def axis(self, q: Quantity) -> Axis:
        return self.speed if q is Quantity.SPEED else self.incline

    def with_axis(self, axis: Axis) -> EngineState:
        if axis.quantity is Quantity.SPEED:
            return self if axis is self.speed else replace(self, speed=axis)
        return self if axis is self.incline else replace(self, incline=axis)

    @property
    def speed_grid(self) -> Grid | None:
        return self.speed.range.grid if self.speed.range is not None else None

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


def seg_len_s(seg: PlanSegment, extra: float) -> float | None:
    return None if seg.duration_s is None else seg.duration_s + extra


def seg_len_m(seg: PlanSegment, extra: float) -> float | None:
    return None if seg.distance_m is None else seg.distance_m + extra


def seg_fraction(s: EngineState, now: float, seg: PlanSegment) -> float:
    if seg.open:
        return 0.0  # no end to be a fraction of
    length_s = seg_len_s(seg, s.seg_extra)
    if length_s is not None:
        return 1.0 if length_s <= 0 else (moving_s(s, now) - s.seg_start_t) / length_s
    length_m = seg_len_m(seg, s.seg_extra)
    assert length_m is not None
    return 1.0 if length_m <= 0 else (s.odometer_m - s.seg_start_m) / length_m


_EPS = 1e-9


def fresh_bpm(s: EngineState, now: float) -> float | None:
    """The latest reading, if it is fresh enough to act on (safety rule 6)."""
    h = s.heart
    if h is None or h.bpm is None or now - h.at > s.settings.heart_fresh_s + _EPS:
        return None
    return h.bpm


def hr_hold(s: EngineState) -> HrHold | None:
    """The heart-rate range this segment holds, if it holds one and the machine can move its axis."""
    seg = s.segment
    if seg is None or seg.hr is None or not seg.hr.resolved:
        return None
    if seg.hr.adjust is HrAdjust.INCLINE and s.incline.range is None:
        return None  # the machine cannot set incline: the segment plays as written
    return seg.hr
