"""One axis of a treadmill target: speed or incline. Stdlib and treadwalk.core only.

Speed and incline are the same kind of thing, used twice: a machine grid (range and step), the
walker's cap, a rate budget, a console value, a target the machine reports. ``Quantity`` names
the two and reads each one's part of ``Limits``, ``Capabilities`` and ``TreadmillState``, so
code that handles an axis takes a ``Quantity`` instead of an ``incline=True`` flag or a field
name. ``Range`` is what may be commanded on one axis (the grid under the cap) and clamps onto
it through ``treadwalk.core.units.clamp``, the one clamp of safety rule 3.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from .model import Capabilities, Limits, TreadmillState
from .units import Clamped, ClampReason, Grid, clamp, format_speed

__all__ = ["Quantity", "Range"]


class Quantity(enum.StrEnum):
    SPEED = "speed"
    INCLINE = "incline"

    @property
    def unit(self) -> str:
        return "km/h" if self is Quantity.SPEED else "%"

    @property
    def label(self) -> str:
        return "Speed" if self is Quantity.SPEED else "Incline"

    @property
    def key(self) -> str:
        """The value's canonical field name (events, snapshots, decoded frames)."""
        return "speed_kmh" if self is Quantity.SPEED else "incline_pct"

    @property
    def override_key(self) -> str:
        return "override_kmh" if self is Quantity.SPEED else "override_pct"

    @property
    def flag(self) -> str:
        """The walker's cap on the command line."""
        return "--max-speed" if self is Quantity.SPEED else "--max-incline"

    def cap(self, limits: Limits) -> float | None:
        return limits.max_speed_kmh if self is Quantity.SPEED else limits.max_incline_pct

    def rate(self, limits: Limits) -> float:
        """How far a commanded target may move per second."""
        if self is Quantity.SPEED:
            return limits.max_speed_step_kmh_per_s
        return limits.max_incline_step_pct_per_s

    def grid(self, caps: Capabilities) -> Grid | None:
        """The machine's grid; None when the machine cannot set this quantity."""
        return caps.speed if self is Quantity.SPEED else caps.incline

    def actual(self, state: TreadmillState) -> float | None:
        """What the belt (or the incline motor) is at."""
        return state.speed_kmh if self is Quantity.SPEED else state.incline_pct

    def target(self, state: TreadmillState) -> float | None:
        """The target the machine last reported (or we last had confirmed)."""
        return state.target_speed_kmh if self is Quantity.SPEED else state.target_incline_pct

    def with_target(self, state: TreadmillState, value: float) -> TreadmillState:
        if self is Quantity.SPEED:
            return replace(state, target_speed_kmh=value)
        return replace(state, target_incline_pct=value)

    def shown(self, value: float, units: str = "metric") -> str:
        """``4.5 km/h`` (or mph) / ``2.5 %``."""
        return format_speed(value, units) if self is Quantity.SPEED else f"{value:g} %"


@dataclass(frozen=True, slots=True)
class Range:
    """What may be commanded on one axis: the machine's grid under the walker's cap."""

    quantity: Quantity
    grid: Grid
    cap: float | None = None

    @classmethod
    def of(cls, quantity: Quantity, caps: Capabilities, limits: Limits) -> Range | None:
        grid = quantity.grid(caps)
        return None if grid is None else cls(quantity, grid, quantity.cap(limits))

    @property
    def upper(self) -> float:
        g = self.grid
        return g.maximum if self.cap is None else max(g.minimum, min(g.maximum, self.cap))

    def clamp(self, value: float, *, capped: bool = True) -> Clamped:
        """``value`` on the grid and inside the range (``capped=False``: the machine's range only,
        for a value the walker set on the console)."""
        return clamp(value, self.grid, cap=self.cap if capped else None)

    def hold(self, value: float) -> float:
        """``value`` held inside the range, not rounded (where a +/- counts from)."""
        return min(max(value, self.grid.minimum), self.upper)

    def why(self, reason: ClampReason) -> str:
        """The walker-facing words for a clamp (lower case; one stable text per reason)."""
        q, g = self.quantity, self.grid
        if reason is ClampReason.CAP:
            return f"{q} held at your {q.flag} {self.cap:g} {q.unit}"
        if reason is ClampReason.MACHINE_MAX:
            return f"{q} held at the treadmill's maximum {g.maximum:g} {q.unit}"
        return f"{q} raised to the treadmill's minimum {g.minimum:g} {q.unit}"
