"""What the walker did, folded from snapshots: totals per segment kind, time per incline band.

Stdlib and ``treadwalk.core`` only (the rendering is in ``view``). ``SessionSummary.add`` is fed
every snapshot; moving time and distance between two snapshots are credited to the segment and
the incline of the earlier one, so a summary needs no engine internals and matches what was shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from treadwalk.core.model import Phase, SessionSnapshot

__all__ = ["INCLINE_BANDS", "KindTotals", "SessionSummary", "incline_band"]

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
        incline = prev.machine.incline_pct
        if incline is None:
            incline = prev.target_incline_pct if prev.target_incline_pct is not None else 0.0
        band = incline_band(incline)
        self.by_band_s[band] = self.by_band_s.get(band, 0.0) + dt

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
