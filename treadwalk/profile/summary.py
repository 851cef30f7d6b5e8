"""What ``profiles show`` and ``profiles list`` print: totals, an energy estimate, a plain-text
chart. Stdlib and ``treadwalk.core`` only (no rich: the chart is unicode block characters).

Energy is estimated with the ACSM metabolic equations (ACSM's Guidelines for Exercise Testing
and Prescription): walking VO2 = 3.5 + 0.1·v + 1.8·v·grade, running VO2 = 3.5 + 0.2·v +
0.9·v·grade (ml/kg/min, v in m/min, grade as a fraction, downhill counted as flat), walking
below 8 km/h; 5 kcal per litre of oxygen; 70 kg unless told. It is an estimate, shown as such.
"""

from __future__ import annotations

from treadwalk.core.model import Plan, PlanSegment
from treadwalk.core.units import (
    KM_PER_MILE,
    distance_text,
    format_duration,
    kmh_to_pace_s_per_km,
    kmh_to_pace_s_per_mile,
)

__all__ = ["chart", "energy_kcal", "format_distance", "format_speed"]

BLOCKS = " ▁▂▃▄▅▆▇█"
RUN_FROM_KMH = 8.0


def _vo2(kmh: float, incline_pct: float) -> float:
    v = kmh * 1000.0 / 60.0
    grade = max(incline_pct, 0.0) / 100.0
    if kmh < RUN_FROM_KMH:
        return 3.5 + 0.1 * v + 1.8 * v * grade
    return 3.5 + 0.2 * v + 0.9 * v * grade


def energy_kcal(plan: Plan, weight_kg: float = 70.0) -> float:
    total = 0.0
    for seg in plan.segments:
        minutes = seg.estimated_duration_s / 60.0
        steps = 20 if (seg.end_speed_kmh is not None or seg.end_incline_pct is not None) else 1
        for i in range(steps):
            f = (i + 0.5) / steps
            total += _vo2(seg.speed_at(f), seg.incline_at(f)) * weight_kg / 1000.0 * 5.0 * minutes / steps
    return total


def format_speed(kmh: float, units: str = "metric") -> str:
    if units == "imperial":
        return f"{kmh / KM_PER_MILE:.1f} mph"
    if units == "pace":
        pace = kmh_to_pace_s_per_km(kmh)
        return f"{format_duration(pace)}/km" if pace else "-"
    return f"{kmh:.1f} km/h"


def format_pace_mile(kmh: float) -> str:
    pace = kmh_to_pace_s_per_mile(kmh)
    return f"{format_duration(pace)}/mi" if pace else "-"


def format_distance(metres: float, units: str = "metric") -> str:
    return distance_text(metres, units == "imperial")


def _at(plan: Plan, t: float) -> tuple[PlanSegment, float]:
    start = 0.0
    for seg in plan.segments:
        d = seg.estimated_duration_s
        if t < start + d or seg is plan.segments[-1]:
            return seg, (t - start) / d if d else 0.0
        start += d
    raise ValueError("empty plan")


def _bars(values: list[float], low: float, high: float, height: int) -> list[str]:
    span = high - low or 1.0
    levels = [round((v - low) / span * height * 8) for v in values]
    rows = []
    for r in range(height - 1, -1, -1):
        row = "".join(BLOCKS[min(max(lv - r * 8, 0), 8)] for lv in levels)
        rows.append(row)
    return rows


def chart(plan: Plan, width: int = 60, units: str = "metric") -> list[str]:
    """Speed (6 rows) and incline (4 rows) over time, as lines of text."""
    total = plan.duration_s
    if not plan.segments or total <= 0:
        return []
    speeds, inclines = [], []
    for c in range(width):
        seg, f = _at(plan, (c + 0.5) / width * total)
        speeds.append(seg.speed_at(f))
        inclines.append(seg.incline_at(f))
    top_speed, low_speed = max(speeds), min(speeds)
    # a floor under the slowest speed, so changes show (a chart from 0 km/h is all bar)
    low_speed = max(0.0, low_speed - max(0.5, 0.25 * (top_speed - low_speed)))
    top_inc = max(max(inclines), 1.0)
    low_inc = min(0.0, min(inclines))
    label_w = 10
    lines = []
    speed_rows = _bars(speeds, low_speed, top_speed, 6)
    for i, row in enumerate(speed_rows):
        label = {0: format_speed(top_speed, units), 2: "speed", 5: format_speed(low_speed, units)}.get(i, "")
        lines.append(f"{label:>{label_w}} │{row}")
    lines.append(f"{'':>{label_w}} │")
    for i, row in enumerate(_bars(inclines, low_inc, top_inc, 4)):
        label = {0: f"{top_inc:g} %", 1: "incline", 3: f"{low_inc:g} %"}.get(i, "")
        lines.append(f"{label:>{label_w}} │{row}")
    axis = "└" + "─" * width
    lines.append(f"{'':>{label_w}} {axis}")
    end = format_duration(total)
    lines.append(f"{'':>{label_w}}  0:00{end:>{width - 4}}")
    return lines
