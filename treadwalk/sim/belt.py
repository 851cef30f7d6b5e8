"""The belt of the virtual treadmill: motion and counters, as a pure model. Stdlib only.

``Belt.advance(dt)`` moves the belt toward its target at a bounded acceleration/deceleration
and the incline motor at a bounded rate, and accumulates distance, elapsed time, energy and
steps from the *actual* belt speed. It knows nothing of Bluetooth or of time sources: the
server calls it with clock deltas. States: stopped -> running <-> paused -> stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Belt", "BeltConfig"]

WALKER_KG = 75.0  # the energy model's walker
SAFETY_DECEL_KMH_PER_S = 6.0  # the safety key cuts the motor: the belt coasts down fast


@dataclass(frozen=True, slots=True)
class BeltConfig:
    """What the motors can do. Defaults are close to a real home treadmill."""

    accel_kmh_per_s: float = 1.0
    decel_kmh_per_s: float = 1.5
    incline_pct_per_s: float = 0.5
    start_speed_kmh: float = 1.0  # where Start takes the belt when no target is set


def _ramp(v0: float, target: float, rate: float, dt: float) -> tuple[float, float]:
    """Move ``v0`` toward ``target`` at ``rate``/s for ``dt`` s: (new value, integral over dt)."""
    gap = target - v0
    if gap == 0 or rate <= 0:
        return v0, v0 * dt
    t_reach = abs(gap) / rate
    sign = 1.0 if gap > 0 else -1.0
    if t_reach >= dt:
        v1 = v0 + sign * rate * dt
        return v1, (v0 + v1) / 2 * dt
    return target, (v0 + target) / 2 * t_reach + target * (dt - t_reach)


def walking_kcal_per_min(speed_kmh: float, incline_pct: float, kg: float = WALKER_KG) -> float:
    """ACSM metabolic equations (walking below 8 km/h, running above), net of nothing."""
    if speed_kmh <= 0:
        return 0.0
    m_per_min = speed_kmh * 1000 / 60
    grade = max(incline_pct, 0.0) / 100
    if speed_kmh < 8.0:
        vo2 = 0.1 * m_per_min + 1.8 * m_per_min * grade + 3.5
    else:
        vo2 = 0.2 * m_per_min + 0.9 * m_per_min * grade + 3.5
    return vo2 * kg / 1000 * 5.0


def step_length_m(speed_kmh: float) -> float:
    """A walker's step gets longer with speed (about 0.65 m at 4 km/h)."""
    return min(max(0.41 + 0.06 * speed_kmh, 0.45), 1.3)


class Belt:
    """Belt speed, incline, session state and counters. All public values are plain floats."""

    def __init__(self, config: BeltConfig | None = None) -> None:
        self.config = config or BeltConfig()
        self.state = "stopped"  # stopped | running | paused
        self.speed_kmh = 0.0
        self.incline_pct = 0.0
        self.target_speed_kmh = 0.0
        self.target_incline_pct = 0.0
        self.distance_m = 0.0
        self.elapsed_s = 0.0
        self.energy_kcal = 0.0
        self.steps = 0.0
        self.elevation_gain_m = 0.0
        self.emergency = False  # the safety key was pulled: the belt coasts down fast

    # -- state changes (the server checks whether they are allowed) --------------------------

    def start(self) -> None:
        if self.state == "stopped":
            self.reset_counters()
            if self.target_speed_kmh <= 0:
                self.target_speed_kmh = self.config.start_speed_kmh
        elif self.state == "paused" and self.target_speed_kmh <= 0:
            self.target_speed_kmh = self.config.start_speed_kmh
        self.state = "running"
        self.emergency = False

    def pause(self) -> None:
        self.state = "paused"

    def stop(self, *, emergency: bool = False) -> None:
        self.state = "stopped"
        self.target_speed_kmh = 0.0
        self.target_incline_pct = 0.0
        self.emergency = emergency

    def reset(self) -> None:
        self.stop()
        self.reset_counters()

    def reset_counters(self) -> None:
        self.distance_m = 0.0
        self.elapsed_s = 0.0
        self.energy_kcal = 0.0
        self.steps = 0.0
        self.elevation_gain_m = 0.0

    # -- motion -------------------------------------------------------------------------------

    @property
    def commanded_speed_kmh(self) -> float:
        """What the motor drives toward now: the target while running, 0 otherwise."""
        return self.target_speed_kmh if self.state == "running" else 0.0

    @property
    def avg_speed_kmh(self) -> float:
        return self.distance_m / self.elapsed_s * 3.6 if self.elapsed_s > 0 else 0.0

    @property
    def kcal_per_min(self) -> float:
        return walking_kcal_per_min(self.speed_kmh, self.incline_pct)

    def advance(self, dt: float) -> None:
        """Let ``dt`` seconds pass."""
        if dt <= 0:
            return
        v0 = self.speed_kmh
        target = self.commanded_speed_kmh
        if target >= v0:
            rate = self.config.accel_kmh_per_s
        else:
            rate = SAFETY_DECEL_KMH_PER_S if self.emergency else self.config.decel_kmh_per_s
        v1, integral_kmh_s = _ramp(v0, target, rate, dt)
        i0 = self.incline_pct
        i1, _ = _ramp(i0, self.target_incline_pct, self.config.incline_pct_per_s, dt)
        self.speed_kmh = round(v1, 9)
        self.incline_pct = round(i1, 9)
        if self.state == "running":
            self.elapsed_s += dt
        d = integral_kmh_s / 3.6  # metres
        if d > 0:
            mean_kmh = integral_kmh_s / dt
            mean_incline = (i0 + i1) / 2
            self.distance_m += d
            self.steps += d / step_length_m(mean_kmh)
            self.energy_kcal += walking_kcal_per_min(mean_kmh, mean_incline) * dt / 60
            self.elevation_gain_m += (
                d * max(mean_incline, 0.0) / 100 / math.sqrt(1 + (mean_incline / 100) ** 2)
            )
