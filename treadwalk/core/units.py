"""Units and the machine grid. Stdlib only.

The model stores km/h, percent, metres and seconds; everything else is a view. ``clamp``
is the one place where a target is clamped and rounded onto a machine's grid (safety rule 3):
rounded to the nearest step, never truncated; ``snap`` is its value alone.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "FT_PER_M",
    "KM_PER_MILE",
    "M_PER_MILE",
    "ClampReason",
    "Clamped",
    "Grid",
    "ascent_text",
    "clamp",
    "distance_text",
    "format_distance",
    "format_duration",
    "format_speed",
    "kmh_to_mph",
    "kmh_to_pace_s_per_km",
    "kmh_to_pace_s_per_mile",
    "mph_to_kmh",
    "pace_s_per_km_to_kmh",
    "pace_s_per_mile_to_kmh",
    "round_half_up",
    "snap",
]

KM_PER_MILE = 1.609344
M_PER_MILE = 1609.344
FT_PER_M = 1 / 0.3048  # 3.28084: an international foot is 0.3048 m


def kmh_to_mph(kmh: float) -> float:
    return kmh / KM_PER_MILE


def mph_to_kmh(mph: float) -> float:
    return mph * KM_PER_MILE


def kmh_to_pace_s_per_km(kmh: float) -> float | None:
    """Seconds per kilometre, or None when the belt stands."""
    return 3600.0 / kmh if kmh > 0 else None


def kmh_to_pace_s_per_mile(kmh: float) -> float | None:
    return 3600.0 * KM_PER_MILE / kmh if kmh > 0 else None


def pace_s_per_km_to_kmh(seconds: float) -> float:
    return 3600.0 / seconds


def pace_s_per_mile_to_kmh(seconds: float) -> float:
    return 3600.0 * KM_PER_MILE / seconds


def round_half_up(value: float, ndigits: int = 0) -> float:
    """Round half away from zero at ``ndigits`` decimals, on the decimal value a person wrote.

    ``round(4.1 * 100)`` is 410 but ``int(4.1 * 100)`` is 409; and ``round(0.125, 2)`` is 0.12
    by banker's rounding. Going through ``repr`` then Decimal rounds what the user meant.
    """
    quantum = Decimal(1).scaleb(-ndigits)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Grid:
    """What a machine accepts for one quantity: a closed range and an increment."""

    minimum: float
    maximum: float
    step: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.minimum) and math.isfinite(self.maximum)):
            raise ValueError("grid bounds must be finite")
        if self.maximum < self.minimum:
            raise ValueError(f"grid maximum {self.maximum} is below minimum {self.minimum}")
        if self.step < 0:
            raise ValueError("grid step must not be negative")

    def snap(self, value: float, *, cap: float | None = None) -> float:
        return snap(value, self, cap=cap)


class ClampReason(enum.StrEnum):
    """Why a wanted value could not be commanded as it is (rounding onto the grid is not one)."""

    CAP = "cap"  # the walker's own cap (--max-speed, --max-incline, config)
    MACHINE_MAX = "machine_max"  # the top of the machine's range
    MACHINE_MIN = "machine_min"  # the bottom of the machine's range


@dataclass(frozen=True, slots=True)
class Clamped:
    """Where a wanted value lands: ``value`` on the grid, and why it moved if it was clamped."""

    requested: float
    value: float
    reason: ClampReason | None = None

    @property
    def clamped(self) -> bool:
        return self.reason is not None


_ONE = Decimal(1)
# A value this close to a bound is on it (unit conversions on a machine shift values by less).
_BOUND_TOL = 1e-6


def clamp(value: float, grid: Grid, *, cap: float | None = None) -> Clamped:
    """The one clamp of safety rule 3: ``value`` held inside ``grid`` and under ``cap``, then
    rounded (half up, never truncated) to the nearest step, with the reason when it was held.

    Steps count from the grid's minimum. The result never leaves [minimum, min(maximum, cap)]
    (a cap below the minimum leaves only the minimum): when the nearest step lies above the
    upper bound, the step below is taken. Results are rounded to 6 decimals so 0.1-steps do not
    carry binary noise (4.1 stays 4.1). NaN raises ``ValueError``; infinities clamp.
    """
    if math.isnan(value):
        raise ValueError("cannot snap NaN onto a grid")
    lo = grid.minimum
    upper = grid.maximum if cap is None else max(lo, min(grid.maximum, cap))
    v = min(max(value, lo), upper)
    if grid.step <= 0:
        out = round(v, 6)
    else:
        q = (v - lo) / grid.step
        if abs(q - math.floor(q) - 0.5) < 1e-6:
            # a halfway value: decide in decimal, on the values as written ((4.05 - 0.5) / 0.1
            # is 35.4999... in binary, and 4.05 must go up to 4.1)
            exact = (Decimal(repr(v)) - Decimal(repr(lo))) / Decimal(repr(grid.step))
            n = float(exact.quantize(_ONE, rounding=ROUND_HALF_UP))
        else:
            n = float(math.floor(q + 0.5))
        out = lo + n * grid.step
        if out > upper + 1e-9:
            out -= grid.step
        if out < lo - 1e-9:
            out = lo
        out = round(out, 6)
    out = min(max(out, lo), upper)  # the 6-decimal rounding never carries a value out of range
    reason = None
    if value < lo - _BOUND_TOL:
        reason = ClampReason.MACHINE_MIN
    elif cap is not None and cap <= grid.maximum + _BOUND_TOL and value > cap + _BOUND_TOL:
        reason = ClampReason.CAP
    elif value > grid.maximum + _BOUND_TOL:
        reason = ClampReason.MACHINE_MAX
    return Clamped(value, out, reason)


def snap(value: float, grid: Grid, *, cap: float | None = None) -> float:
    """``clamp(value, grid, cap=cap).value``: the commandable value alone."""
    return clamp(value, grid, cap=cap).value


def format_duration(seconds: float) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``. Negative values are shown as 0:00."""
    s = max(0, round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def format_speed(kmh: float, units: str = "metric", *, end_kmh: float | None = None) -> str:
    """``4.5`` -> ``4.5 km/h`` (metric) or ``2.8 mph`` (imperial); with ``end_kmh`` a ramp,
    ``3.5->5 km/h``. One decimal, trailing zeros dropped."""

    def one(x: float) -> str:
        return f"{round_half_up(kmh_to_mph(x) if units == 'imperial' else x, 1):g}"

    unit = "mph" if units == "imperial" else "km/h"
    if end_kmh is None:
        return f"{one(kmh)} {unit}"
    return f"{one(kmh)}->{one(end_kmh)} {unit}"


def format_distance(metres: float, units: str = "metric") -> str:
    """``400`` -> ``400 m`` / ``1.5 km`` (metric) or ``0.25 mi`` (imperial)."""
    if units == "imperial":
        return f"{round_half_up(metres / 1000 / KM_PER_MILE, 2):g} mi"
    return f"{metres:g} m" if metres < 1000 else f"{round_half_up(metres / 1000, 2):g} km"


def distance_text(metres: float, imperial: bool = False) -> str:
    """A walked distance as totals show it: ``0.45 km`` or ``0.28 mi`` (two decimals)."""
    return f"{metres / M_PER_MILE:.2f} mi" if imperial else f"{metres / 1000:.2f} km"


def ascent_text(metres: float, imperial: bool = False) -> str:
    """A climb as totals show it: ``11 m`` or ``36 ft``."""
    return f"{metres * FT_PER_M:.0f} ft" if imperial else f"{metres:.0f} m"
