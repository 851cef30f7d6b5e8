"""Hypothesis strategies for FTMS records, shared by the property and differential tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from treadwalk.ftms import TreadmillData

# name -> (lowest, highest value the wire carries, resolution). Highest excludes N/A sentinels.
RANGES: dict[str, tuple[float, float, float]] = {
    "speed_kmh": (0, 655.35, 0.01),
    "avg_speed_kmh": (0, 655.35, 0.01),
    "distance_m": (0, 0xFFFFFF, 1),
    "incline_pct": (-3276.8, 3276.6, 0.1),
    "ramp_angle_deg": (-3276.8, 3276.6, 0.1),
    "elevation_gain_m": (0, 3276.6, 0.1),
    "elevation_loss_m": (0, 3276.6, 0.1),
    "pace_kmpm": (0, 25.5, 0.1),
    "avg_pace_kmpm": (0, 25.5, 0.1),
    "energy_total_kcal": (0, 0xFFFE, 1),
    "energy_per_hour_kcal": (0, 0xFFFE, 1),
    "energy_per_min_kcal": (0, 0xFE, 1),
    "heart_rate_bpm": (0, 0xFF, 1),
    "met": (0, 25.5, 0.1),
    "elapsed_s": (0, 0xFFFF, 1),
    "remaining_s": (0, 0xFFFF, 1),
    "force_n": (-0x8000, 0x7FFE, 1),
    "power_w": (-0x8000, 0x7FFE, 1),
    "steps": (0, 0xFFFFFF, 1),
}


def _value(name: str, on_grid: bool) -> st.SearchStrategy[Any]:
    lo, hi, res = RANGES[name]
    if res == 1:
        return st.integers(int(lo), int(hi))
    n_lo, n_hi = round(lo / res), round(hi / res)
    if on_grid:
        return st.integers(n_lo, n_hi).map(lambda n: n / round(1 / res))
    return st.floats(lo, hi, allow_nan=False)


def records(on_grid: bool = True, require_speed: bool = False) -> st.SearchStrategy[TreadmillData]:
    fields = {name: st.none() | _value(name, on_grid) for name in RANGES}
    if require_speed:
        fields["speed_kmh"] = _value("speed_kmh", on_grid)
    return st.fixed_dictionaries(fields).map(
        lambda kw: TreadmillData(more_data=kw["speed_kmh"] is None, **kw)
    )
