"""Target shaping (safety rule 3), per axis: pure arithmetic on one ``Axis``. Stdlib and
treadwalk.core only.

The wanted value (profile, ramp, walker override; or a console value) is clamped onto what may
be commanded (``treadwalk.core.axis.Range``: the machine's grid under the walker's caps; a
console value only to the machine's range) and rounded, never truncated. The commanded value
then moves toward it through a token bucket: it may move at once by ``burst`` (one grid step,
or a tick's worth of rate), then at the axis' rate from ``Limits``; every command is on the grid
and inside the caps. Why a value was held is reported back (one stable text per reason).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from treadwalk.core.axis import Quantity, Range
from treadwalk.core.model import Limits
from treadwalk.core.units import Grid, snap

__all__ = ["Axis", "burst", "shape", "slew"]

_ECHO_S = 3.0  # a machine's echo of our own target arrives within this long
_ECHO_TOLERANCE = 0.05  # km/h or %: what unit conversions on the machine (mph) may shift


@dataclass(frozen=True, slots=True)
class Axis:
    """One commanded quantity (speed or incline): what may be commanded, the walker's and the
    console's overrides, the rate-limited commanded value and its token bucket."""

    quantity: Quantity
    range: Range | None = None  # None: not connected yet, or the machine cannot set it
    override: float = 0.0  # the walker's +/- on top of the profile
    console: float | None = None  # a value set on the console, kept for the segment
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

    def fresh(self, value: float | None, budget: float) -> Axis:
        """The axis as the belt starts: at ``value``, nothing sent yet."""
        return replace(
            self, value=value, sent=None, budget=budget, retry_at=-math.inf, wanted=None, recent=()
        )

    def unheld(self) -> Axis:
        """Without the walker's and the console's overrides (a new segment, the cool-down)."""
        return (
            self
            if self.override == 0.0 and self.console is None
            else replace(self, override=0.0, console=None)
        )


def burst(a: Axis, limits: Limits, tick_s: float) -> float:
    """How far the commanded value may move at once: one grid step, or a tick's worth of rate."""
    step_ = a.range.grid.step if a.range is not None else 0.0
    return max(step_, a.quantity.rate(limits) * tick_s)


def slew(axis: Axis, wanted: float, grid: Grid, refill: float, burst: float) -> Axis:
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


def shape(
    a: Axis,
    raw: float | None,
    *,
    console: bool,
    limits: Limits,
    tick_s: float,
    dt: float,
    can_send: bool,
    reasons: list[str],
) -> Axis:
    """One axis toward ``raw``: clamped onto the range (the walker's caps do not hold a value
    they set on the console), then rate limited; while nothing can be sent only the goal and the
    budget move. Why a value was held is appended to ``reasons``."""
    r = a.range
    if r is None or raw is None:
        return a
    c = r.clamp(raw, capped=not console)
    if not console and c.reason is not None:
        reasons.append(r.why(c.reason))
    refill, most = a.quantity.rate(limits) * dt, burst(a, limits, tick_s)
    if can_send:
        return slew(a, c.value, r.grid, refill, most)
    return replace(a, wanted=c.value, budget=min(most, a.budget + refill))
