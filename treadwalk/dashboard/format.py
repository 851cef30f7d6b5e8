"""Walker-facing text shared by the live view, the charts and the summary: the palette, unit
formatting (km/h, mph, min/km, min/mi) and line helpers that build one ``Text`` of a known width.

May import rich and ``treadwalk.core`` only.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from treadwalk.core.model import Phase, PlanSegment, SessionSnapshot
from treadwalk.core.units import M_PER_MILE, distance_text, format_duration, kmh_to_mph

# What `u` cycles through. metric: km/h; pace: min/km; imperial: mph; pace_imperial: min/mi.
UNIT_MODES: tuple[str, ...] = ("metric", "pace", "imperial", "pace_imperial")
SPEED_UNIT = {"metric": "km/h", "pace": "min/km", "imperial": "mph", "pace_imperial": "min/mi"}

# A calm palette: one colour per quantity, loud colours only for what needs action.
S_SPEED = "bold green"
S_INCLINE = "bold cyan"
S_TIME = "bold white"
S_DIM = "grey58"
S_LABEL = "grey70"
S_KEY = "bold white"
S_WARN = "bold yellow"
S_ALERT = "bold white on red"
S_CUE = "bold black on yellow"
S_DONE = "grey42"

# ---------------------------------------------------------------------------------------------
# Formatting (plain strings)


def is_imperial(mode: str) -> bool:
    return mode in ("imperial", "pace_imperial")


def is_pace(mode: str) -> bool:
    return mode in ("pace", "pace_imperial")


def speed_value(kmh: float | None, mode: str) -> str:
    """The number shown for a speed in this mode: ``5.5`` (km/h or mph) or ``10:55`` (pace)."""
    if kmh is None:
        return "--"
    if is_pace(mode):
        if kmh < 0.5:
            return "--:--"
        per_unit = 3600.0 / (kmh_to_mph(kmh) if is_imperial(mode) else kmh)
        return format_duration(per_unit)
    return f"{kmh_to_mph(kmh) if is_imperial(mode) else kmh:.1f}"


def pace_text(kmh: float | None, imperial: bool) -> str:
    mode = "pace_imperial" if imperial else "pace"
    return f"{speed_value(kmh, mode)} {SPEED_UNIT[mode]}"


def speed_text(kmh: float | None, mode: str) -> str:
    return f"{speed_value(kmh, mode)} {SPEED_UNIT.get(mode, 'km/h')}"


def incline_value(pct: float | None) -> str:
    return "--" if pct is None else f"{pct:.1f}"


def remaining_value(snap: SessionSnapshot, imperial: bool) -> tuple[str, str]:
    """The segment's remaining amount as (number, unit words)."""
    if snap.segment is not None and snap.segment.open and snap.phase is not Phase.COOLDOWN:
        return format_duration(snap.segment_elapsed_s), "time"  # open: no end to count down to
    if snap.segment_remaining_m is not None:
        m = max(0.0, snap.segment_remaining_m)
        if imperial:
            return f"{m / M_PER_MILE:.2f}", "mi left"
        return (f"{m:.0f}", "m left") if m < 1000 else (f"{m / 1000:.2f}", "km left")
    if snap.segment_remaining_s is not None:
        return format_duration(snap.segment_remaining_s), "left"
    return "--", "left"


def segment_length_text(seg: PlanSegment, imperial: bool, extra: float = 0.0) -> str:
    """The segment's length, with what `e` added (``extra``: metres or seconds)."""
    if seg.open:
        return "until n"
    if seg.distance_m is not None:
        return distance_text(seg.distance_m + extra, imperial)
    if seg.duration_s is not None:
        return format_duration(seg.duration_s + extra)
    return format_duration(seg.estimated_duration_s)


def segment_targets_text(seg: PlanSegment, mode: str) -> str:
    speed = speed_text(seg.speed_kmh, mode)
    if seg.end_speed_kmh is not None:
        speed = f"{speed_value(seg.speed_kmh, mode)}→{speed_text(seg.end_speed_kmh, mode)}"
    incline = f"{seg.incline_pct:g} %"
    if seg.end_incline_pct is not None:
        incline = f"{seg.incline_pct:g}→{seg.end_incline_pct:g} %"
    return f"{speed} · {incline}"


# ---------------------------------------------------------------------------------------------
# Line helpers: every line is one Text of at most `width` cells.


def fit(text: Text, width: int) -> Text:
    """Cut ``text`` to ``width`` cells, in place (every Text here is built for one frame)."""
    text.no_wrap = True
    text.overflow = "crop"
    if text.cell_len > width:
        text.truncate(max(0, width), overflow="crop")
    return text


def pad(text: Text, width: int) -> Text:
    out = fit(text, width)
    out.truncate(width, overflow="crop", pad=True)
    return out


def spread(left: Text, center: Text, right: Text, width: int) -> Text:
    """One line with ``left`` at the start, ``center`` centred and ``right`` at the end."""
    line = Text()
    line.append_text(left)
    free = width - left.cell_len - center.cell_len - right.cell_len
    if free < 2:
        line = Text()
        line.append_text(left)
        line.append(" ")
        line.append_text(center)
        line.append(" ")
        line.append_text(right)
        return fit(line, width)
    before = max(1, (width - center.cell_len) // 2 - left.cell_len)
    before = min(before, free - 1)
    line.append(" " * before)
    line.append_text(center)
    line.append(" " * (free - before))
    line.append_text(right)
    return fit(line, width)


def hstack(columns: Sequence[tuple[Sequence[Text], int]]) -> list[Text]:
    height = max((len(rows) for rows, _ in columns), default=0)
    lines: list[Text] = []
    for i in range(height):
        line = Text()
        for rows, w in columns:
            line.append_text(pad(rows[i] if i < len(rows) else Text(), w))
        lines.append(line)
    return lines


def rule(title: Text | str, width: int, style: str = S_DIM) -> Text:
    line = Text("── ", style=style)
    line.append_text(title if isinstance(title, Text) else Text(title, style=S_LABEL))
    line.append(" ")
    line.append("─" * max(0, width - line.cell_len), style=style)
    return fit(line, width)


def pack(items: Sequence[Text], width: int, max_lines: int, sep: str = "   ") -> list[Text]:
    """Lay items left to right, wrapping onto at most ``max_lines`` lines; items that do not
    fit are left out (the list is ordered most important first)."""
    lines: list[Text] = []
    line = Text()
    for item in items:
        add = item.cell_len + (len(sep) if line.cell_len else 0)
        if line.cell_len and line.cell_len + add > width:
            lines.append(line)
            if len(lines) == max_lines:
                return lines
            line = Text()
        if line.cell_len:
            line.append(sep)
        line.append_text(item)
    if line.cell_len:
        lines.append(line)
    return [fit(x, width) for x in lines[:max_lines]]


def labelled(label: str, value: str, style: str = S_TIME) -> Text:
    t = Text(f"{label} ", style=S_LABEL)
    t.append(value, style=style)
    return t


# ---- heart rate -------------------------------------------------------------------------------

ZONE_STYLES = {1: "bold grey70", 2: "bold blue", 3: "bold green", 4: "bold yellow", 5: "bold red"}
_REASONS = {
    "no_contact": "no skin contact",
    "zero": "strap sends 0",
    "invalid": "strap sends 255",
    "out_of_range": "implausible value",
    "stale": "no new reading",
    "no_source": "",
}
_ACTIONS = {
    "raise": "raising",
    "lower": "lowering",
    "ceiling": "easing off: above your ceiling",
    "no_reading": "holding: no reading",
    "ease_back": "easing back: no reading",
    "at_limit": "at its limit",
}


def heart_item(snap: SessionSnapshot) -> Text | None:
    """``♥ 128 bpm Z2`` in the zone's colour; ``♥ -- no skin contact`` when the source has no
    reading; on a segment that holds heart rate, its range and what the controller does."""
    bpm = snap.heart_rate_bpm
    if bpm is None and not _REASONS.get(snap.hr_reason or "no_source") and snap.hr_low_bpm is None:
        return None
    t = Text("♥ ", style="bold red")
    if bpm is None:
        t.append("--", style=S_WARN)
        why = _REASONS.get(snap.hr_reason or "", "")
        if why:
            t.append(f" {why}", style=S_WARN)
    else:
        zone = snap.hr_zone
        style = ZONE_STYLES.get(zone or 0, "bold red")
        t.append(f"{bpm} bpm", style=style)
        if zone:
            t.append(f" Z{zone}", style=style)
    if snap.hr_low_bpm is not None and snap.hr_high_bpm is not None:
        t.append(f" · holding {snap.hr_low_bpm:.0f}–{snap.hr_high_bpm:.0f}", style=S_LABEL)
        if snap.hr_adjust:
            t.append(f" · {snap.hr_adjust} auto", style=S_LABEL)
    if snap.hr_action in _ACTIONS:
        t.append(f" ({_ACTIONS[snap.hr_action]})", style=S_WARN if snap.hr_action != "raise" else S_LABEL)
    if snap.hr_battery_pct is not None and snap.hr_battery_pct <= 15:
        t.append(f" · strap battery {snap.hr_battery_pct} %", style=S_WARN)
    return t


def heart_line(snap: SessionSnapshot) -> str:
    """The same, as plain text (status lines without a terminal)."""
    item = heart_item(snap)
    return item.plain if item is not None else ""
