"""Pure rendering: a ``SessionSnapshot`` (plus a little view state) to Rich renderables.

``render(snapshot, width, height, view)`` returns at most ``height`` lines, none wider than
``width``, so a test renders it to ``Console(record=True, width=..., height=...)`` without a
terminal and the live screen never scrolls. Every line is built here as a ``Text`` so the
height is known exactly; sections that do not fit are dropped in a fixed order (least useful
first). Nothing here reads the clock, the terminal or the engine.

May import rich and ``treadwalk.core`` only.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.text import Text

from treadwalk.core.model import (
    ConnectionState,
    PausedBy,
    Phase,
    PlanSegment,
    SessionEvent,
    SessionSnapshot,
)
from treadwalk.core.units import ascent_text, distance_text, format_duration, kmh_to_mph

from .bigtext import big_rows, big_width
from .chart import plan_position_s, plan_timeline
from .format import (
    S_ALERT,
    S_CUE,
    S_DIM,
    S_DONE,
    S_INCLINE,
    S_KEY,
    S_LABEL,
    S_SPEED,
    S_TIME,
    S_WARN,
    SPEED_UNIT,
    UNIT_MODES,
    ZONE_STYLES,
    fit,
    heart_item,
    heart_line,
    hstack,
    incline_value,
    is_imperial,
    is_pace,
    labelled,
    pace_text,
    pack,
    pad,
    remaining_value,
    rule,
    segment_length_text,
    segment_targets_text,
    speed_text,
    speed_value,
    spread,
)
from .summary import SessionSummary, render_summary

__all__ = [
    "UNIT_MODES",
    "View",
    "help_line",
    "next_units",
    "plain_event_line",
    "plain_status_line",
    "plan_position_s",
    "render",
    "render_summary",
]


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
    not_saved: str | None = None  # the recorder's word while it cannot save (replaces "Saved as")
    notice: str | None = None  # a local hint, e.g. "press Enter to start"
    position_s: float | None = None  # last place on the plan (for a cool-down outside the plan)
    second_screen: str | None = None  # the web page's address (with its token), for the phone


def in_cooldown(snap: SessionSnapshot | None) -> bool:
    """The engine's cool-down (after the plan or a stop), running or paused: no segment."""
    if snap is None:
        return False
    return snap.phase == Phase.COOLDOWN or (snap.phase == Phase.PAUSED and snap.segment_index is None)


def next_units(mode: str) -> str:
    i = UNIT_MODES.index(mode) if mode in UNIT_MODES else 0
    return UNIT_MODES[(i + 1) % len(UNIT_MODES)]


def _mode(snap: SessionSnapshot | None, view: View) -> str:
    mode = view.units or (snap.units if snap is not None else "metric")
    return mode if mode in UNIT_MODES else "metric"


# ---------------------------------------------------------------------------------------------
# Sections


def _header(snap: SessionSnapshot | None, width: int) -> Text:
    name = snap.plan.name if snap is not None else ""
    left = Text("treadwalk", style="bold")
    if name:
        left.append(f" · {name}", style=S_LABEL)
    if snap is None:
        return spread(left, Text("waiting", style=S_DIM), Text(), width)
    word, style = PHASE_WORD[snap.phase]
    center = Text(f" {word} ", style=style)
    if snap.phase == Phase.PAUSED and snap.paused_by is PausedBy.MACHINE:
        center.append(" by the treadmill", style=S_WARN)
    elif snap.phase == Phase.PAUSED and snap.paused_by is PausedBy.REMOTE:
        center.append(" remotely", style=S_WARN)
    cword, cstyle = CONNECTION_WORD[snap.connection]
    right = Text(cword, style=cstyle)
    return spread(left, center, right, width)


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
    return fit(line, width)


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
    return fit(cap, width)


def _numbers(snap: SessionSnapshot, mode: str, width: int, scale: int) -> list[Text]:
    m = snap.machine
    imperial = is_imperial(mode)
    heart = _heart_big(snap, width)
    col = width // (4 if heart else 3)
    if heart:  # a fourth number only where all four keep the size three would have
        values = (
            speed_value(m.speed_kmh, mode),
            incline_value(m.incline_pct),
            remaining_value(snap, imperial)[0],
            str(snap.heart_rate_bpm) if snap.heart_rate_bpm is not None else "--",
        )
        if any(big_width(v, scale) > col - 1 for v in values):
            heart, col = False, width // 3
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
    speed_label = "PACE " if is_pace(mode) else "SPEED "
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
    if seg is not None and seg.open:
        cap.append("press n when ready", style="bold")
    elif seg is not None:
        cap.append(f"of {segment_length_text(seg, imperial, snap.segment_extra)}", style=S_LABEL)
    if not heart:
        c = _big_block(f"SEGMENT {unit.upper()}", value, cap, width - 2 * col, scale, S_TIME)
        return hstack([(a, col), (b, col), (c, width - 2 * col)])
    c = _big_block(f"SEGMENT {unit.upper()}", value, cap, col, scale, S_TIME)
    bpm = snap.heart_rate_bpm
    style = ZONE_STYLES.get(snap.hr_zone or 0, "bold red")
    hcap = Text()
    if snap.hr_zone:
        hcap.append(f"zone {snap.hr_zone}", style=style)
    if snap.hr_low_bpm is not None and snap.hr_high_bpm is not None:
        hcap.append(" · " if snap.hr_zone else "", style=S_LABEL)
        hcap.append(f"hold {snap.hr_low_bpm:.0f}–{snap.hr_high_bpm:.0f}", style=S_LABEL)
    d = _big_block("HEART bpm", str(bpm) if bpm is not None else "--", hcap, width - 3 * col, scale, style)
    return hstack([(a, col), (b, col), (c, col), (d, width - 3 * col)])


def _heart_big(snap: SessionSnapshot, width: int) -> bool:
    """Heart rate may get its own big number on a segment that holds it (from 100 columns), and
    whenever there is a reading on a wide terminal (from 120), if the four numbers fit."""
    if snap.hr_low_bpm is not None:
        return width >= 100
    return width >= 120 and snap.heart_rate_bpm is not None


def _stats(
    snap: SessionSnapshot, mode: str, width: int, max_lines: int, summary: SessionSummary | None = None
) -> list[Text]:
    imperial = is_imperial(mode)
    m = snap.machine
    items: list[Text] = []
    if is_pace(mode):
        items.append(labelled("speed", speed_text(m.speed_kmh, "imperial" if imperial else "metric")))
    else:
        items.append(labelled("pace", pace_text(m.speed_kmh, imperial)))
    items.append(labelled("elapsed", format_duration(snap.session_elapsed_s)))
    if snap.session_remaining_s is not None:
        items.append(labelled("to go", format_duration(snap.session_remaining_s)))
    items.append(labelled("distance", distance_text(snap.distance_m, imperial)))
    items.append(labelled("ascent", ascent_text(snap.ascent_m, imperial)))
    if snap.energy_kcal is not None:
        items.append(labelled("energy", f"{snap.energy_kcal:.0f} kcal"))
    heart = heart_item(snap)
    if heart is not None:
        if summary is not None and (held := summary.in_range_text(snap.segment_index)) is not None:
            heart.append(f" · {held}", style=S_LABEL)
        items.append(heart)
    if m.steps is not None:
        items.append(labelled("steps", f"{m.steps:,}"))
    return pack(items, width, max_lines)


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
    if seg.open:
        tail = f" {format_duration(snap.segment_elapsed_s)} · press n when ready"
        return fit(Text("░" * max(0, width - len(tail)), style=S_DONE) + Text(tail, style="bold"), width)
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
    return fit(line, width)


def _cue_line(snap: SessionSnapshot, width: int) -> Text:
    if snap.cue:
        return fit(Text(f" » {snap.cue} ", style=S_CUE), width)
    seg = snap.segment
    if seg is None:
        return Text()
    for cue in seg.cues:  # the next cue of this segment, quietly
        if cue.at_s is not None and cue.at_s > snap.segment_elapsed_s:
            wait = format_duration(cue.at_s - snap.segment_elapsed_s)
            return fit(Text(f" · in {wait}: {cue.text}", style=S_DIM), width)
    return Text()


def _next_line(snap: SessionSnapshot, mode: str, width: int) -> Text:
    imperial = is_imperial(mode)
    nxt = snap.next_segment if snap.segment_index is not None else None
    line = Text("Next ▸ ", style=S_LABEL)
    value, unit = remaining_value(snap, imperial)
    when = f"in {value}" + (" " + unit.replace(" left", "") if unit != "left" else "")
    if snap.segment is not None and snap.segment.open:
        when = "when you press n"
    if in_cooldown(snap) and nxt is None:
        line.append("stop", style="bold")
        line.append(f"  {when}", style=S_TIME)
        return fit(line, width)
    if nxt is None:
        line.append("finish", style="bold")
        line.append(f"  {when}", style=S_TIME)
        return fit(line, width)
    line.append(nxt.name, style="bold")
    line.append(f" · {segment_targets_text(nxt, mode)} · {segment_length_text(nxt, imperial)}", style=S_LABEL)
    line.append(f"  {when}", style=S_TIME)
    return fit(line, width)


def _message(snap: SessionSnapshot, view: View, width: int) -> Text:
    if view.confirm_stop or snap.confirm_stop:
        return fit(Text(" Stop the session?  q or y: stop   any other key: carry on ", style=S_ALERT), width)
    if snap.connection == ConnectionState.CONTROL_LOST:
        text = " Control lost: another app or the console took over. Targets paused until it is back. "
        return fit(Text(text, style=S_ALERT), width)
    if snap.connection == ConnectionState.RECONNECTING:
        return fit(
            Text(" Link lost: reconnecting… the session goes on when it is back. ", style=S_WARN), width
        )
    if snap.phase == Phase.PAUSED and snap.paused_by is PausedBy.MACHINE:
        text = " The treadmill paused itself. Press space (or its Start button) to resume. "
        return fit(Text(text, style=S_WARN), width)
    if view.not_saved:  # the recorder cannot save: say so for as long as it lasts
        return fit(Text(f" ! {view.not_saved}", style=S_WARN), width)
    if view.notice:  # the answer to a key just pressed (the live loop lets it go after a while)
        return fit(Text(f" {view.notice}", style=S_LABEL), width)
    if snap.clamped:
        return fit(Text(f" ! target capped: {snap.clamped}", style=S_WARN), width)
    if snap.message:
        return fit(Text(f" {snap.message}", style=S_WARN), width)
    return Text()


def _events(view: View, width: int, n: int) -> list[Text]:
    shown = [e for e in view.events if e.kind not in ("command",)][-n:]
    lines = []
    for e in shown:
        line = Text(f"{e.kind:<12}", style=S_DIM)
        line.append(e.message, style=S_LABEL)
        lines.append(fit(line, width))
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
            section.lines = plan_timeline(
                snap, width, rows[0], rows[1], axis=False, position_s=view.position_s
            )
        elif section.fill == "recent" and spare >= 3 and view.events:
            events = _events(view, width, spare - 1)
            section.lines = [rule("recent", width), *events] if events else []
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
            f"{distance_text(plan.distance_m, is_imperial(mode))} · {len(plan.segments)} segments",
            style=S_LABEL,
        )
        axis = plan_timeline(snap, width, 0, 0, axis=True)[-1:]
        return [
            _Section([rule(title, width)], drop + 1),
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
            sections.append(_Section([fit(title, width)], 0))
            go = Text(" Stand on the side rails, then press ", style="bold")
            go.append(" Enter ", style="bold black on green")
            go.append(" to start the belt. ", style="bold")
            sections.append(_Section([fit(go, width)], 0))
            if view.second_screen:  # the QR code printed before is under this screen: the address
                phone = Text(" Second screen: ", style=S_LABEL)
                phone.append(view.second_screen, style="bold")
                sections.append(_Section([fit(phone, width)], 1))
        imperial = is_imperial(mode)
        facts = (
            f"{format_duration(plan.duration_s)} · {distance_text(plan.distance_m, imperial)} · "
            f"{ascent_text(plan.ascent_m, imperial)} up · {len(plan.segments)} segments · "
            f"top {speed_text(plan.max_speed_kmh, mode)}, {plan.max_incline_pct:g} %"
        )
        sections.append(_Section([fit(Text(facts, style=S_LABEL), width)], 3))
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
            sections.append(_Section([fit(t, width)], 2))
        sections += [_Section(_blank(), 8), *timeline(5, 6)]
        sections.append(recent)
        sections += [_Section(_blank(), 9), message, help_]
    elif snap.phase == Phase.COUNTDOWN:
        n = snap.countdown_s if snap.countdown_s is not None else 0.0
        value = str(max(0, int(-(-n // 1))))  # ceil: 3, 2, 1
        big_scale = 3 if large else 2 if height >= 18 else 1
        digits = [pad(Text(r, style="bold yellow"), width) for r in big_rows(value, big_scale)]
        digits = [Text(" " * max(0, (width - big_width(value, big_scale)) // 2)) + d for d in digits]
        sections = [header, _Section(_blank(), 9)]
        sections.append(_Section([Text(f"The belt starts in {value}", style="bold")], 0))
        sections.append(_Section([fit(d, width) for d in digits], 0))
        first = snap.segment or (snap.plan.segments[0] if snap.plan.segments else None)
        if first is not None:
            t = Text("Hold the rails. First ▸ ", style=S_LABEL)
            t.append(first.name, style="bold")
            t.append(f" · {segment_targets_text(first, mode)}", style=S_LABEL)
            sections.append(_Section([fit(t, width)], 2))
        sections += [_Section(_blank(), 8), *timeline(5, 6), _Section(_blank(), 9), message, help_]
    else:  # RUNNING, PAUSED, COOLDOWN
        seg = snap.segment
        sections = [header, _Section(_blank(), 9)]
        sections.append(_Section(_numbers(snap, mode, width, scale), 0))
        sections.append(_Section(_blank(), 9))
        stats = _stats(snap, mode, width, 2, view.summary)
        sections.append(_Section(stats[:1], 0))
        more = stats[1:]
        if more:
            sections.append(_Section(more, 4))
        if seg is not None:
            sections.append(_Section([rule(_segment_title(snap, seg, mode), width)], 3))
            sections.append(_Section([_progress(snap, width, is_imperial(mode))], 2))
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


def _render_end(snap: SessionSnapshot, view: View, width: int, height: int) -> RenderableType:
    panel = render_summary(
        snap, view.summary, units=view.units, saved_to=view.saved_to, not_saved=view.not_saved, width=width
    )
    return Group(_header(snap, width), panel)


# ---------------------------------------------------------------------------------------------
# Plain lines (no terminal)


def plain_event_line(event: SessionEvent, snap: SessionSnapshot | None) -> str:
    elapsed = format_duration(snap.session_elapsed_s) if snap is not None else "-"
    return f"[{elapsed:>7}] {event.kind}: {event.message}"


def plain_status_line(snap: SessionSnapshot, units: str | None = None) -> str:
    mode = units if units in UNIT_MODES else snap.units if snap.units in UNIT_MODES else "metric"
    imperial = is_imperial(mode)
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
    heart = heart_line(snap)
    if heart:
        parts.append(heart)
    parts.append(snap.connection.value)
    if snap.clamped:
        parts.append(f"capped: {snap.clamped}")
    return f"[{format_duration(snap.session_elapsed_s):>7}] " + " · ".join(parts)
