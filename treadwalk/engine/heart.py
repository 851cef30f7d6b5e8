"""The heart-rate controller: pure, plain numbers in and out. Imports stdlib and treadwalk.core only.

A segment that holds heart rate moves one axis (speed or incline), its *working point*, within
bounds. Heart rate lags a change of workload by 20-60 s (shared/hr/REFERENCE.md), so a loop that
steps again before the last step has shown its effect overshoots. This one:

- acts only when two views agree the heart rate is off: the *smoothed* rate (the mean of the last
  ``smooth_s``) and a first-order *prediction* of where it is going (smoothed + ``tau_s`` x the trend
  over the readings since the last move, at most ``window_s``: the steady state of a first-order lag);
- approaches the zone's middle +- ``dead_band`` (a fraction of the zone's width), then *holds* until
  both views leave the zone shrunk by ``hold_margin`` (hysteresis: a noisy strap does not churn);
- moves one grid step (``speed_step``/``incline_step``, or the machine's step if larger) at most every
  ``interval_s`` (``urgent_interval_s`` when lowering from above the zone), and never raises sooner
  than ``interval_s`` after any move, the walker's own included (wait for the heart to answer);
- makes no move while ``settled`` is false (a programmed ramp is playing), except for the ceiling.

Safety rule 6. Without a fresh reading (``bpm`` None) it never raises: it holds for ``hold_s``, then
eases back one step per ``urgent_interval_s`` toward the segment's starting value (never above it)
and says why. Above ``ceiling_bpm`` it lowers at once and again every ``ceiling_interval_s``, below
the segment's bounds if need be (down to ``floor``), whatever the segment says; ``ease_off`` does
the same on segments that do not hold heart rate (incline first, then speed).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from treadwalk.core.model import HrAdjust

__all__ = [
    "Ease",
    "HrAction",
    "HrBounds",
    "HrLoop",
    "HrMove",
    "HrTuning",
    "ease_off",
    "predicted",
    "smoothed",
    "start_loop",
    "step_loop",
]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class HrTuning:
    interval_s: float = 15.0  # at most one step per this long, and no raise sooner after any move
    urgent_interval_s: float = 10.0  # lowering from above the zone; easing back without a reading
    ceiling_interval_s: float = 5.0  # above the ceiling: a step down at once, then this often
    tau_s: float = 35.0  # the heart's time constant the prediction assumes
    window_s: float = 20.0  # readings kept for the trend
    smooth_s: float = 5.0  # the smoothed rate: mean over this long
    dead_band: float = 0.15  # +- this fraction of the zone's width around its middle: the goal
    hold_margin: float = 0.15  # holding, act only outside the zone shrunk by this fraction
    hold_s: float = 15.0  # no reading: hold this long, then ease back
    speed_step_kmh: float = 0.2
    incline_step_pct: float = 0.5

    def step_for(self, adjust: HrAdjust, grid_step: float = 0.0) -> float:
        own = self.speed_step_kmh if adjust is HrAdjust.SPEED else self.incline_step_pct
        if grid_step <= 0:
            return own
        # a whole number of grid steps, at least one: every target stays on the machine's grid
        return max(1, round(own / grid_step)) * grid_step


@dataclass(frozen=True, slots=True)
class HrBounds:
    """Where the working point may go: ``minimum``-``maximum`` (the segment's bounds inside the
    walker's caps and the machine's range), ``floor`` (the machine's lowest, for the ceiling),
    ``step`` (one move)."""

    minimum: float
    maximum: float
    step: float
    floor: float

    def __post_init__(self) -> None:
        if not (self.step > 0 and self.floor <= self.minimum <= self.maximum):
            raise ValueError("HrBounds needs step > 0 and floor <= minimum <= maximum")


class HrAction(enum.StrEnum):
    RAISE = "raise"  # below the zone: one step up
    LOWER = "lower"  # above the zone: one step down
    CEILING = "ceiling"  # above the walker's ceiling: one step down, at once
    NO_READING = "no_reading"  # no fresh reading: holding (never raising)
    EASE_BACK = "ease_back"  # no reading for hold_s: one step back toward the start
    AT_LIMIT = "at_limit"  # would move, but the working point is at its bound


@dataclass(frozen=True, slots=True)
class HrMove:
    """What the controller did or says: ``value`` is the new working point (None: unchanged)."""

    action: HrAction
    value: float | None
    bpm: float | None
    message: str


@dataclass(frozen=True, slots=True)
class HrLoop:
    """The controller's state for one segment."""

    value: float  # the working point: the adjusted axis' target
    start: float  # the segment's own starting value (easing back goes toward it, never above)
    readings: tuple[tuple[float, float], ...] = ()  # (time, bpm), the last window_s
    last_move_at: float = -math.inf  # any move: ours, the ceiling's, the walker's, the console's
    last_ceiling_at: float = -math.inf
    missing_since: float | None = None
    holding: bool = False  # inside the dead band once: now hold until outside the shrunk zone
    said: str | None = None  # the last hold/limit sentence, said once
    last: HrAction | None = None  # the latest action (for the dashboard)

    def moved_to(self, value: float, now: float) -> HrLoop:
        """The walker (+/-) or the console moved the axis: that is the new working point, kept,
        and the heart gets ``interval_s`` to answer before the loop raises again."""
        return replace(self, value=value, last_move_at=now, holding=False, said=None)


def start_loop(value: float, now: float | None = None) -> HrLoop:
    """A loop at the segment's start; ``now``: the segment began then (its first step waits)."""
    return HrLoop(value=value, start=value, last_move_at=-math.inf if now is None else now)


def smoothed(loop: HrLoop, now: float, tuning: HrTuning) -> float | None:
    recent = [b for t, b in loop.readings if now - t <= tuning.smooth_s + _EPS]
    return sum(recent) / len(recent) if recent else None


def _slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 3:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mb = sum(b for _, b in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    if var <= _EPS:
        return 0.0
    return sum((t - mt) * (b - mb) for t, b in points) / var


def predicted(loop: HrLoop, now: float, tuning: HrTuning) -> float | None:
    """Where the heart rate is heading: smoothed + tau x trend (a first-order lag's steady state).

    The trend is fitted on the readings since the last move (the response to it), or on the whole
    window when that is shorter than ``smooth_s``."""
    mean = smoothed(loop, now, tuning)
    if mean is None:
        return None
    since = [(t, b) for t, b in loop.readings if t >= loop.last_move_at]
    points = since if since and since[-1][0] - since[0][0] >= tuning.smooth_s else list(loop.readings)
    if not points or points[-1][0] - points[0][0] < tuning.smooth_s:
        return mean
    return mean + tuning.tau_s * _slope(points)


def _fmt(value: float) -> str:
    return f"{round(value, 1):g}"


def _record(loop: HrLoop, now: float, bpm: float | None, tuning: HrTuning) -> HrLoop:
    kept = tuple((t, b) for t, b in loop.readings if now - t <= tuning.window_s + _EPS and t <= now)
    if bpm is None:
        missing = loop.missing_since if loop.missing_since is not None else now
        return replace(loop, readings=kept, missing_since=missing)
    return replace(loop, readings=(*kept, (now, float(bpm))), missing_since=None)


def _say(loop: HrLoop, action: HrAction, bpm: float | None, message: str) -> tuple[HrLoop, HrMove | None]:
    """A hold or limit sentence: said once, until something else happens."""
    if loop.said == message:
        return replace(loop, last=action), None
    return replace(loop, said=message, last=action), HrMove(action, None, bpm, message)


def _moved(
    loop: HrLoop, now: float, action: HrAction, value: float, bpm: float | None, message: str
) -> tuple[HrLoop, HrMove]:
    loop = replace(loop, value=value, last_move_at=now, said=None, last=action)
    if action is HrAction.CEILING:
        loop = replace(loop, last_ceiling_at=now)
    return loop, HrMove(action, value, bpm, message)


def step_loop(
    loop: HrLoop,
    now: float,
    bpm: float | None,
    low: float,
    high: float,
    bounds: HrBounds,
    ceiling_bpm: float | None,
    settled: bool,
    tuning: HrTuning = HrTuning(),
    *,
    what: str = "speed",
    show: Callable[[float], str] = _fmt,
) -> tuple[HrLoop, HrMove | None]:
    """One look at the heart: the next loop state and the move (or sentence), if any.

    ``bpm`` is the fresh reading or None (no contact, 0, 255, stale: the source decides);
    ``low``-``high`` the zone in bpm; ``what`` and ``show`` name the axis and its values."""
    loop = _record(loop, now, bpm, tuning)
    value = loop.value
    # the ceiling: at once, whatever the segment, even mid-ramp (safety rule 6)
    if bpm is not None and ceiling_bpm is not None and bpm > ceiling_bpm:
        if now - loop.last_ceiling_at < tuning.ceiling_interval_s - _EPS:
            return replace(loop, last=HrAction.CEILING), None
        target = max(bounds.floor, _down(value, bounds.step))
        if target >= value - _EPS:
            msg = (
                f"Heart rate {round(bpm)} above your ceiling {round(ceiling_bpm)} and {what} is at its "
                f"lowest {show(value)}: slow down or stop."
            )
            return _say(loop, HrAction.AT_LIMIT, bpm, msg)
        msg = (
            f"Easing off: heart rate {round(bpm)} above ceiling {round(ceiling_bpm)}, {what} {show(target)}."
        )
        return _moved(loop, now, HrAction.CEILING, target, bpm, msg)
    # no fresh reading: never raise; hold, then ease back toward the start (never above it)
    if bpm is None:
        assert loop.missing_since is not None
        gone = now - loop.missing_since
        if gone < tuning.hold_s - _EPS or value <= loop.start + _EPS:
            msg = f"No heart-rate reading: holding {what} at {show(value)}."
            return _say(loop, HrAction.NO_READING, None, msg)
        if now - loop.last_move_at < tuning.urgent_interval_s - _EPS:
            return replace(loop, last=HrAction.EASE_BACK), None
        target = max(loop.start, _down(value, bounds.step), bounds.floor)
        msg = (
            f"No heart-rate reading for {round(gone)} s: easing {what} back to {show(target)} "
            f"(toward the segment's {show(loop.start)})."
        )
        return _moved(loop, now, HrAction.EASE_BACK, target, None, msg)
    if not settled:  # a programmed ramp first: its effect is not the loop's to judge
        return replace(loop, last=None), None
    mean = smoothed(loop, now, tuning)
    guess = predicted(loop, now, tuning)
    assert mean is not None and guess is not None
    width = max(high - low, 1.0)
    middle = (low + high) / 2
    band = tuning.dead_band * width
    margin = tuning.hold_margin * width
    if loop.holding:
        raise_below, lower_above = low + margin, high - margin
    else:
        raise_below, lower_above = middle - band, middle + band
    if (
        not loop.holding
        and middle - band <= mean <= middle + band
        and middle - band <= guess <= middle + band
    ):
        loop = replace(loop, holding=True)
    since = now - loop.last_move_at
    if mean < raise_below and guess < raise_below:
        loop = replace(loop, holding=False)
        if since < tuning.interval_s - _EPS:
            return loop, None
        target = _up(value, bounds.step)
        if value >= bounds.maximum - _EPS or target > bounds.maximum + _EPS:
            msg = f"Heart rate {round(mean)} below {round(low)}-{round(high)} bpm but {what} is at its top {show(value)}."
            return _say(loop, HrAction.AT_LIMIT, bpm, msg)
        msg = f"Heart rate {round(mean)} below {round(low)}-{round(high)} bpm: {what} up to {show(target)}."
        return _moved(loop, now, HrAction.RAISE, target, bpm, msg)
    if mean > lower_above and guess > lower_above:
        loop = replace(loop, holding=False)
        wait = tuning.urgent_interval_s if mean > high else tuning.interval_s
        if since < wait - _EPS:
            return loop, None
        target = _down(value, bounds.step)
        if value <= bounds.minimum + _EPS or target < bounds.minimum - _EPS:
            msg = f"Heart rate {round(mean)} above {round(low)}-{round(high)} bpm but {what} is at its bottom {show(value)}."
            return _say(loop, HrAction.AT_LIMIT, bpm, msg)
        msg = f"Heart rate {round(mean)} above {round(low)}-{round(high)} bpm: {what} down to {show(target)}."
        return _moved(loop, now, HrAction.LOWER, target, bpm, msg)
    return replace(loop, last=None), None


def _up(value: float, step: float) -> float:
    return round(value + step, 6)


def _down(value: float, step: float) -> float:
    return round(value - step, 6)


@dataclass(frozen=True, slots=True)
class Ease:
    """What ``ease_off`` did on a segment that does not hold heart rate: one axis a step down."""

    adjust: HrAdjust
    value: float
    message: str


def ease_off(
    now: float,
    bpm: float | None,
    ceiling_bpm: float | None,
    last_at: float,
    speed: float | None,
    incline: float | None,
    speed_floor: float,
    incline_floor: float,
    speed_step: float,
    incline_step: float,
    tuning: HrTuning = HrTuning(),
    *,
    show_speed: Callable[[float], str] = _fmt,
) -> Ease | None:
    """Above the ceiling on any segment: one step down now and every ``ceiling_interval_s``,
    incline first (it raises effort most), then speed. None: nothing to do (below the ceiling,
    no reading, too soon, or both axes at their lowest)."""
    if bpm is None or ceiling_bpm is None or bpm <= ceiling_bpm:
        return None
    if now - last_at < tuning.ceiling_interval_s - _EPS:
        return None
    why = f"Easing off: heart rate {round(bpm)} above ceiling {round(ceiling_bpm)}"
    if incline is not None and incline > incline_floor + _EPS:
        value = max(incline_floor, _down(incline, incline_step))
        return Ease(HrAdjust.INCLINE, value, f"{why}, incline {value:g} %.")
    if speed is not None and speed > speed_floor + _EPS:
        value = max(speed_floor, _down(speed, speed_step))
        return Ease(HrAdjust.SPEED, value, f"{why}, speed {show_speed(value)}.")
    return None
