"""The virtual walker's heart: heart rate from the belt's speed and grade. Pure, stdlib only.

Usable without Bluetooth (benchmarks of the heart-rate controller drive it directly); the
virtual strap (``treadwalk.sim.strap``) sends what it computes.

Model (shared/hr/REFERENCE.md), per step of ``dt`` seconds at speed S and grade G:

1. **Oxygen cost**, ACSM metabolic equations (ACSM's Guidelines for Exercise Testing and
   Prescription, metabolic calculations), in ml·kg⁻¹·min⁻¹, S in m/min, G a fraction:

   - walking (to ~7.5 km/h): ``VO2 = 0.1·S + 1.8·S·G + 3.5``
   - running (from ~8 km/h): ``VO2 = 0.2·S + 0.9·S·G + 3.5``
   - between 7.5 and 8 km/h the two are blended linearly (people switch gait there);
     a downhill grade counts as flat (the equations hold for G ≥ 0); a standing belt is 3.5.

2. **Steady state**: heart rate tracks the fraction of reserve (%HRR ≈ %VO2R, Swain & Leutholtz):
   ``HRss = rest + (max − rest) · clamp((VO2 − 3.5) / (VO2max − 3.5), 0, 1)``.
   Example: VO2max 38, rest 65, max 180 gives ~93 bpm at 5 km/h flat, ~143 bpm at 5 km/h, 10 %.

3. **Kinetics**: a first-order lag towards HRss, exact for a constant input over the step:
   ``HR += (HRss − HR) · (1 − exp(−dt/τ))``, with τ_up when rising and a slower τ_down when
   falling (about 20–30 s fit, 40–60 s unfit).

4. **Cardiac drift**: at a steady workload heart rate creeps up, a few bpm per 30–60 min:
   ``drift += rate · (HRss − rest)/(max − rest) · dt`` (more at higher effort), relaxing back
   with a 5-minute time constant while standing.

5. **Noise**: an AR(1) Gaussian process (correlation time ``noise_tau_s``, standard deviation
   ``noise_bpm``) from a seeded ``random.Random``: the same seed gives the same walk.

The output is ``HR + drift + noise``, kept within [rest − 5, max]. ``beats()`` turns it into RR
intervals (ms), with a little beat-to-beat variability, for the strap's RR field.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = [
    "WALKERS",
    "Physiology",
    "Walker",
    "oxygen_cost",
    "steady_state_bpm",
]

_REST_VO2 = 3.5  # ml/kg/min, one MET
_WALK_UNTIL_KMH = 7.5
_RUN_FROM_KMH = 8.0


@dataclass(frozen=True, slots=True)
class Walker:
    """A person on the belt: fitness and how their heart answers."""

    name: str
    vo2max: float  # ml/kg/min
    rest_bpm: float
    max_bpm: float
    tau_up_s: float
    tau_down_s: float
    drift_bpm_per_hour: float = 6.0  # at full effort; scaled by the effort fraction
    noise_bpm: float = 1.5
    noise_tau_s: float = 8.0
    mass_kg: float = 75.0


#: Three virtual walkers (issue 12): fit, average (REFERENCE.md's example), unfit.
WALKERS: dict[str, Walker] = {
    "fit": Walker("fit", vo2max=50.0, rest_bpm=55.0, max_bpm=188.0, tau_up_s=22.0, tau_down_s=30.0),
    "average": Walker("average", vo2max=38.0, rest_bpm=65.0, max_bpm=180.0, tau_up_s=32.0, tau_down_s=45.0),
    "unfit": Walker(
        "unfit",
        vo2max=28.0,
        rest_bpm=75.0,
        max_bpm=172.0,
        tau_up_s=45.0,
        tau_down_s=60.0,
        drift_bpm_per_hour=9.0,
    ),
}


def oxygen_cost(speed_kmh: float, grade_pct: float) -> float:
    """ACSM oxygen cost (ml/kg/min) of walking or running at ``speed_kmh`` up ``grade_pct``."""
    if speed_kmh <= 0:
        return _REST_VO2
    s = speed_kmh * 1000.0 / 60.0
    g = max(0.0, grade_pct / 100.0)
    walk = 0.1 * s + 1.8 * s * g + _REST_VO2
    run = 0.2 * s + 0.9 * s * g + _REST_VO2
    if speed_kmh <= _WALK_UNTIL_KMH:
        return walk
    if speed_kmh >= _RUN_FROM_KMH:
        return run
    w = (speed_kmh - _WALK_UNTIL_KMH) / (_RUN_FROM_KMH - _WALK_UNTIL_KMH)
    return (1 - w) * walk + w * run


def effort(walker: Walker, speed_kmh: float, grade_pct: float) -> float:
    """Fraction of the walker's VO2 reserve (0 standing, 1 at VO2max and above)."""
    frac = (oxygen_cost(speed_kmh, grade_pct) - _REST_VO2) / (walker.vo2max - _REST_VO2)
    return min(1.0, max(0.0, frac))


def steady_state_bpm(walker: Walker, speed_kmh: float, grade_pct: float) -> float:
    """The heart rate this walker settles at for this speed and grade (before drift)."""
    return walker.rest_bpm + (walker.max_bpm - walker.rest_bpm) * effort(walker, speed_kmh, grade_pct)


class Physiology:
    """One walker's heart over time. ``step(dt, speed, grade)`` -> heart rate in bpm (float)."""

    def __init__(
        self, walker: Walker | str = "average", *, seed: int = 0, start_bpm: float | None = None
    ) -> None:
        self.walker = WALKERS[walker] if isinstance(walker, str) else walker
        self._rng = random.Random(seed)
        self._hr = self.walker.rest_bpm if start_bpm is None else float(start_bpm)
        self.drift_bpm = 0.0
        self._noise = 0.0
        self.energy_kj = 0.0
        self._beat_phase_ms = 0.0
        self.bpm = self._output()

    @property
    def base_bpm(self) -> float:
        """Heart rate without drift and noise (the lagged steady state)."""
        return self._hr

    def step(self, dt: float, speed_kmh: float, grade_pct: float) -> float:
        if dt <= 0:
            return self.bpm
        w = self.walker
        target = steady_state_bpm(w, speed_kmh, grade_pct)
        tau = w.tau_up_s if target > self._hr else w.tau_down_s
        self._hr += (target - self._hr) * (1.0 - math.exp(-dt / tau))
        frac = (target - w.rest_bpm) / (w.max_bpm - w.rest_bpm)
        if frac > 0.05:
            self.drift_bpm += w.drift_bpm_per_hour / 3600.0 * frac * dt
        else:  # standing: the drift relaxes
            self.drift_bpm *= math.exp(-dt / 300.0)
        a = math.exp(-dt / w.noise_tau_s)
        self._noise = a * self._noise + math.sqrt(1 - a * a) * w.noise_bpm * self._rng.gauss(0.0, 1.0)
        # energy (kJ): VO2 (ml/kg/min) x mass -> l O2/min x ~20.9 kJ per litre
        self.energy_kj += oxygen_cost(speed_kmh, grade_pct) * w.mass_kg / 1000.0 * 20.9 * dt / 60.0
        self.bpm = self._output()
        return self.bpm

    def _output(self) -> float:
        w = self.walker
        return min(w.max_bpm, max(w.rest_bpm - 5.0, self._hr + self.drift_bpm + self._noise))

    def beats(self, dt: float) -> list[float]:
        """RR intervals (ms) of the beats completed in the last ``dt`` seconds at the current rate."""
        out: list[float] = []
        self._beat_phase_ms += dt * 1000.0
        while True:
            rr = 60000.0 / max(1.0, self.bpm) * (1.0 + 0.02 * self._rng.gauss(0.0, 1.0))
            if self._beat_phase_ms < rr:
                break
            self._beat_phase_ms -= rr
            out.append(rr)
        return out
