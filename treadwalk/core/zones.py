"""Heart-rate zones in bpm from the walker's ``[heart_rate]`` config. Stdlib only, pure.

Three models (shared/hr/REFERENCE.md), five zones each, as Garmin and Polar draw them:

- ``max``: % of max HR: Z1 50-60 %, Z2 60-70 %, Z3 70-80 %, Z4 80-90 %, Z5 90-100 %;
- ``hrr``: Karvonen, % of heart-rate reserve: bound = rest + p x (max - rest), same percentages;
- ``lthr``: Friel, % of lactate-threshold HR: Z1 < 85 %, Z2 85-89 %, Z3 90-94 %, Z4 95-99 %,
  Z5 >= 100 %. Z1 starts at ``rest_bpm`` (at most 80 %, else 70 % of LTHR); Z5 ends at ``max_bpm`` (or 110 %).

A zone is ``[low, high)`` in bpm, as floats (shown rounded). ``parse_hr_target`` reads a profile's
``hr = "zone2"`` or ``hr = "110-125"``; ``resolve_target`` turns it into bpm, or raises a
``ConfigError`` naming the key the walker has to set: 220 - age is never guessed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace

from .errors import ConfigError
from .model import Plan

__all__ = [
    "BPM_MAX",
    "BPM_MIN",
    "HeartRateConfig",
    "HrTarget",
    "Zone",
    "ZoneModel",
    "parse_hr_target",
    "resolve_plan",
    "resolve_target",
    "zone_of",
    "zones",
]

BPM_MIN = 30
BPM_MAX = 230

_PERCENT = (0.50, 0.60, 0.70, 0.80, 0.90, 1.00)  # max and hrr: the five zones' bounds
_LTHR_PERCENT = (0.85, 0.90, 0.95, 1.00)  # Friel: inner bounds (Z1 below, Z5 above)


class ZoneModel(enum.StrEnum):
    MAX = "max"  # % of max HR
    HRR = "hrr"  # % of heart-rate reserve (Karvonen)
    LTHR = "lthr"  # % of lactate-threshold HR (Friel)


@dataclass(frozen=True, slots=True)
class HeartRateConfig:
    """The ``[heart_rate]`` table. Every value is optional; what a zone needs is asked for."""

    max_bpm: int | None = None
    rest_bpm: int | None = None
    lthr_bpm: int | None = None
    zones: ZoneModel = ZoneModel.MAX
    ceiling: int | None = None  # ``ceiling_bpm`` as written

    @property
    def ceiling_bpm(self) -> int | None:
        """Above it the controller eases off at once (safety rule 6): ``ceiling_bpm``, else max - 10."""
        if self.ceiling is not None:
            return self.ceiling
        return None if self.max_bpm is None else self.max_bpm - 10

    def missing(self) -> str | None:
        """The key(s) the zone model needs and the config lacks, as a sentence fragment."""
        need: list[str] = []
        if self.zones is ZoneModel.LTHR:
            if self.lthr_bpm is None:
                need.append("lthr_bpm")
        else:
            if self.max_bpm is None:
                need.append("max_bpm")
            if self.zones is ZoneModel.HRR and self.rest_bpm is None:
                need.append("rest_bpm")
        return " and ".join(need) or None


@dataclass(frozen=True, slots=True)
class Zone:
    number: int  # 1..5
    low_bpm: float
    high_bpm: float

    @property
    def name(self) -> str:
        return f"zone {self.number}"

    @property
    def middle_bpm(self) -> float:
        return (self.low_bpm + self.high_bpm) / 2


def _needs(config: HeartRateConfig, why: str) -> ConfigError:
    missing = config.missing() or "max_bpm"
    return ConfigError(
        f"{why} needs {missing} in the [heart_rate] table of your config "
        f'(zones = "{config.zones.value}"); set {missing} = ... there.'
    )


def zones(config: HeartRateConfig, *, why: str = "Heart-rate zones") -> tuple[Zone, ...]:
    """The five zones in bpm, or a ``ConfigError`` naming the key to set."""
    if config.missing() is not None:
        raise _needs(config, why)
    if config.zones is ZoneModel.LTHR:
        assert config.lthr_bpm is not None
        lt = float(config.lthr_bpm)
        low = min(float(config.rest_bpm), 0.80 * lt) if config.rest_bpm is not None else 0.70 * lt
        top = float(config.max_bpm) if config.max_bpm is not None else 1.10 * lt
        bounds = (low, *(p * lt for p in _LTHR_PERCENT), max(top, lt + 1))
    else:
        assert config.max_bpm is not None
        hi = float(config.max_bpm)
        base = float(config.rest_bpm or 0) if config.zones is ZoneModel.HRR else 0.0
        bounds = tuple(base + p * (hi - base) for p in _PERCENT)
    return tuple(Zone(i + 1, bounds[i], bounds[i + 1]) for i in range(5))


def zone_of(bpm: float | None, table: tuple[Zone, ...]) -> int | None:
    """Which zone a reading falls in (0 below zone 1, 5 at or above zone 5's top), None for no reading."""
    if bpm is None or not table:
        return None
    if bpm < table[0].low_bpm:
        return 0
    for zone in table:
        if bpm < zone.high_bpm:
            return zone.number
    return table[-1].number


@dataclass(frozen=True, slots=True)
class HrTarget:
    """What a segment holds: a zone of the walker's (``zone``) or a range in bpm (``low``-``high``)."""

    zone: int | None = None
    low_bpm: int | None = None
    high_bpm: int | None = None

    def __str__(self) -> str:
        return f"zone{self.zone}" if self.zone is not None else f"{self.low_bpm}-{self.high_bpm}"


_ZONE_RE = re.compile(r"^\s*z(?:one)?\s*([1-5])\s*$", re.IGNORECASE)
_RANGE_RE = re.compile(r"^\s*(\d{2,3})\s*-\s*(\d{2,3})\s*(?:bpm)?\s*$", re.IGNORECASE)


def parse_hr_target(value: object) -> HrTarget:
    """``"zone2"`` (``"z2"``, ``"zone 2"``) or ``"110-125"``; ``ValueError`` says what is allowed."""
    if not isinstance(value, str):
        raise ValueError(f'hr {value!r} must be text in quotes: hr = "zone2" or hr = "110-125"')
    if m := _ZONE_RE.match(value):
        return HrTarget(zone=int(m.group(1)))
    if m := _RANGE_RE.match(value):
        low, high = int(m.group(1)), int(m.group(2))
        if not BPM_MIN <= low < high <= BPM_MAX:
            raise ValueError(
                f'hr "{value}" must be a range from {BPM_MIN} to {BPM_MAX} bpm with the low end first'
            )
        if high - low < 5:
            raise ValueError(f'hr "{value}" is narrower than 5 bpm; heart rate cannot be held that tight')
        return HrTarget(low_bpm=low, high_bpm=high)
    raise ValueError(f'hr "{value}" is not a zone or a range; write hr = "zone2" or hr = "110-125"')


def resolve_target(target: HrTarget, config: HeartRateConfig, *, where: str = "") -> tuple[float, float]:
    """The target as ``(low, high)`` bpm. A zone without the config it needs: ``ConfigError``."""
    if target.zone is None:
        assert target.low_bpm is not None and target.high_bpm is not None
        return float(target.low_bpm), float(target.high_bpm)
    what = f"The segment {where}" if where else "A segment"
    zone = zones(config, why=f'{what} holding hr = "zone{target.zone}"')[target.zone - 1]
    return zone.low_bpm, zone.high_bpm


def resolve_plan(plan: Plan, config: HeartRateConfig) -> Plan:
    """The plan with every zone segment's bpm filled in from the config, before the belt starts.

    A zone the config cannot draw is a ``ConfigError`` naming the segment and the key to set."""
    segments = list(plan.segments)
    for i, seg in enumerate(segments):
        hold = seg.hr
        if hold is None or hold.resolved or hold.zone is None:
            continue
        low, high = resolve_target(HrTarget(zone=hold.zone), config, where=f'"{seg.name}" (segment {i + 1})')
        segments[i] = replace(seg, hr=replace(hold, low_bpm=low, high_bpm=high))
    return replace(plan, segments=tuple(segments))
