"""Simple first-order walkers for the heart-rate controller's closed-loop tests and its benchmark.

Steady state from the ACSM walking equation (shared/hr/REFERENCE.md): VO2 = 0.1 S + 1.8 S G + 3.5
(S in m/min, G the grade), running above 8 km/h, blended between 7.5 and 8; heart rate =
rest + (max - rest) x (VO2 - 3.5) / (VO2max - 3.5). Reached through a first-order lag (slower down
than up), with slow cardiac drift and Gaussian noise on the reading. Not the simulator's strap (that
is sim/'s): a deliberately plain plant to hold a controller against.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Walker:
    name: str
    vo2max: float
    rest_bpm: float
    max_bpm: float
    tau_up_s: float
    tau_down_s: float
    noise_bpm: float = 1.5
    drift_bpm_per_h: float = 6.0


WALKERS = (
    Walker("fit", vo2max=50.0, rest_bpm=52.0, max_bpm=185.0, tau_up_s=30.0, tau_down_s=38.0),
    Walker("average", vo2max=38.0, rest_bpm=65.0, max_bpm=180.0, tau_up_s=38.0, tau_down_s=46.0),
    Walker("unfit", vo2max=28.0, rest_bpm=75.0, max_bpm=170.0, tau_up_s=45.0, tau_down_s=50.0),
)


def vo2(kmh: float, grade_pct: float) -> float:
    s = kmh * 1000.0 / 60.0
    g = max(grade_pct, 0.0) / 100.0
    walk = 0.1 * s + 1.8 * s * g + 3.5
    run = 0.2 * s + 0.9 * s * g + 3.5
    if kmh <= 7.5:
        return walk
    if kmh >= 8.0:
        return run
    f = (kmh - 7.5) / 0.5
    return walk + (run - walk) * f


def steady_bpm(w: Walker, kmh: float, grade_pct: float) -> float:
    frac = (vo2(kmh, grade_pct) - 3.5) / (w.vo2max - 3.5)
    return w.rest_bpm + (w.max_bpm - w.rest_bpm) * min(max(frac, 0.0), 1.05)


def grade_for(w: Walker, kmh: float, bpm: float) -> float:
    """The grade (%) at which ``kmh`` holds ``bpm`` at steady state."""
    frac = (bpm - w.rest_bpm) / (w.max_bpm - w.rest_bpm)
    s = kmh * 1000.0 / 60.0
    return max(0.0, (frac * (w.vo2max - 3.5) - 0.1 * s) / (1.8 * s) * 100.0)


@dataclass(slots=True)
class Heart:
    """The walker's heart rate over time; ``reading()`` is what a strap would send."""

    walker: Walker
    bpm: float
    seed: int = 0
    elapsed_s: float = 0.0
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def advance(self, dt: float, kmh: float, grade_pct: float) -> float:
        target = steady_bpm(self.walker, kmh, grade_pct) + self.walker.drift_bpm_per_h * self.elapsed_s / 3600
        tau = self.walker.tau_up_s if target > self.bpm else self.walker.tau_down_s
        self.bpm = target + (self.bpm - target) * math.exp(-dt / tau)
        self.elapsed_s += dt
        return self.bpm

    def reading(self) -> float:
        return round(self.bpm + self._rng.gauss(0.0, self.walker.noise_bpm))
