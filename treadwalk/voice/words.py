"""What is said, in words a walker understands with eyes on their stride. Pure; stdlib and
``treadwalk.core`` only.

Numbers are rounded for speech (a speed to 0.1, an incline to 0.5, a time to the minute past
two minutes); units are words ("kilometres an hour", "minutes per mile"), never symbols.
"""

from __future__ import annotations

import math

from treadwalk.core.model import Plan, PlanSegment
from treadwalk.core.units import KM_PER_MILE, kmh_to_pace_s_per_km, kmh_to_pace_s_per_mile

__all__ = ["duration_words", "incline_words", "plan_texts", "segment_text", "speed_words"]


def _number(value: float, decimals: int = 1) -> str:
    text = f"{round(value, decimals):.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def duration_words(seconds: float) -> str:
    """90 -> "1 minute 30 seconds"; 600 -> "10 minutes"; 4500 -> "1 hour 15 minutes"."""
    total = max(0, round(seconds))
    if total >= 120:  # past two minutes, the seconds are noise when heard
        total = round(total / 60) * 60
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(_plural(hours, "hour"))
    if minutes:
        parts.append(_plural(minutes, "minute"))
    if secs or not parts:
        parts.append(_plural(secs, "second"))
    return " ".join(parts)


def _pace_words(seconds: float | None, per: str) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "standing"
    total = round(seconds / 5) * 5  # a pace heard to the nearest 5 seconds
    minutes, secs = divmod(int(total), 60)
    spoken = _plural(minutes, "minute") + (f" {secs}" if secs else "")
    return f"{spoken} per {per}"


def speed_words(kmh: float, units: str = "metric") -> str:
    """In the walker's units: "5.8 kilometres an hour", "3.6 miles an hour", "10 minutes 20 per
    kilometre" (pace), "16 minutes 5 per mile" (pace_imperial)."""
    if units == "imperial":
        return f"{_number(kmh / KM_PER_MILE)} miles an hour"
    if units == "pace":
        return _pace_words(kmh_to_pace_s_per_km(kmh), "kilometre")
    if units == "pace_imperial":
        return _pace_words(kmh_to_pace_s_per_mile(kmh), "mile")
    return f"{_number(kmh)} kilometres an hour"


def incline_words(pct: float) -> str:
    half = round(pct * 2) / 2
    return "flat" if half == 0 else f"incline {_number(half)}"


def distance_words(metres: float, units: str = "metric") -> str:
    if units in ("imperial", "pace_imperial"):
        miles = metres / 1000 / KM_PER_MILE
        return f"{_number(miles, 2)} miles" if miles < 0.995 or miles > 1.005 else "1 mile"
    if metres < 1000:
        return f"{round(metres / 10) * 10:g} metres"
    km = metres / 1000
    return "1 kilometre" if abs(km - 1) < 0.005 else f"{_number(km, 2)} kilometres"


def segment_text(seg: PlanSegment, units: str = "metric") -> str:
    """ "Brisk: 5.8 kilometres an hour, incline 1, 2 minutes." — what a segment change says."""
    speed = speed_words(seg.speed_kmh, units)
    if seg.end_speed_kmh is not None and abs(seg.end_speed_kmh - seg.speed_kmh) > 0.05:
        start = speed_words(seg.speed_kmh, units).split(" ", 1)
        end = speed_words(seg.end_speed_kmh, units)
        if units in ("pace", "pace_imperial"):
            speed = f"from {speed_words(seg.speed_kmh, units)} to {end}"
        else:  # "3.5 to 5 kilometres an hour"
            speed = f"{start[0]} to {end}"
    incline = incline_words(seg.incline_pct)
    if seg.end_incline_pct is not None and abs(seg.end_incline_pct - seg.incline_pct) > 0.2:
        end_incline = _number(round(seg.end_incline_pct * 2) / 2)
        incline = f"incline {_number(round(seg.incline_pct * 2) / 2)} to {end_incline}"
    if seg.duration_s is not None:
        length = duration_words(seg.duration_s)
    elif seg.distance_m is not None:
        length = distance_words(seg.distance_m, units)
    else:
        length = "until you press n"
    name = seg.name.strip() or seg.kind.value
    return f"{name}: {speed}, {incline}, {length}."


def plan_texts(plan: Plan, units: str = "metric") -> list[str]:
    """The whole plan read aloud once (``profiles show --speak``): its name and length, then each
    segment with its cues."""
    total = sum(s.duration_s or 0.0 for s in plan.segments)
    n = len(plan.segments)
    head = f"{plan.name}. {_plural(n, 'segment')}"
    if total > 0 and all(s.duration_s is not None for s in plan.segments):
        head += f", {duration_words(total)}"
    texts = [head + "."]
    for seg in plan.segments:
        texts.append(segment_text(seg, units))
        texts.extend(f"Cue: {cue.text}" for cue in seg.cues)
    return texts
