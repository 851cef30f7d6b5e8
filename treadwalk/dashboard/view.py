"""Pure rendering: a ``SessionSnapshot`` (plus a little view state) to Rich renderables.

``render(snapshot, width, height, view)`` returns at most ``height`` lines, none wider than
``width``, so a test renders it to ``Console(record=True, width=..., height=...)`` without a
terminal and the live screen never scrolls. Every line is built here as a ``Text`` so the
height is known exactly; sections that do not fit are dropped in a fixed order (least useful
first). Nothing here reads the clock, the terminal or the engine.

May import rich and ``treadwalk.core`` only.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from treadwalk.core.model import (
    ConnectionState,
    PausedBy,
    Phase,
    Plan,
    PlanSegment,
    SessionEvent,
    SessionSnapshot,
    StopReason,
)
from treadwalk.core.units import format_duration, kmh_to_mph

from .bigtext import big_rows, big_width
from .summary import INCLINE_BANDS, SessionSummary

__all__ = [
    "UNIT_MODES",
    "View",
    "help_line",
    "next_units",
    "plain_event_line",
    "plain_status_line",
    "render",
    "render_summary",
]

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

PHASE_WORD = {
    Phase.CONNECTING: ("CONNECTING", "yellow"),
    Phase.READY: ("READY", "bold cyan"),
    Phase.COUNTDOWN: ("STARTING", "bold yellow"),
    Phase.RUNNING: ("RUNNING", "bold green"),
    Phase.PAUSED: ("PAUSED", "bold black on yellow"),
    Phase.COOLDOWN: ("COOL-DOWN", "bold cyan"),
    Phase.FINISHED: ("FINISHED", "bold green"),
    Phase.ABORTED: ("STOPPED", "bold red"),
}
CONNECTION_WORD = {
    ConnectionState.CONNECTING: ("◌ connecting", "yellow"),
    ConnectionState.CONNECTED: ("● connected", "green"),
    ConnectionState.RECONNECTING: ("◌ reconnecting…", S_WARN),
    ConnectionState.CONTROL_LOST: ("✕ CONTROL LOST", S_ALERT),
    ConnectionState.DISCONNECTED: ("✕ disconnected", "bold red"),
}
STOP_WORDS = {
    StopReason.FINISHED: "profile finished",
    StopReason.USER: "stopped by you",
    StopReason.MACHINE: "stopped on the treadmill",
    StopReason.CONNECTION_LOST: "the treadmill did not come back",
    StopReason.ERROR: "stopped by an error",
}


@dataclass(frozen=True, slots=True)
class View:
    """What the dashboard adds to a snapshot: the walker's display choices and recent history.

    ``units`` None means the snapshot's preference. ``confirm_stop`` shows the q-confirmation.
    """

    units: str | None = None
    confirm_stop: bool = False
    events: tuple[SessionEvent, ...] = ()
    summary: SessionSummary | None = None
    saved_to: str | None = None
    notice: str | None = None  # a local hint, e.g. "press Enter to start"
    position_s: float | None = None  # last place on the plan (for a cool-down outside the plan)


def in_cooldown(snap: SessionSnapshot | None) -> bool:
    """The engine's cool-down (after the plan or a stop), running or paused: no segment."""
    if snap is None:
        return False
    return snap.phase == Phase.COOLDOWN or (snap.phase == Phase.PAUSED and snap.segment_index is None)


def next_units(mode: str) -> str:
    i = UNIT_MODES.index(mode) if mode in UNIT_MODES else 0
    return UNIT_MODES[(i + 1) % len(UNIT_MODES)]


# ---------------------------------------------------------------------------------------------
# Formatting (plain strings)


def _imperial(mode: str) -> bool:
    return mode in ("imperial", "pace_imperial")


def _pace_mode(mode: str) -> bool:
    return mode in ("pace", "pace_imperial")


def speed_value(kmh: float | None, mode: str) -> str:
    """The number shown for a speed in this mode: ``5.5`` (km/h or mph) or ``10:55`` (pace)."""
    if kmh is None:
        return "--"
    if _pace_mode(mode):
        if kmh < 0.5:
            return "--:--"
        per_unit = 3600.0 / (kmh_to_mph(kmh) if _imperial(mode) else kmh)
        return format_duration(per_unit)
    return f"{kmh_to_mph(kmh) if _imperial(mode) else kmh:.1f}"


def pace_text(kmh: float | None, imperial: bool) -> str:
    mode = "pace_imperial" if imperial else "pace"
    return f"{speed_value(kmh, mode)} {SPEED_UNIT[mode]}"


def speed_text(kmh: float | None, mode: str) -> str:
    return f"{speed_value(kmh, mode)} {SPEED_UNIT.get(mode, 'km/h')}"


def distance_text(m: float, imperial: bool) -> str:
    if imperial:
        return f"{m / 1609.344:.2f} mi"
    return f"{m / 1000:.2f} km"


def ascent_text(m: float, imperial: bool) -> str:
    return f"{m * 3.28084:.0f} ft" if imperial else f"{m:.0f} m"


def incline_value(pct: float | None) -> str:
    return "--" if pct is None else f"{pct:.1f}"


def remaining_value(snap: SessionSnapshot, imperial: bool) -> tuple[str, str]:
    """The segment's remaining amount as (number, unit words)."""
    if snap.segment_remaining_m is not None:
        m = max(0.0, snap.segment_remaining_m)
        if imperial:
            return f"{m / 1609.344:.2f}", "mi left"
        return (f"{m:.0f}", "m left") if m < 1000 else (f"{m / 1000:.2f}", "km left")
    if snap.segment_remaining_s is not None:
        return format_duration(snap.segment_remaining_s), "left"
    return "--", "left"


def segment_length_text(seg: PlanSegment, imperial: bool, extra: float = 0.0) -> str:
    """The segment's length, with what `e` added (``extra``: metres or seconds)."""
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


def _mode(snap: SessionSnapshot | None, view: View) -> str:
    mode = view.units or (snap.units if snap is not None else "metric")
    return mode if mode in UNIT_MODES else "metric"


# ---------------------------------------------------------------------------------------------
# Line helpers: every line is one Text of at most `width` cells.


def _fit(text: Text, width: int) -> Text:
    """Cut ``text`` to ``width`` cells, in place (every Text here is built for one frame)."""
    text.no_wrap = True
    text.overflow = "crop"
    if text.cell_len > width:
        text.truncate(max(0, width), overflow="crop")
    return text


def _pad(text: Text, width: int) -> Text:
    out = _fit(text, width)
    out.truncate(width, overflow="crop", pad=True)
    return out


def _spread(left: Text, center: Text, right: Text, width: int) -> Text:
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
        return _fit(line, width)
    before = max(1, (width - center.cell_len) // 2 - left.cell_len)
    before = min(before, free - 1)
    line.append(" " * before)
    line.append_text(center)
    line.append(" " * (free - before))
    line.append_text(right)
    return _fit(line, width)


def _hstack(columns: Sequence[tuple[Sequence[Text], int]]) -> list[Text]:
    height = max((len(rows) for rows, _ in columns), default=0)
    lines: list[Text] = []
    for i in range(height):
        line = Text()
        for rows, w in columns:
            line.append_text(_pad(rows[i] if i < len(rows) else Text(), w))
        lines.append(line)
    return lines


def _rule(title: Text | str, width: int, style: str = S_DIM) -> Text:
    line = Text("── ", style=style)
    line.append_text(title if isinstance(title, Text) else Text(title, style=S_LABEL))
    line.append(" ")
    line.append("─" * max(0, width - line.cell_len), style=style)
    return _fit(line, width)


def _pack(items: Sequence[Text], width: int, max_lines: int, sep: str = "   ") -> list[Text]:
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
    return [_fit(x, width) for x in lines[:max_lines]]


def _item(label: str, value: str, style: str = S_TIME) -> Text:
    t = Text(f"{label} ", style=S_LABEL)
    t.append(value, style=style)
    return t


# ---------------------------------------------------------------------------------------------
# Sections


def _header(snap: SessionSnapshot | None, width: int) -> Text:
    name = snap.plan.name if snap is not None else ""
    left = Text("treadwalk", style="bold")
    if name:
        left.append(f" · {name}", style=S_LABEL)
    if snap is None:
        return _spread(left, Text("waiting", style=S_DIM), Text(), width)
    word, style = PHASE_WORD[snap.phase]
    center = Text(f" {word} ", style=style)
    if snap.phase == Phase.PAUSED and snap.paused_by is PausedBy.MACHINE:
        center.append(" by the treadmill", style=S_WARN)
    elif snap.phase == Phase.PAUSED and snap.paused_by is PausedBy.REMOTE:
        center.append(" remotely", style=S_WARN)
    cword, cstyle = CONNECTION_WORD[snap.connection]
    right = Text(cword, style=cstyle)
    return _spread(left, center, right, width)


KEYS_RUNNING: tuple[tuple[str, str], ...] = (
    ("space", "pause"),
    ("+/-", "speed"),
    ("]/[", "incline"),
    ("n", "skip"),
    ("e", "extend"),
    ("u", "units"),
    ("q", "stop"),
    ("x", "STOP NOW"),
)
KEYS_READY: tuple[tuple[str, str], ...] = (
    ("Enter", "start the belt"),
    ("u", "units"),
    ("q", "quit"),
    ("x", "STOP NOW"),
)
KEYS_COUNTDOWN: tuple[tuple[str, str], ...] = (
    ("space", "wait, not yet"),
    ("q", "quit"),
    ("x", "STOP NOW"),
)
# The cool-down keeps its own easy pace: +/-, ]/[ and e do nothing there.
KEYS_COOLDOWN: tuple[tuple[str, str], ...] = (
    ("space", "pause"),
    ("u", "units"),
    ("q", "end now"),
    ("x", "STOP NOW"),
)


def help_line(phase: Phase | None, width: int, *, cooldown: bool = False) -> Text:
    """The keys for this phase, shortened until it fits ``width``. ``cooldown``: a pause
    during the cool-down (the phase then says PAUSED)."""
    if phase in (Phase.READY, Phase.CONNECTING, None):
        keys = KEYS_READY
    elif phase == Phase.COUNTDOWN:
        keys = KEYS_COUNTDOWN
    elif phase in (Phase.FINISHED, Phase.ABORTED):
        return Text("session over", style=S_DIM)
    else:
        keys = KEYS_COOLDOWN if phase == Phase.COOLDOWN or cooldown else KEYS_RUNNING
        if phase == Phase.PAUSED:  # space now resumes
            keys = tuple(("space", "resume") if key == "space" else (key, what) for key, what in keys)
    for sep in ("  ", " "):
        line = Text()
        for i, (key, what) in enumerate(keys):
            if i:
                line.append(sep)
            style = S_ALERT if what == "STOP NOW" else S_KEY
            line.append(f" {key} " if what == "STOP NOW" else key, style=style)
            line.append(f" {what}", style=S_DIM)
        if line.cell_len <= width:
            return line
    return _fit(line, width)


def _arrow(actual: float | None, target: float | None, tolerance: float) -> str:
    if actual is None or target is None or abs(actual - target) <= tolerance:
        return ""
    return "▲" if target > actual else "▼"


def _big_block(
    label: str,
    value: str,
    caption: Text,
    width: int,
    scale: int,
    style: str,
) -> list[Text]:
    rows = [Text(label, style=S_LABEL)]
    n = 3 * max(1, scale)
    for s in range(scale, 0, -1):  # the biggest digits that fit, padded to the same height
        if big_width(value, s) <= width - 1:
            rows += [Text(r, style=style) for r in big_rows(value, s)] + [Text()] * (n - 3 * s)
            break
    else:  # too narrow for big digits: a bold number
        rows += [Text(value, style=style)] + [Text()] * (n - 1)
    rows.append(caption)
    return rows


def _target_caption(arrow: str, value: str, style: str, delta: str, capped: bool, width: int) -> Text:
    """``▲ target 6.0 (+0.5 yours) capped``, shortened until it fits ``width`` cells (a column
    of the big numbers: a longer caption would run into the next one)."""
    for words in (True, False):
        for yours in (True, False):
            cap = Text()
            if arrow:
                cap.append(f"{arrow} ", style=S_WARN)
            if words:
                cap.append("target ", style=S_LABEL)
            cap.append(value, style=style)
            if delta:
                cap.append(f" ({delta} yours)" if yours else f" ({delta})", style=S_WARN)
            if capped:
                cap.append(" capped", style=S_WARN)
            if cap.cell_len <= width:
                return cap
    return _fit(cap, width)


def _numbers(snap: SessionSnapshot, mode: str, width: int, scale: int) -> list[Text]:
    m = snap.machine
    imperial = _imperial(mode)
    col = width // 3
    clamped = snap.clamped or ""
    # speed
    delta = ""
    if snap.speed_override_kmh:
        shown = kmh_to_mph(snap.speed_override_kmh) if imperial else snap.speed_override_kmh
        delta = f"{shown:+.1f}"
    # the arrow says the belt is still getting to its target: not while it stands paused
    moving = snap.phase in (Phase.RUNNING, Phase.COOLDOWN)
    cap = _target_caption(
        _arrow(m.speed_kmh, snap.target_speed_kmh, 0.05) if moving else "",
        speed_value(snap.target_speed_kmh, mode),
        S_SPEED,
        delta,
        "speed" in clamped,
        col - 1,
    )
    speed_label = "PACE " if _pace_mode(mode) else "SPEED "
    a = _big_block(speed_label + SPEED_UNIT[mode], speed_value(m.speed_kmh, mode), cap, col, scale, S_SPEED)
    # incline
    delta = f"{snap.incline_override_pct:+.1f}" if snap.incline_override_pct else ""
    cap = _target_caption(
        _arrow(m.incline_pct, snap.target_incline_pct, 0.25) if moving else "",
        incline_value(snap.target_incline_pct),
        S_INCLINE,
        delta,
        "incline" in clamped,
        col - 1,
    )
    b = _big_block("INCLINE %", incline_value(m.incline_pct), cap, col, scale, S_INCLINE)
    # segment remaining
    value, unit = remaining_value(snap, imperial)
    seg = snap.segment
    cap = Text()
    if seg is not None:
        cap.append(f"of {segment_length_text(seg, imperial, snap.segment_extra)}", style=S_LABEL)
    c = _big_block(f"SEGMENT {unit.upper()}", value, cap, width - 2 * col, scale, S_TIME)
    return _hstack([(a, col), (b, col), (c, width - 2 * col)])


def _stats(snap: SessionSnapshot, mode: str, width: int, max_lines: int) -> list[Text]:
    imperial = _imperial(mode)
    m = snap.machine
    items: list[Text] = []
    if _pace_mode(mode):
        items.append(_item("speed", speed_text(m.speed_kmh, "imperial" if imperial else "metric")))
    else:
        items.append(_item("pace", pace_text(m.speed_kmh, imperial)))
    items.append(_item("elapsed", format_duration(snap.session_elapsed_s)))
    if snap.session_remaining_s is not None:
        items.append(_item("to go", format_duration(snap.session_remaining_s)))
    items.append(_item("distance", distance_text(snap.distance_m, imperial)))
    items.append(_item("ascent", ascent_text(snap.ascent_m, imperial)))
    if snap.energy_kcal is not None:
        items.append(_item("energy", f"{snap.energy_kcal:.0f} kcal"))
    if m.heart_rate_bpm is not None:
        items.append(_item("♥", f"{m.heart_rate_bpm} bpm", "bold red"))
    if m.steps is not None:
        items.append(_item("steps", f"{m.steps:,}"))
    return _pack(items, width, max_lines)


def _segment_title(snap: SessionSnapshot, seg: PlanSegment, mode: str) -> Text:
    assert snap.segment_index is not None
    t = Text(f"{snap.segment_index + 1}/{len(snap.plan.segments)} ", style=S_LABEL)
    t.append(seg.name, style="bold")
    t.append(f" · {seg.kind}", style=S_LABEL)
    if seg.repeat:
        t.append(f" · round {seg.repeat}", style=S_LABEL)
    t.append(f" · {segment_targets_text(seg, mode)}", style=S_LABEL)
    return t


def _progress(snap: SessionSnapshot, width: int, imperial: bool) -> Text:
    seg = snap.segment
    if seg is None:
        return Text()
    if seg.distance_m is not None:
        walked = seg.distance_m + snap.segment_extra - (snap.segment_remaining_m or 0.0)
        done = distance_text(max(0.0, walked), imperial)
    else:
        done = format_duration(snap.segment_elapsed_s)
    tail = f" {done} / {segment_length_text(seg, imperial, snap.segment_extra)}"
    bar_w = max(0, width - len(tail))
    p = min(max(snap.segment_progress, 0.0), 1.0)
    full = round(p * bar_w)
    line = Text("█" * full, style="green")
    line.append("░" * (bar_w - full), style=S_DONE)
    line.append(tail, style=S_LABEL)
    return _fit(line, width)


def _cue_line(snap: SessionSnapshot, width: int) -> Text:
    if snap.cue:
        return _fit(Text(f" » {snap.cue} ", style=S_CUE), width)
    seg = snap.segment
    if seg is None:
        return Text()
    for cue in seg.cues:  # the next cue of this segment, quietly
        if cue.at_s is not None and cue.at_s > snap.segment_elapsed_s:
            wait = format_duration(cue.at_s - snap.segment_elapsed_s)
            return _fit(Text(f" · in {wait}: {cue.text}", style=S_DIM), width)
    return Text()


def _next_line(snap: SessionSnapshot, mode: str, width: int) -> Text:
    imperial = _imperial(mode)
    nxt = snap.next_segment if snap.segment_index is not None else None
    line = Text("Next ▸ ", style=S_LABEL)
    value, unit = remaining_value(snap, imperial)
    when = f"in {value}" + (" " + unit.replace(" left", "") if unit != "left" else "")
    if in_cooldown(snap) and nxt is None:
        line.append("stop", style="bold")
        line.append(f"  {when}", style=S_TIME)
        return _fit(line, width)
    if nxt is None:
        line.append("finish", style="bold")
        line.append(f"  {when}", style=S_TIME)
        return _fit(line, width)
    line.append(nxt.name, style="bold")
    line.append(f" · {segment_targets_text(nxt, mode)} · {segment_length_text(nxt, imperial)}", style=S_LABEL)
    line.append(f"  {when}", style=S_TIME)
    return _fit(line, width)


def plan_position_s(snap: SessionSnapshot) -> float:
    """Where the walker is on the plan's own time axis (estimated durations)."""
    if snap.segment_index is None:
        return 0.0 if snap.phase not in (Phase.FINISHED, Phase.ABORTED) else snap.plan.duration_s
    segs = snap.plan.segments
    before = sum(s.estimated_duration_s for s in segs[: snap.segment_index])
    seg = snap.segment
    if seg is None:
        return snap.plan.duration_s
    return before + min(max(snap.segment_progress, 0.0), 1.0) * seg.estimated_duration_s


_SPARK = " ▁▂▃▄▅▆▇█"


def _chart_rows(values: Sequence[float], lo: float, hi: float, rows: int) -> list[str]:
    """Values as a bar chart of ``rows`` rows of eighth blocks; the top row first."""
    span = max(hi - lo, 1e-9)
    out = [[" "] * len(values) for _ in range(rows)]
    for c, v in enumerate(values):
        eighths = round(min(max((v - lo) / span, 0.0), 1.0) * rows * 8)
        eighths = max(eighths, 1)  # always a sliver, so every column is visible
        for r in range(rows):
            fill = min(8, max(0, eighths - r * 8))
            out[rows - 1 - r][c] = _SPARK[fill]
    return ["".join(row) for row in out]


@functools.lru_cache(maxsize=16)
def _plan_chart(
    plan: Plan, w: int, speed_rows: int, incline_rows: int
) -> tuple[tuple[int, ...], list[str], list[str]]:
    """For each of ``w`` columns: the segment it shows, and the chart rows (plan only, so
    cached: a frame only restyles them)."""
    total = plan.duration_s
    starts: list[float] = []
    t = 0.0
    for s in plan.segments:
        starts.append(t)
        t += s.estimated_duration_s
    col_seg: list[int] = []
    speeds: list[float] = []
    inclines: list[float] = []
    i = 0
    for c in range(w):
        tc = (c + 0.5) * total / w
        while i + 1 < len(starts) and starts[i + 1] <= tc:
            i += 1
        seg = plan.segments[i]
        frac = (tc - starts[i]) / max(seg.estimated_duration_s, 1e-9)
        col_seg.append(i)
        speeds.append(seg.speed_at(frac))
        inclines.append(seg.incline_at(frac))
    hi_speed = max(plan.max_speed_kmh, 0.1)
    # Walking speeds sit in a narrow band: start the axis just under the slowest one.
    lo_speed = max(0.0, float(int(min(speeds))) - 1.0)
    lo_incline = min(0.0, min(inclines))
    hi_incline = max(1.0, plan.max_incline_pct)
    speed = _chart_rows(speeds, lo_speed, hi_speed, speed_rows) if speed_rows else []
    incline = _chart_rows(inclines, lo_incline, hi_incline, incline_rows) if incline_rows else []
    return tuple(col_seg), speed, incline


def _timeline(
    snap: SessionSnapshot,
    width: int,
    speed_rows: int,
    incline_rows: int,
    axis: bool,
    position_s: float | None = None,
) -> list[Text]:
    plan: Plan = snap.plan
    gutter = 8
    w = max(4, width - gutter)
    total = plan.duration_s
    if total <= 0 or not plan.segments:
        return []
    col_seg, speed_chart, incline_chart = _plan_chart(plan, w, speed_rows, incline_rows)
    pos = plan_position_s(snap)
    if snap.segment_index is None and position_s is not None:  # a stop's cool-down: where it began
        pos = position_s
    here = min(w - 1, int(pos / total * w))
    started = snap.phase not in (Phase.CONNECTING, Phase.READY, Phase.COUNTDOWN)
    current = snap.segment_index if started else None

    def styled(rows: list[str], label: str, color: str) -> list[Text]:
        # walked: shaded; the current segment: bold; the rest: plain colour. Runs, not cells.
        kinds = [0 if started and c < here else 1 if col_seg[c] == current else 2 for c in range(w)]
        styles = (S_DONE, f"bold {color}", color)
        runs: list[tuple[int, int, str]] = []
        start = 0
        for c in range(1, w + 1):
            if c == w or kinds[c] != kinds[start]:
                runs.append((start, c, styles[kinds[start]]))
                start = c
        lines = []
        for r, row in enumerate(rows):
            line = Text(label.ljust(gutter) if r == len(rows) - 1 else " " * gutter, style=S_LABEL)
            for a, b, style in runs:
                line.append(row[a:b], style=style)
            lines.append(line)
        return lines

    lines: list[Text] = []
    if speed_chart:
        lines += styled(speed_chart, "speed", "green")
    if incline_chart:
        lines += styled(incline_chart, "incline", "cyan")
    marker = Text(" " * gutter)
    if started:
        label = "you are here"
        if gutter + here + 2 + len(label) <= width:
            marker.append("━" * here, style=S_DONE)
            marker.append("▲", style="bold yellow")
            marker.append(" " + label, style=S_LABEL)
        else:  # near the end: the words go before the marker
            marker.append("━" * max(0, here - len(label) - 1), style=S_DONE)
            marker.append(label + " ", style=S_LABEL)
            marker.append("▲", style="bold yellow")
    else:
        marker.append("▲", style="bold yellow")
        marker.append(" start", style=S_LABEL)
    lines.append(_fit(marker, width))
    if axis:
        end = format_duration(total)
        ax = Text(" " * gutter + "0:00", style=S_DIM)
        ax.append(" " * max(1, w - 4 - len(end)) + end, style=S_DIM)
        lines.append(_fit(ax, width))
    return [_fit(x, width) for x in lines]


def _message(snap: SessionSnapshot, view: View, width: int) -> Text:
    if view.confirm_stop or snap.confirm_stop:
        return _fit(Text(" Stop the session?  q or y: stop   any other key: carry on ", style=S_ALERT), width)
    if snap.connection == ConnectionState.CONTROL_LOST:
        text = " Control lost: another app or the console took over. Targets paused until it is back. "
        return _fit(Text(text, style=S_ALERT), width)
    if snap.connection == ConnectionState.RECONNECTING:
        return _fit(
            Text(" Link lost: reconnecting… the session goes on when it is back. ", style=S_WARN), width
        )
    if snap.phase == Phase.PAUSED and snap.paused_by is PausedBy.MACHINE:
        text = " The treadmill paused itself. Press space (or its Start button) to resume. "
        return _fit(Text(text, style=S_WARN), width)
    if view.notice:  # the answer to a key just pressed (the live loop lets it go after a while)
        return _fit(Text(f" {view.notice}", style=S_LABEL), width)
    if snap.clamped:
        return _fit(Text(f" ! target capped: {snap.clamped}", style=S_WARN), width)
    if snap.message:
        return _fit(Text(f" {snap.message}", style=S_WARN), width)
    return Text()


def _events(view: View, width: int, n: int) -> list[Text]:
    shown = [e for e in view.events if e.kind not in ("command",)][-n:]
    lines = []
    for e in shown:
        line = Text(f"{e.kind:<12}", style=S_DIM)
        line.append(e.message, style=S_LABEL)
        lines.append(_fit(line, width))
    return lines


# ---------------------------------------------------------------------------------------------
# Layout


@dataclass(slots=True)
class _Section:
    lines: list[Text]
    drop: int  # 0: never dropped; higher numbers are dropped first
    fill: str = ""  # "chart" | "recent": drawn by render once the room is known


def _assemble(sections: list[_Section], height: int) -> list[Text]:
    order = sorted({s.drop for s in sections if s.drop}, reverse=True)
    keep = list(sections)
    for level in order:
        if sum(len(s.lines) for s in keep) <= height:
            break
        keep = [s for s in keep if s.drop != level]
    lines = [line for s in keep for line in s.lines]
    return lines[:height]


def _blank() -> list[Text]:
    return [Text()]


def render(
    snapshot: SessionSnapshot | None,
    width: int,
    height: int,
    view: View | None = None,
) -> RenderableType:
    """The whole screen for one snapshot: at most ``height`` lines of at most ``width`` cells.

    The layout grows with the terminal: bigger digits from 100x30, taller plan charts and a
    list of recent events when there is room; at 80x24 everything essential fits.
    """
    view = view or View()
    width = max(20, width)
    height = max(3, height)
    snap = snapshot
    if snap is None:
        return Group(_header(None, width), Text("Waiting for the session…", style=S_DIM))
    if snap.phase in (Phase.FINISHED, Phase.ABORTED):
        return _render_end(snap, view, width, height)
    large = width >= 100 and height >= 30
    sections = _sections(snap, view, width, height, large)
    # The plan chart takes what is left: the tallest that fits with nothing else dropped;
    # on a tall screen the recent events take the rest.
    fixed = _height(sections)
    rows = _CHART_CANDIDATES[-1]
    for rows in _CHART_CANDIDATES:
        if fixed + rows[0] + rows[1] + 1 <= height:
            break
    spare = height - fixed - (rows[0] + rows[1] + 1)
    for section in sections:
        if section.fill == "chart":
            section.lines = _timeline(snap, width, rows[0], rows[1], axis=False, position_s=view.position_s)
        elif section.fill == "recent" and spare >= 3 and view.events:
            events = _events(view, width, spare - 1)
            section.lines = [_rule("recent", width), *events] if events else []
    return Lines(_assemble(sections, height))


_CHART_CANDIDATES: tuple[tuple[int, int], ...] = ((4, 3), (3, 2), (2, 2), (2, 1), (1, 1))


def _height(sections: list[_Section]) -> int:
    return sum(len(s.lines) for s in sections)


class Lines:
    """Lines already cut to width: rendered as they are, without Rich wrapping them again."""

    def __init__(self, lines: list[Text]) -> None:
        self.lines = lines

    def key(self) -> tuple[object, ...]:
        """Equal keys draw equal screens (the live loop skips such frames)."""
        return tuple((line.plain, line.style, tuple(line.spans)) for line in self.lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line.render(console)
            yield Segment.line()


def _sections(
    snap: SessionSnapshot,
    view: View,
    width: int,
    height: int,
    large: bool,
) -> list[_Section]:
    """The screen's sections; the plan chart and the recent events are left empty (``fill``)
    for ``render`` to size and draw once."""
    mode = _mode(snap, view)
    scale = 2 if large else 1
    header = _Section([_header(snap, width)], 0)
    help_ = _Section([help_line(snap.phase, width, cooldown=in_cooldown(snap))], 0)
    message = _Section([_message(snap, view, width)], 0)
    recent = _Section([], 7, fill="recent")

    def timeline(drop: int, axis_drop: int) -> list[_Section]:
        plan = snap.plan
        title = Text(f"plan · {format_duration(plan.duration_s)} · ", style=S_LABEL)
        title.append(
            f"{distance_text(plan.distance_m, _imperial(mode))} · {len(plan.segments)} segments",
            style=S_LABEL,
        )
        axis = _timeline(snap, width, 0, 0, axis=True)[-1:]
        return [
            _Section([_rule(title, width)], drop + 1),
            _Section([], drop, fill="chart"),
            _Section(axis, axis_drop),
        ]

    sections: list[_Section]
    if snap.phase in (Phase.CONNECTING, Phase.READY):
        sections = [header, _Section(_blank(), 9)]
        plan = snap.plan
        if snap.phase == Phase.CONNECTING:
            sections.append(_Section([Text("Connecting to the treadmill…", style=S_WARN)], 0))
        else:
            title = Text("Ready: ", style=S_LABEL)
            title.append(plan.name, style="bold")
            sections.append(_Section([_fit(title, width)], 0))
            go = Text(" Stand on the side rails, then press ", style="bold")
            go.append(" Enter ", style="bold black on green")
            go.append(" to start the belt. ", style="bold")
            sections.append(_Section([_fit(go, width)], 0))
        imperial = _imperial(mode)
        facts = (
            f"{format_duration(plan.duration_s)} · {distance_text(plan.distance_m, imperial)} · "
            f"{ascent_text(plan.ascent_m, imperial)} up · {len(plan.segments)} segments · "
            f"top {speed_text(plan.max_speed_kmh, mode)}, {plan.max_incline_pct:g} %"
        )
        sections.append(_Section([_fit(Text(facts, style=S_LABEL), width)], 3))
        if plan.description:
            wrapped = textwrap.wrap(plan.description, width)[:3]
            sections.append(_Section([Text(x, style=S_DIM) for x in wrapped], 4))
        first = plan.segments[0] if plan.segments else None
        if first is not None:
            t = Text("First ▸ ", style=S_LABEL)
            t.append(first.name, style="bold")
            t.append(
                f" · {segment_targets_text(first, mode)} · {segment_length_text(first, imperial)}",
                style=S_LABEL,
            )
            sections.append(_Section([_fit(t, width)], 2))
        sections += [_Section(_blank(), 8), *timeline(5, 6)]
        sections.append(recent)
        sections += [_Section(_blank(), 9), message, help_]
    elif snap.phase == Phase.COUNTDOWN:
        n = snap.countdown_s if snap.countdown_s is not None else 0.0
        value = str(max(0, int(-(-n // 1))))  # ceil: 3, 2, 1
        big_scale = 3 if large else 2 if height >= 18 else 1
        digits = [_pad(Text(r, style="bold yellow"), width) for r in big_rows(value, big_scale)]
        digits = [Text(" " * max(0, (width - big_width(value, big_scale)) // 2)) + d for d in digits]
        sections = [header, _Section(_blank(), 9)]
        sections.append(_Section([Text(f"The belt starts in {value}", style="bold")], 0))
        sections.append(_Section([_fit(d, width) for d in digits], 0))
        first = snap.segment or (snap.plan.segments[0] if snap.plan.segments else None)
        if first is not None:
            t = Text("Hold the rails. First ▸ ", style=S_LABEL)
            t.append(first.name, style="bold")
            t.append(f" · {segment_targets_text(first, mode)}", style=S_LABEL)
            sections.append(_Section([_fit(t, width)], 2))
        sections += [_Section(_blank(), 8), *timeline(5, 6), _Section(_blank(), 9), message, help_]
    else:  # RUNNING, PAUSED, COOLDOWN
        seg = snap.segment
        sections = [header, _Section(_blank(), 9)]
        sections.append(_Section(_numbers(snap, mode, width, scale), 0))
        sections.append(_Section(_blank(), 9))
        stats = _stats(snap, mode, width, 2)
        sections.append(_Section(stats[:1], 0))
        more = stats[1:]
        if more:
            sections.append(_Section(more, 4))
        if seg is not None:
            sections.append(_Section([_rule(_segment_title(snap, seg, mode), width)], 3))
            sections.append(_Section([_progress(snap, width, _imperial(mode))], 2))
            sections.append(_Section([_cue_line(snap, width)], 0))
        elif in_cooldown(snap):
            sections.append(
                _Section([Text("Cool-down: easing off before the belt stops.", style=S_LABEL)], 0)
            )
        sections.append(_Section([_next_line(snap, mode, width)], 1))
        sections += timeline(5, 6)
        sections.append(recent)
        sections += [message, help_]
    return sections


# ---------------------------------------------------------------------------------------------
# The end


def render_summary(
    snapshot: SessionSnapshot,
    summary: SessionSummary | None = None,
    *,
    units: str | None = None,
    saved_to: str | None = None,
    width: int = 80,
) -> RenderableType:
    """The end-of-session panel: totals, per segment kind, per incline band, where it was saved."""
    if summary is None or summary.last is None:
        summary = SessionSummary()
        summary.add(snapshot)
    mode = units if units in UNIT_MODES else snapshot.units if snapshot.units in UNIT_MODES else "metric"
    imperial = _imperial(mode)
    reason = STOP_WORDS.get(snapshot.stop_reason, "") if snapshot.stop_reason else ""
    if summary.moving_s <= 0 and summary.distance_m <= 0:
        # quit before the belt ever moved: no table of zeros and "-- min/km", just say so
        lines: list[RenderableType] = [Text("Nothing was walked: the belt was never started.", style=S_LABEL)]
        if snapshot.session_id is not None:
            lines.append(
                Text(f"Recorded as session {snapshot.session_id} (treadwalk history).", style=S_LABEL)
            )
        return Panel(
            Group(*lines), title="treadwalk", title_align="left", border_style=S_DIM, width=min(width, 100)
        )
    head = Text()
    head.append(f"{format_duration(summary.moving_s)}", style=S_TIME)
    head.append(" moving · ", style=S_LABEL)
    head.append(distance_text(summary.distance_m, imperial), style=S_TIME)
    head.append(" · ", style=S_LABEL)
    head.append(ascent_text(summary.ascent_m, imperial), style=S_TIME)
    head.append(" up", style=S_LABEL)
    if snapshot.energy_kcal is not None:
        head.append(f" · {snapshot.energy_kcal:.0f} kcal", style=S_TIME)
    head.append(" · average ", style=S_LABEL)
    head.append(pace_text(summary.avg_speed_kmh, imperial), style=S_SPEED)
    head.append(
        f" ({speed_text(summary.avg_speed_kmh, 'imperial' if imperial else 'metric')})", style=S_LABEL
    )

    kinds = Table(box=None, pad_edge=False, show_edge=False, header_style=S_LABEL, padding=(0, 1))
    kinds.add_column("segment kind")
    kinds.add_column("time", justify="right")
    kinds.add_column("distance", justify="right")
    kinds.add_column("pace", justify="right")
    order = ["warmup", "work", "recovery", "cooldown"]
    for kind in order + sorted(k for k in summary.by_kind if k not in order):
        tot = summary.by_kind.get(kind)
        if tot is None:
            continue
        kmh = tot.distance_m / tot.time_s * 3.6 if tot.time_s > 0 else None
        kinds.add_row(
            kind,
            format_duration(tot.time_s),
            distance_text(tot.distance_m, imperial),
            pace_text(kmh, imperial),
        )
    if not summary.by_kind:
        kinds.add_row("(nothing walked)", "", "", "")

    bands = Table(box=None, pad_edge=False, show_edge=False, header_style=S_LABEL, padding=(0, 1))
    bands.add_column("incline band")
    bands.add_column("time", justify="right")
    bands.add_column("share", justify="right")
    total_band = sum(summary.by_band_s.values())
    for name, _lower in INCLINE_BANDS:
        sec = summary.by_band_s.get(name)
        if sec is None:
            continue
        share = f"{100 * sec / total_band:.0f} %" if total_band > 0 else ""
        bands.add_row(name, format_duration(sec), share)
    if not summary.by_band_s:
        bands.add_row("(nothing walked)", "", "")

    grid = Table.grid(padding=(0, 4))
    if width >= 76:
        grid.add_row(kinds, bands)
        body: list[RenderableType] = [head, Text(), grid]
    else:
        body = [head, Text(), kinds, Text(), bands]
    plan = snapshot.plan
    done = len(summary.segments_seen)
    body.append(Text(f"\n{done} of {len(plan.segments)} segments of {plan.name}", style=S_LABEL))
    where = Text()
    if snapshot.session_id is not None:
        where.append(f"Saved as session {snapshot.session_id}", style="bold")
        where.append(f"  (treadwalk history show {snapshot.session_id})", style=S_LABEL)
    if saved_to:
        where.append(("  in " if where.cell_len else "Saved in ") + saved_to, style=S_LABEL)
    if where.cell_len:
        body.append(where)
    title = "Session summary" + (f" · {reason}" if reason else "")
    return Panel(Group(*body), title=title, title_align="left", border_style=S_DIM, width=min(width, 100))


def _render_end(snap: SessionSnapshot, view: View, width: int, height: int) -> RenderableType:
    panel = render_summary(snap, view.summary, units=view.units, saved_to=view.saved_to, width=width)
    return Group(_header(snap, width), panel)


# ---------------------------------------------------------------------------------------------
# Plain lines (no terminal)


def plain_event_line(event: SessionEvent, snap: SessionSnapshot | None) -> str:
    elapsed = format_duration(snap.session_elapsed_s) if snap is not None else "-"
    return f"[{elapsed:>7}] {event.kind}: {event.message}"


def plain_status_line(snap: SessionSnapshot, units: str | None = None) -> str:
    mode = units if units in UNIT_MODES else snap.units if snap.units in UNIT_MODES else "metric"
    imperial = _imperial(mode)
    m = snap.machine
    seg = snap.segment
    parts = [snap.phase.value]
    if seg is not None and snap.segment_index is not None:
        parts.append(f"{snap.segment_index + 1}/{len(snap.plan.segments)} {seg.name}")
    parts.append(f"{speed_text(m.speed_kmh, mode)} (target {speed_value(snap.target_speed_kmh, mode)})")
    parts.append(f"{incline_value(m.incline_pct)} % (target {incline_value(snap.target_incline_pct)})")
    parts.append(distance_text(snap.distance_m, imperial))
    parts.append(f"{ascent_text(snap.ascent_m, imperial)} up")
    if snap.segment_remaining_s is not None:
        parts.append(f"segment {format_duration(snap.segment_remaining_s)} left")
    if m.heart_rate_bpm is not None:
        parts.append(f"{m.heart_rate_bpm} bpm")
    parts.append(snap.connection.value)
    if snap.clamped:
        parts.append(f"capped: {snap.clamped}")
    return f"[{format_duration(snap.session_elapsed_s):>7}] " + " · ".join(parts)
