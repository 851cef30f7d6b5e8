"""What the walker did, folded from snapshots (totals per segment kind, time per incline band),
and the end-of-session panel drawn from it (``render_summary``).

May import rich and ``treadwalk.core`` only. ``SessionSummary.add`` is fed every snapshot; moving time and distance between two snapshots are credited to the segment and
the incline of the earlier one, so a summary needs no engine internals and matches what was shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from treadwalk.core.model import Phase, SessionSnapshot, StopReason
from treadwalk.core.units import ascent_text, distance_text, format_duration

from .format import (
    S_DIM,
    S_LABEL,
    S_SPEED,
    S_TIME,
    UNIT_MODES,
    is_imperial,
    pace_text,
    speed_text,
)

__all__ = ["INCLINE_BANDS", "STOP_WORDS", "KindTotals", "SessionSummary", "incline_band", "render_summary"]

# (label, lower bound inclusive); a band runs up to the next lower bound.
INCLINE_BANDS: tuple[tuple[str, float], ...] = (
    ("decline  < 0 %", float("-inf")),
    ("flat     0–1 %", 0.0),
    ("gentle   1–4 %", 1.0),
    ("moderate 4–8 %", 4.0),
    ("steep    8–12 %", 8.0),
    ("climb    ≥ 12 %", 12.0),
)
_MOVING = (Phase.RUNNING, Phase.COOLDOWN)


def incline_band(incline_pct: float) -> str:
    label = INCLINE_BANDS[0][0]
    for name, lower in INCLINE_BANDS:
        if incline_pct >= lower - 1e-9:
            label = name
    return label


@dataclass(slots=True)
class KindTotals:
    time_s: float = 0.0
    distance_m: float = 0.0
    ascent_m: float = 0.0


@dataclass(slots=True)
class SessionSummary:
    by_kind: dict[str, KindTotals] = field(default_factory=dict)
    by_band_s: dict[str, float] = field(default_factory=dict)
    last: SessionSnapshot | None = None
    segments_seen: set[int] = field(default_factory=set)
    # heart rate: time with a real reading, its time-weighted sum and maximum, time per zone, and
    # on segments that hold heart rate the time held and the time inside their range
    hr_s: float = 0.0
    hr_weighted: float = 0.0
    hr_max: int | None = None
    by_zone_s: dict[int, float] = field(default_factory=dict)
    held_s: dict[int, float] = field(default_factory=dict)
    in_range_s: dict[int, float] = field(default_factory=dict)

    def add(self, snap: SessionSnapshot) -> None:
        prev = self.last
        self.last = snap
        if snap.segment_index is not None and snap.phase in _MOVING:
            self.segments_seen.add(snap.segment_index)
        # A pause stops the clock, not the belt at once: the metres it rolls while slowing
        # down count too, so the kinds add up to the session's distance.
        if prev is None or prev.phase not in (*_MOVING, Phase.PAUSED):
            return
        dt = max(0.0, snap.session_elapsed_s - prev.session_elapsed_s)
        dd = max(0.0, snap.distance_m - prev.distance_m)
        da = max(0.0, snap.ascent_m - prev.ascent_m)
        if dt <= 0 and dd <= 0 and da <= 0:
            return
        seg = prev.segment
        kind = seg.kind if seg is not None else "cooldown"
        totals = self.by_kind.setdefault(kind, KindTotals())
        totals.time_s += dt
        totals.distance_m += dd
        totals.ascent_m += da
        if dt <= 0:
            return
        self._heart(prev, dt)
        incline = prev.machine.incline_pct
        if incline is None:
            incline = prev.target_incline_pct if prev.target_incline_pct is not None else 0.0
        band = incline_band(incline)
        self.by_band_s[band] = self.by_band_s.get(band, 0.0) + dt

    def _heart(self, prev: SessionSnapshot, dt: float) -> None:
        bpm = prev.heart_rate_bpm
        i = prev.segment_index
        if prev.hr_low_bpm is not None and i is not None and prev.phase is Phase.RUNNING:
            self.held_s[i] = self.held_s.get(i, 0.0) + dt
            if bpm is not None and prev.hr_low_bpm <= bpm <= (prev.hr_high_bpm or 0):
                self.in_range_s[i] = self.in_range_s.get(i, 0.0) + dt
        if bpm is None:
            return
        self.hr_s += dt
        self.hr_weighted += bpm * dt
        self.hr_max = bpm if self.hr_max is None else max(self.hr_max, bpm)
        if prev.hr_zone:
            self.by_zone_s[prev.hr_zone] = self.by_zone_s.get(prev.hr_zone, 0.0) + dt

    @property
    def hr_avg(self) -> float | None:
        return self.hr_weighted / self.hr_s if self.hr_s > 0 else None

    def in_range_text(self, index: int | None) -> str | None:
        """``in range 17:20 of 20:00 (87 %)`` for a segment that holds heart rate."""
        held = self.held_s.get(index, 0.0) if index is not None else 0.0
        if held <= 0:
            return None
        inside = self.in_range_s.get(index, 0.0) if index is not None else 0.0
        return f"in range {format_duration(inside)} of {format_duration(held)} ({100 * inside / held:.0f} %)"

    @property
    def moving_s(self) -> float:
        return self.last.session_elapsed_s if self.last is not None else 0.0

    @property
    def distance_m(self) -> float:
        return self.last.distance_m if self.last is not None else 0.0

    @property
    def ascent_m(self) -> float:
        return self.last.ascent_m if self.last is not None else 0.0

    @property
    def avg_speed_kmh(self) -> float | None:
        if self.moving_s <= 0 or self.distance_m <= 0:
            return None
        return self.distance_m / self.moving_s * 3.6


STOP_WORDS = {
    StopReason.FINISHED: "profile finished",
    StopReason.USER: "stopped by you",
    StopReason.MACHINE: "stopped on the treadmill",
    StopReason.CONNECTION_LOST: "the treadmill did not come back",
    StopReason.ERROR: "stopped by an error",
}


def render_summary(
    snapshot: SessionSnapshot,
    summary: SessionSummary | None = None,
    *,
    units: str | None = None,
    saved_to: str | None = None,
    not_saved: str | None = None,
    width: int = 80,
) -> RenderableType:
    """The end-of-session panel: totals, per segment kind, per incline band, where it was saved."""
    if summary is None or summary.last is None:
        summary = SessionSummary()
        summary.add(snapshot)
    mode = units if units in UNIT_MODES else snapshot.units if snapshot.units in UNIT_MODES else "metric"
    imperial = is_imperial(mode)
    reason = STOP_WORDS.get(snapshot.stop_reason, "") if snapshot.stop_reason else ""
    if summary.moving_s <= 0 and summary.distance_m <= 0:
        # quit before the belt ever moved: no table of zeros and "-- min/km", just say so
        lines: list[RenderableType] = [Text("Nothing was walked: the belt was never started.", style=S_LABEL)]
        if not_saved is not None:
            lines.append(Text(not_saved, style=S_LABEL))
        elif snapshot.session_id is not None:
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
    heart = _heart_lines(summary, snapshot)
    if heart:
        body.append(Text())
        body.extend(heart)
    plan = snapshot.plan
    done = len(summary.segments_seen)
    body.append(Text(f"\n{done} of {len(plan.segments)} segments of {plan.name}", style=S_LABEL))
    where = Text()
    if not_saved is not None:
        where.append(not_saved, style="bold")
    elif snapshot.session_id is not None:
        where.append(f"Saved as session {snapshot.session_id}", style="bold")
        where.append(f"  (treadwalk history show {snapshot.session_id})", style=S_LABEL)
    if saved_to and not_saved is None:
        where.append(("  in " if where.cell_len else "Saved in ") + saved_to, style=S_LABEL)
    if where.cell_len:
        body.append(where)
    title = "Session summary" + (f" · {reason}" if reason else "")
    return Panel(Group(*body), title=title, title_align="left", border_style=S_DIM, width=min(width, 100))


def _heart_lines(summary: SessionSummary, snapshot: SessionSnapshot) -> list[Text]:
    """Heart rate in the summary: average and max, time per zone, each held segment's time in range."""
    avg = summary.hr_avg
    if avg is None:
        return []
    line = Text("heart rate ", style=S_LABEL)
    line.append(f"average {avg:.0f} · max {summary.hr_max} bpm", style=S_TIME)
    for zone in sorted(summary.by_zone_s):
        line.append(f"  zone {zone} ", style=S_LABEL)
        line.append(format_duration(summary.by_zone_s[zone]), style=S_TIME)
    lines = [line]
    for i in sorted(summary.held_s):
        seg = snapshot.plan.segments[i] if 0 <= i < len(snapshot.plan.segments) else None
        text = summary.in_range_text(i)
        if seg is not None and text is not None and seg.hr is not None:
            lines.append(Text(f"{seg.name} ({seg.hr.label}): {text}", style=S_LABEL))
    return lines
