"""Charts drawn with block characters: the plan timeline of the live view (``plan_timeline``) and
the walk afterwards over its plan (``walk_charts``: speed, incline, heart rate, laps and marks).

May import rich and ``treadwalk.core`` only.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rich.text import Text

from treadwalk.core.model import Phase, Plan, SessionSnapshot
from treadwalk.core.units import format_duration, kmh_to_mph

from .format import S_DIM, S_DONE, S_LABEL, SPEED_UNIT, fit, is_imperial, is_pace, speed_value


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


SPARK = " ▁▂▃▄▅▆▇█"


def chart_rows(values: Sequence[float], lo: float, hi: float, rows: int) -> list[str]:
    """Values as a bar chart of ``rows`` rows of eighth blocks; the top row first."""
    span = max(hi - lo, 1e-9)
    out = [[" "] * len(values) for _ in range(rows)]
    for c, v in enumerate(values):
        eighths = round(min(max((v - lo) / span, 0.0), 1.0) * rows * 8)
        eighths = max(eighths, 1)  # always a sliver, so every column is visible
        for r in range(rows):
            fill = min(8, max(0, eighths - r * 8))
            out[rows - 1 - r][c] = SPARK[fill]
    return ["".join(row) for row in out]


@functools.lru_cache(maxsize=16)
def plan_chart(
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
    speed = chart_rows(speeds, lo_speed, hi_speed, speed_rows) if speed_rows else []
    incline = chart_rows(inclines, lo_incline, hi_incline, incline_rows) if incline_rows else []
    return tuple(col_seg), speed, incline


def plan_timeline(
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
    col_seg, speed_chart, incline_chart = plan_chart(plan, w, speed_rows, incline_rows)
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
    lines.append(fit(marker, width))
    if axis:
        end = format_duration(total)
        ax = Text(" " * gutter + "0:00", style=S_DIM)
        ax.append(" " * max(1, w - 4 - len(end)) + end, style=S_DIM)
        lines.append(fit(ax, width))
    return [fit(x, width) for x in lines]


# ---------------------------------------------------------------------------------------------
# The walk afterwards: what the belt did, drawn over what the plan asked.


class WalkSample(Protocol):
    """One recorded moment (``treadwalk.recording.Sample`` fits): wall time ``t`` in seconds."""

    @property
    def t(self) -> float: ...
    @property
    def speed_kmh(self) -> float | None: ...
    @property
    def incline_pct(self) -> float | None: ...
    @property
    def heart_rate_bpm(self) -> int | None: ...
    @property
    def target_speed_kmh(self) -> float | None: ...
    @property
    def target_incline_pct(self) -> float | None: ...
    @property
    def phase(self) -> str: ...


class WalkEvent(Protocol):
    """One recorded event (``treadwalk.recording.EventRecord`` fits)."""

    @property
    def t(self) -> float: ...
    @property
    def kind(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


# The marks under the charts, most important first when two land in one column.
MARK_STOP = "■"
MARK_CONSOLE = "c"
MARK_SKIP = "»"
MARK_PAUSE = "‖"
MARK_STYLES = {
    MARK_STOP: "bold red",
    MARK_CONSOLE: "bold magenta",
    MARK_SKIP: "bold yellow",
    MARK_PAUSE: "yellow",
}
S_PLAN = "grey35"
WALK_GUTTER = 7


@dataclass(frozen=True, slots=True)
class _Columns:
    """The walk binned onto ``w`` columns of wall time: the mean per column, held over empty ones."""

    t0: float
    span_s: float
    speed: list[float | None]
    target_speed: list[float | None]
    incline: list[float | None]
    target_incline: list[float | None]
    heart: list[float | None]
    paused: list[bool]

    def column(self, t: float, w: int) -> int:
        return min(w - 1, max(0, int((t - self.t0) / self.span_s * w)))


def _bin(
    samples: Sequence[WalkSample],
    w: int,
    span_s: float | None = None,
    plan_speed: Sequence[float | None] | None = None,
    plan_incline: Sequence[float | None] | None = None,
) -> _Columns:
    """Each column: the mean of its samples; a column without one holds the last sample before
    it (a standing belt is not sampled, so a pause is one sample and a gap). ``span_s``: the
    time the ``w`` columns cover (default: the walk's). ``plan_*``: what the plan asked at each
    sample (default: the samples' targets)."""
    t0 = samples[0].t
    span = max(samples[-1].t - t0, span_s or 0.0, 1e-9)
    values: list[Sequence[float | None]] = [
        [s.speed_kmh for s in samples],
        plan_speed if plan_speed is not None else [s.target_speed_kmh for s in samples],
        [s.incline_pct for s in samples],
        plan_incline if plan_incline is not None else [s.target_incline_pct for s in samples],
        [float(s.heart_rate_bpm) if s.heart_rate_bpm else None for s in samples],  # 0: no reading
    ]
    names = range(len(values))
    scale = w / span
    columns = [min(w - 1, int((s.t - t0) * scale)) for s in samples]
    sums = [[0.0] * w for _ in names]
    counts = [[0] * w for _ in names]
    last: list[int | None] = [None] * w
    paused = [False] * w
    for i, (c, s) in enumerate(zip(columns, samples, strict=True)):
        last[c] = i
        if s.phase == "paused":
            paused[c] = True
    for k in names:
        total, count = sums[k], counts[k]
        for c, v in zip(columns, values[k], strict=True):
            if v is not None:
                total[c] += v
                count[c] += 1
    series: list[list[float | None]] = [[] for _ in names]
    held: int | None = None
    end = min(w - 1, int((samples[-1].t - t0) / span * w))
    for c in range(w):
        if c > end:  # a shorter walk on a shared axis: nothing after its end
            held = None
        if last[c] is None and held is not None:
            paused[c] = samples[held].phase == "paused"
        for k in names:
            if counts[k][c]:
                series[k].append(sums[k][c] / counts[k][c])
            elif held is not None:
                series[k].append(values[k][held])
            else:
                series[k].append(None)
        held = last[c] if last[c] is not None else held
    return _Columns(t0, span, series[0], series[1], series[2], series[3], series[4], paused)


def _eighths(v: float | None, lo: float, hi: float, rows: int) -> int:
    if v is None:
        return 0
    return round(min(max((v - lo) / max(hi - lo, 1e-9), 0.0), 1.0) * rows * 8)


def _walk_chart(
    actual: Sequence[float | None],
    plan: Sequence[float | None] | None,
    lo: float,
    hi: float,
    rows: int,
    color: str,
    labels: Sequence[str],
    laps: frozenset[int],
) -> list[Text]:
    """``rows`` lines: the walk as bars (``color``; above the plan brighter), the plan shaded
    behind it (``░``), lap boundaries as ``│`` in the empty cells; ``labels`` fill the gutter."""
    w = len(actual)
    a = [_eighths(v, lo, hi, rows) for v in actual]
    p8 = [_eighths(v, lo, hi, rows) if plan is not None else 0 for v in (plan or actual)]
    p = [(x + 4) // 8 for x in p8]
    walk, over = color, f"bright_{color}"
    lines: list[Text] = []
    for r in range(rows - 1, -1, -1):
        bottom = r * 8
        cells: list[tuple[str, str]] = []
        for c in range(w):
            # above the plan: the part of the bar over the plan's top, by more than a rounding
            style = over if plan is not None and a[c] > p8[c] + 2 and bottom + 8 > p8[c] else walk
            if a[c] >= bottom + 8:
                cells.append(("█", style))
            elif a[c] > bottom:
                cells.append((SPARK[a[c] - bottom], style))
            elif r < p[c]:
                cells.append(("░", S_PLAN))
            elif c in laps:
                cells.append(("│", S_DONE))
            else:
                cells.append((" ", ""))
        label = labels[rows - 1 - r] if rows - 1 - r < len(labels) else ""
        line = Text(label[: WALK_GUTTER - 1].rjust(WALK_GUTTER - 1) + " ", style=S_LABEL)
        start = 0
        for c in range(1, w + 1):
            if c == w or cells[c][1] != cells[start][1]:
                line.append("".join(ch for ch, _ in cells[start:c]), style=cells[start][1])
                start = c
        lines.append(line)
    return lines


def _tick_step(span_s: float, w: int) -> float:
    for step in (60, 120, 300, 600, 900, 1200, 1800, 3600, 7200):
        if span_s / step * 8 <= w:  # a label ("10:00 ") every 8 columns at most
            return float(step)
    return 14400.0


def _axis(cols: _Columns, w: int) -> Text:
    chars = [" "] * w
    step = _tick_step(cols.span_s, w)
    k = 0
    while k * step <= cols.span_s + 1e-9:
        c = cols.column(cols.t0 + k * step, w)
        label = format_duration(k * step)
        if c + len(label) <= w and all(ch == " " for ch in chars[max(0, c - 1) : c + len(label)]):
            chars[c : c + len(label)] = list(label)
        k += 1
    return Text(" " * WALK_GUTTER + "".join(chars).rstrip(), style=S_DIM)


def speed_range(
    samples: Sequence[WalkSample], plan_speed_kmh: Sequence[float | None] | None = None
) -> tuple[float, float] | None:
    """The speed axis (km/h) of a walk's chart: from just under the slowest speed the plan asked
    for (walking speeds sit in a narrow band; the belt's ramps and pauses drop below it) to the
    fastest walked or asked. None without a moving sample."""
    plan = plan_speed_kmh if plan_speed_kmh is not None else [s.target_speed_kmh for s in samples]
    planned = [v for v in plan if v is not None and v >= 0.5]
    moving = [v for v in (*(s.speed_kmh for s in samples), *planned) if v is not None and v >= 0.5]
    if not moving:
        return None
    lo = max(0.0, float(int(min(planned or moving))) - 1.0)
    return lo, max(max(moving), lo + 1.0)


def walk_charts(
    samples: Sequence[WalkSample],
    events: Sequence[WalkEvent],
    lap_starts: Sequence[float],
    width: int,
    *,
    mode: str = "metric",
    speed_rows: int = 6,
    incline_rows: int = 4,
    heart_rows: int = 4,
    charts: Sequence[str] = ("speed", "incline", "heart"),
    span_s: float | None = None,
    speed_range_kmh: tuple[float, float] | None = None,
    plan_speed_kmh: Sequence[float | None] | None = None,
    plan_incline_pct: Sequence[float | None] | None = None,
) -> list[Text]:
    """The walk (``samples``, the activity only) drawn over its plan on ``width`` columns of wall
    time: speed (or pace labels), incline, heart rate when recorded; the laps (``lap_starts``:
    wall times) numbered under them, pauses, console changes, skips and the stop marked, then
    a time axis. Empty when there is nothing to draw. ``span_s`` and ``speed_range_kmh`` put two
    walks on the same axes (``history compare``; see ``speed_range``). ``plan_speed_kmh`` and
    ``plan_incline_pct``, one per sample: what the plan asked (default: the samples' targets,
    which carry the walker's and the console's changes)."""
    w = width - WALK_GUTTER
    if len(samples) < 2 or w < 10:
        return []
    cols = _bin(samples, w, span_s, plan_speed_kmh, plan_incline_pct)
    laps = frozenset(cols.column(t, w) for t in lap_starts[1:])
    lines: list[Text] = []
    imperial = is_imperial(mode)

    def unit(v: float | None) -> float | None:
        return None if v is None else kmh_to_mph(v) if imperial else v

    if "speed" in charts and speed_rows:
        speed = [unit(v) for v in cols.speed]
        target = [unit(v) for v in cols.target_speed]
        scale = speed_range(samples, plan_speed_kmh) if speed_range_kmh is None else speed_range_kmh
        if scale is not None:
            lo, hi = (unit(v) or 0.0 for v in scale)

            def kmh(v: float) -> float:
                return v / kmh_to_mph(1.0) if imperial else v

            if is_pace(mode):
                labels = [speed_value(kmh(hi), mode), "pace", SPEED_UNIT[mode]]
                low = speed_value(kmh(lo), mode) if lo >= 0.5 else ""
            else:
                labels = [f"{hi:.1f}", "speed", SPEED_UNIT[mode]]
                low = f"{lo:.1f}"
            labels += [""] * (speed_rows - len(labels) - 1) + [low]
            lines += _walk_chart(speed, target, lo, hi, speed_rows, "green", labels[-speed_rows:], laps)
    if "incline" in charts and incline_rows:
        known = [v for v in (*cols.incline, *cols.target_incline) if v is not None]
        if known:
            lo = min(0.0, min(known))
            hi = max(1.0, max(known))
            labels = [f"{hi:g}", "incl.", "%"] + [""] * max(0, incline_rows - 4) + [f"{lo:g}"]
            lines += _walk_chart(
                cols.incline, cols.target_incline, lo, hi, incline_rows, "cyan", labels[-incline_rows:], laps
            )
    if "heart" in charts and heart_rows:
        known = [v for v in cols.heart if v is not None]
        if known:
            lo = max(0.0, float(int(min(known)) // 10 * 10 - 10))
            hi = float(max(known))
            labels = [f"{hi:.0f}", "heart", "bpm"] + [""] * max(0, heart_rows - 4) + [f"{lo:.0f}"]
            lines += _walk_chart(cols.heart, None, lo, hi, heart_rows, "red", labels[-heart_rows:], laps)
    if not lines:
        return []
    # lap numbers at their first column
    lap_row = [" "] * w
    for i, t in enumerate(lap_starts):
        c = cols.column(t, w)
        label = f"{i + 1}"
        if c + len(label) <= w and all(ch == " " for ch in lap_row[max(0, c - 1) : c + len(label)]):
            lap_row[c : c + len(label)] = list(label)
    lines.append(Text("laps".rjust(WALK_GUTTER - 1) + " " + "".join(lap_row).rstrip(), style=S_LABEL))
    marks = [MARK_PAUSE if p else " " for p in cols.paused]
    rank = {MARK_STOP: 0, MARK_CONSOLE: 1, MARK_SKIP: 2, MARK_PAUSE: 3, " ": 4}
    for e in events:
        mark = (
            MARK_STOP
            if e.kind == "stop"
            else MARK_CONSOLE
            if e.kind == "console"
            else MARK_SKIP
            if e.kind == "command" and e.data.get("command") == "skip"
            else MARK_PAUSE
            if e.kind == "pause"
            else None
        )
        if mark is None or e.t < cols.t0 - 1.0:
            continue
        c = cols.column(e.t, w)
        if rank[mark] < rank[marks[c]]:
            marks[c] = mark
    row = Text("marks".rjust(WALK_GUTTER - 1) + " ", style=S_LABEL)
    for ch in marks:
        row.append(ch, style=MARK_STYLES.get(ch, ""))
    row.rstrip()
    lines.append(row)
    lines.append(_axis(cols, w))
    return [fit(line, width) for line in lines]


def walk_legend(width: int) -> Text:
    t = Text()
    for ch, what, style in (
        ("█", "walked", "green"),
        ("█", "above the plan", "bright_green"),
        ("░", "plan", S_PLAN),
        ("│", "lap", S_DONE),
        (MARK_PAUSE, "pause", MARK_STYLES[MARK_PAUSE]),
        (MARK_CONSOLE, "console", MARK_STYLES[MARK_CONSOLE]),
        (MARK_SKIP, "skip", MARK_STYLES[MARK_SKIP]),
        (MARK_STOP, "stop", MARK_STYLES[MARK_STOP]),
    ):
        if t.cell_len:
            t.append("  ")
        t.append(ch, style=style)
        t.append(f" {what}", style=S_LABEL)
    return fit(t, width)
