"""Reading and writing the quantities a profile is made of. Stdlib and ``treadwalk.core`` only.

A profile author writes durations (``"90s"``, ``"1:30"``, ``"2m"``, ``"1h15m"``), distances
(``"400m"``, ``"1.5km"``, ``"0.25mi"``), speeds (a number in km/h, ``"5.5 km/h"``, ``"3 mph"``,
or a pace: ``"12:00/km"``, ``"19:00/mi"``) and inclines (a number in percent, or ``"4%"``).
Speeds and distances keep the unit they were written in, so that a profile written back is
the profile that was read; the model converts to km/h and metres on demand.

Every parser raises ``ValueError`` with the sentence a profile author needs ("what is wrong,
and what is allowed"); the loader adds the file and line. The regexes are compiled once at
import (see scripts/bench_profiles.py for what that is worth).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from treadwalk.core.units import KM_PER_MILE

__all__ = [
    "Distance",
    "Speed",
    "format_duration_text",
    "format_number",
    "parse_distance",
    "parse_duration",
    "parse_incline",
    "parse_speed",
]

_NUM = r"\d+(?:\.\d+)?"
_DURATION_UNITS = re.compile(
    rf"^(?:(?P<h>{_NUM})\s*h(?:ours?|rs?)?)?\s*"
    rf"(?:(?P<m>{_NUM})\s*m(?:in(?:utes?|s)?)?)?\s*"
    rf"(?:(?P<s>{_NUM})\s*s(?:ec(?:onds?|s)?)?)?$"
)
_DURATION_CLOCK = re.compile(r"^(?:(?P<h>\d+):(?=\d{2}:))?(?P<m>\d+):(?P<s>\d{2}(?:\.\d+)?)$")
_DISTANCE = re.compile(rf"^(?P<v>{_NUM})\s*(?P<u>m|km|mi)$")
_SPEED = re.compile(rf"^(?P<v>{_NUM})\s*(?P<u>km/h|kmh|kph|mph)$")
_PACE = re.compile(r"^(?P<m>\d+):(?P<s>\d{2}(?:\.\d+)?)\s*(?:min)?\s*/\s*(?P<u>km|mi)$")
_INCLINE = re.compile(rf"^(?P<v>-?{_NUM})\s*%$")

DURATION_HELP = 'write it like "90s", "1:30", "2m" or "1h15m"'
DISTANCE_HELP = 'write it like "400m", "1.5km" or "0.25mi"'
SPEED_HELP = 'write a number in km/h, or "5.5 km/h", "3 mph", "12:00/km", "19:00/mi"'
INCLINE_HELP = 'write a number in percent, like 4 or "4%"'


def format_number(value: float) -> str:
    """The shortest text that reads back as the same float: ``5.0`` -> ``5``, ``4.1`` -> ``4.1``."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# Durations


def parse_duration(value: object) -> float:
    """Seconds from ``"90s"``, ``"1:30"``, ``"2m"``, ``"1h15m"``, ``"1:02:05"``."""
    if _is_number(value):
        raise ValueError(f"duration {value} has no unit; {DURATION_HELP}")
    if not isinstance(value, str):
        raise ValueError(f"duration must be text; {DURATION_HELP}")
    text = value.strip().lower()
    m = _DURATION_CLOCK.match(text)
    if m:
        h = int(m["h"] or 0)
        minutes = int(m["m"])
        seconds = float(m["s"])
        if h and minutes > 59:
            raise ValueError(f'duration "{value}" has {minutes} minutes after the hours; {DURATION_HELP}')
        return h * 3600 + minutes * 60 + seconds
    m = _DURATION_UNITS.match(text)
    if text and m and any(m.group(k) for k in ("h", "m", "s")):
        return float(m["h"] or 0) * 3600 + float(m["m"] or 0) * 60 + float(m["s"] or 0)
    raise ValueError(f'duration "{value}" is not a duration; {DURATION_HELP}')


def format_duration_text(seconds: float) -> str:
    """The profile spelling of a duration, reading back exactly: 120 -> "2m", 90 -> "1:30"."""
    if seconds != int(seconds):
        return f"{format_number(seconds)}s"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s % 60 == 0:
        return f"{s // 60}m"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


# ---------------------------------------------------------------------------------------------
# Distances


@dataclass(frozen=True, slots=True)
class Distance:
    """A distance as written: ``value`` in ``unit`` (m, km or mi)."""

    value: float
    unit: str = "m"

    @property
    def metres(self) -> float:
        if self.unit == "km":
            return self.value * 1000.0
        if self.unit == "mi":
            return self.value * KM_PER_MILE * 1000.0
        return self.value

    def __str__(self) -> str:
        return f"{format_number(self.value)}{self.unit}"


def parse_distance(value: object) -> Distance:
    if _is_number(value):
        raise ValueError(f"distance {value} has no unit; {DISTANCE_HELP}")
    if not isinstance(value, str):
        raise ValueError(f"distance must be text; {DISTANCE_HELP}")
    m = _DISTANCE.match(value.strip().lower())
    if not m:
        raise ValueError(f'distance "{value}" is not a distance; {DISTANCE_HELP}')
    return Distance(float(m["v"]), m["u"])


# ---------------------------------------------------------------------------------------------
# Speeds and paces


@dataclass(frozen=True, slots=True)
class Speed:
    """A speed as written. ``unit`` is ``km/h`` or ``mph`` (``value`` is a speed), or ``/km``
    or ``/mi`` (``value`` is a pace in seconds per kilometre or mile)."""

    value: float
    unit: str = "km/h"

    @property
    def kmh(self) -> float:
        if self.unit == "mph":
            return self.value * KM_PER_MILE
        if self.unit == "/km":
            return 3600.0 / self.value
        if self.unit == "/mi":
            return 3600.0 * KM_PER_MILE / self.value
        return self.value

    @property
    def is_pace(self) -> bool:
        return self.unit in ("/km", "/mi")

    def __str__(self) -> str:
        if self.is_pace:
            m, s = divmod(self.value, 60)
            sec = f"{int(s):02d}" if s == int(s) else f"{s:06.3f}".rstrip("0")
            return f"{int(m)}:{sec}{self.unit}"
        return f"{format_number(self.value)} {self.unit}"

    def toml(self) -> str:
        """How the dumper writes it: a bare number for km/h, else a string."""
        return format_number(self.value) if self.unit == "km/h" else f'"{self}"'


def parse_speed(value: object) -> Speed:
    if _is_number(value):
        assert isinstance(value, int | float)
        return Speed(float(value), "km/h")
    if not isinstance(value, str):
        raise ValueError(f"speed must be a number or text; {SPEED_HELP}")
    text = value.strip().lower()
    m = _SPEED.match(text)
    if m:
        return Speed(float(m["v"]), "mph" if m["u"] == "mph" else "km/h")
    m = _PACE.match(text)
    if m:
        seconds = int(m["m"]) * 60 + float(m["s"])
        if seconds <= 0:
            raise ValueError(f'pace "{value}" is zero; {SPEED_HELP}')
        return Speed(seconds, "/" + m["u"])
    raise ValueError(f'speed "{value}" is not a speed or a pace; {SPEED_HELP}')


def parse_incline(value: object) -> float:
    if _is_number(value):
        assert isinstance(value, int | float)
        return float(value)
    if isinstance(value, str):
        m = _INCLINE.match(value.strip())
        if m:
            return float(m["v"])
        raise ValueError(f'incline "{value}" is not a percentage; {INCLINE_HELP}')
    raise ValueError(f"incline must be a number; {INCLINE_HELP}")
