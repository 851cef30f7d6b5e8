"""Laps and totals derived from recorded samples: what the FIT, TCX and ``history show`` views
share. Stdlib only.

A lap is a run of consecutive samples with the same segment index (a skipped or repeated segment
is its own lap; samples after the last segment, e.g. the end-of-profile cool-down, form a lap of
their own). Lap k spans from its first sample to the first sample of lap k+1, so lap distances and
times add up exactly to the session's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .store import Sample

__all__ = ["ACTIVE_PHASES", "Lap", "Totals", "activity_samples", "cadence_spm_between", "laps", "totals"]

# Samples before the belt started (connecting, ready, countdown) are not part of the activity.
ACTIVE_PHASES = frozenset({"running", "paused", "cooldown", "finished", "aborted"})
_FINAL_PHASES = frozenset({"finished", "aborted"})


@dataclass(frozen=True, slots=True)
class Totals:
    start_t: float
    end_t: float
    timer_s: float  # moving time (pauses excluded)
    distance_m: float
    energy_kcal: float | None
    avg_speed_kmh: float | None
    max_speed_kmh: float | None
    avg_heart_rate_bpm: int | None
    max_heart_rate_bpm: int | None
    ascent_m: float
    steps: int | None
    avg_cadence_spm: int | None  # steps per minute

    @property
    def elapsed_s(self) -> float:
        return max(0.0, self.end_t - self.start_t)


@dataclass(frozen=True, slots=True)
class Lap:
    index: int
    segment: int | None
    name: str
    kind: str  # warmup | work | recovery | cooldown | "" (outside the plan)
    by_distance: bool
    samples: tuple[Sample, ...]
    totals: Totals


def activity_samples(samples: Sequence[Sample]) -> list[Sample]:
    """The samples that belong to the activity (the belt had started)."""
    return [s for s in samples if s.phase in ACTIVE_PHASES]


def totals(samples: Sequence[Sample], end: Sample | None = None) -> Totals:
    """Totals over ``samples`` (non-empty), up to ``end`` (the next lap's first sample) if given."""
    assert samples
    span = [*samples, end] if end is not None else list(samples)
    first, last = span[0], span[-1]
    distances = _monotonic([s.distance_m for s in span])
    distance = max(0.0, distances[-1] - distances[0])
    timer = max(0.0, last.elapsed_s - first.elapsed_s)
    energies = [s.energy_kcal for s in span if s.energy_kcal is not None]
    energy = max(0.0, energies[-1] - energies[0]) if len(energies) >= 2 else None
    speeds = [s.speed_kmh for s in samples if s.speed_kmh is not None]
    hrs = [s.heart_rate_bpm for s in samples if s.heart_rate_bpm]
    steps_seen = [s.steps for s in span if s.steps is not None]
    steps = max(0, steps_seen[-1] - steps_seen[0]) if len(steps_seen) >= 2 else None
    ascent = 0.0
    for a, b, d0, d1 in zip(span, span[1:], distances, distances[1:], strict=False):
        incline = a.incline_pct if a.incline_pct is not None else b.incline_pct
        if incline is not None and incline > 0:
            ascent += (d1 - d0) * incline / 100.0
    return Totals(
        start_t=first.t,
        end_t=last.t,
        timer_s=timer,
        distance_m=distance,
        energy_kcal=energy,
        avg_speed_kmh=(distance / timer * 3.6) if timer > 0 else None,
        max_speed_kmh=max(speeds) if speeds else None,
        avg_heart_rate_bpm=round(sum(hrs) / len(hrs)) if hrs else None,
        max_heart_rate_bpm=max(hrs) if hrs else None,
        ascent_m=ascent,
        steps=steps,
        avg_cadence_spm=round(steps / timer * 60) if steps is not None and timer > 0 else None,
    )


def laps(samples: Sequence[Sample], plan: Mapping[str, Any]) -> list[Lap]:
    """One lap per run of consecutive activity samples with the same segment index."""
    active = activity_samples(samples)
    runs: list[list[Sample]] = []
    for s in active:
        # the final sample (finished, aborted) closes the lap it ends, even outside the plan:
        # a stop mid-segment is not a 0:00 "cool-down" lap of its own
        if runs and (runs[-1][-1].segment == s.segment or s.phase in _FINAL_PHASES):
            runs[-1].append(s)
        else:
            runs.append([s])
    segments = plan.get("segments") or []
    out: list[Lap] = []
    for i, run in enumerate(runs):
        end = runs[i + 1][0] if i + 1 < len(runs) else None
        seg_index = run[0].segment
        seg: Mapping[str, Any] = (
            segments[seg_index] if seg_index is not None and 0 <= seg_index < len(segments) else {}
        )
        out.append(
            Lap(
                index=i,
                segment=seg_index,
                name=str(seg.get("name") or ("cool-down" if i and seg_index is None else "lap")),
                kind=str(seg.get("kind") or ("cooldown" if i and seg_index is None else "")),
                by_distance=seg.get("distance_m") is not None,
                samples=tuple(run),
                totals=totals(run, end),
            )
        )
    return out


def cadence_spm_between(a: Sample, b: Sample) -> float | None:
    """Cadence helper: steps per minute between two samples, if both carry steps."""
    if a.steps is None or b.steps is None:
        return None
    dt = b.elapsed_s - a.elapsed_s
    if dt <= 0:
        return None
    return max(0, b.steps - a.steps) / dt * 60.0


def _monotonic(values: Sequence[float | None]) -> list[float]:
    """Fill gaps and never go backwards (a machine that resets its counter after a reconnect)."""
    out: list[float] = []
    best = 0.0
    for v in values:
        if v is not None and v > best:
            best = v
        out.append(best)
    return out
