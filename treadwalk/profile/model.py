"""The profile as its author wrote it: segments, nestable repeats, cues. Stdlib and core only.

``Profile`` keeps the author's units (a pace stays a pace) so a profile written back with
``dump_profile`` is the profile that was read. ``Profile.to_plan()`` flattens it into the
``treadwalk.core.model.Plan`` the engine plays: repeats expanded, speeds in km/h, distances in
metres, cue offsets in ``at_s`` (time segments) or ``at_m`` (distance segments).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from treadwalk.core.model import Cue, HrAdjust, HrHold, Plan, PlanSegment, SegmentKind
from treadwalk.core.zones import HrTarget

from .quantities import Distance, Speed

__all__ = ["KINDS", "Item", "Profile", "ProfileCue", "Repeat", "Segment"]

KINDS = tuple(k.value for k in SegmentKind)
HR_SPEED_SPAN_KMH = 1.5  # default bounds of a segment held by speed: its start +- this
HR_INCLINE_SPAN_PCT = 8.0  # ... held by incline: from 0 (or its start if lower) to start + this
DEFAULT_NAMES = {
    SegmentKind.WARMUP: "Warm-up",
    SegmentKind.WORK: "Walk",
    SegmentKind.RECOVERY: "Recovery",
    SegmentKind.COOLDOWN: "Cool-down",
}


@dataclass(frozen=True, slots=True)
class ProfileCue:
    """A short text at an offset into its segment: seconds (``at_s``) for a time segment,
    metres (``at``, as written) for a distance segment."""

    text: str
    at_s: float | None = None
    at_distance: Distance | None = None

    def to_cue(self) -> Cue:
        if self.at_distance is not None:
            return Cue(self.text, at_m=self.at_distance.metres)
        return Cue(self.text, at_s=self.at_s if self.at_s is not None else 0.0)


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch at one target (or a ramp between two). Exactly one of ``duration_s`` and
    ``distance`` is set, or neither when ``open`` (``duration = "open"``: until the walker
    presses n)."""

    speed: Speed
    duration_s: float | None = None
    distance: Distance | None = None
    incline_pct: float = 0.0
    end_speed: Speed | None = None
    end_incline_pct: float | None = None
    kind: SegmentKind = SegmentKind.WORK
    name: str | None = None
    cues: tuple[ProfileCue, ...] = ()
    # heart rate: the segment holds ``hr`` by moving ``adjust`` from its speed/incline, within bounds
    hr: HrTarget | None = None
    adjust: HrAdjust = HrAdjust.SPEED
    min_speed: Speed | None = None
    max_speed: Speed | None = None
    min_incline_pct: float | None = None
    max_incline_pct: float | None = None

    @property
    def hr_bounds(self) -> tuple[float, float]:
        """The adjusted axis' bounds as written, or defaults around the start (km/h or %)."""
        if self.adjust is HrAdjust.SPEED:
            start = self.speed.kmh
            low = self.min_speed.kmh if self.min_speed is not None else max(1.0, start - HR_SPEED_SPAN_KMH)
            high = self.max_speed.kmh if self.max_speed is not None else start + HR_SPEED_SPAN_KMH
            return low, high
        start = self.incline_pct
        low = self.min_incline_pct if self.min_incline_pct is not None else min(start, 0.0)
        high = self.max_incline_pct if self.max_incline_pct is not None else start + HR_INCLINE_SPAN_PCT
        return low, high

    def hr_hold(self) -> HrHold | None:
        if self.hr is None:
            return None
        low, high = self.hr_bounds
        lo = float(self.hr.low_bpm) if self.hr.low_bpm is not None else None
        hi = float(self.hr.high_bpm) if self.hr.high_bpm is not None else None
        return HrHold(self.adjust, low, high, zone=self.hr.zone, low_bpm=lo, high_bpm=hi)

    # the range a FIT workout gave (its middle is ``speed``), kept for display
    speed_range: tuple[Speed, Speed] | None = None
    open: bool = False

    @property
    def title(self) -> str:
        return self.name or DEFAULT_NAMES.get(self.kind, self.kind)

    def to_plan_segment(self, repeat: str | None = None) -> PlanSegment:
        return PlanSegment(
            name=self.title,
            kind=self.kind,
            speed_kmh=self.speed.kmh,
            incline_pct=self.incline_pct,
            duration_s=self.duration_s,
            distance_m=self.distance.metres if self.distance is not None else None,
            end_speed_kmh=self.end_speed.kmh if self.end_speed is not None else None,
            end_incline_pct=self.end_incline_pct,
            cues=tuple(c.to_cue() for c in self.cues),
            repeat=repeat,
            hr=self.hr_hold(),
            open=self.open,
        )


@dataclass(frozen=True, slots=True)
class Repeat:
    """``times`` x [items]; items may be repeats themselves."""

    times: int
    items: tuple[Item, ...]
    name: str | None = None


Item = Segment | Repeat


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    items: tuple[Item, ...]
    description: str = ""
    intent: str = "walking"  # walking | running: the recorded sport
    tags: tuple[str, ...] = ()
    units: str | None = None  # display preference: metric | imperial | pace
    source: str | None = field(default=None, compare=False)
    # what an importer had to decide for the walker (said once when the profile is used)
    notes: tuple[str, ...] = field(default=(), compare=False)

    def segments(self) -> Iterator[tuple[Segment, str | None]]:
        """Every segment in playing order with its repeat label: every level, outermost first
        ("2/3 · 1/4": the first of 4 in the second of 3)."""
        yield from _walk(self.items, None)

    def to_plan(self) -> Plan:
        return Plan(
            name=self.name,
            segments=tuple(seg.to_plan_segment(label) for seg, label in self.segments()),
            description=self.description,
            intent=self.intent,
            tags=self.tags,
            source=self.source,
        )


def _walk(items: tuple[Item, ...], label: str | None) -> Iterator[tuple[Segment, str | None]]:
    for item in items:
        if isinstance(item, Segment):
            yield item, label
        else:
            for i in range(item.times):
                here = f"{i + 1}/{item.times}"
                yield from _walk(item.items, here if label is None else f"{label} · {here}")
