"""The virtual walker's heart (treadwalk.sim.physiology): ACSM oxygen cost, the steady state of
REFERENCE.md's example, first-order lag, drift, seeded noise, the three walkers."""

from __future__ import annotations

import pytest

from treadwalk.sim.physiology import WALKERS, Physiology, Walker, oxygen_cost, steady_state_bpm

AVERAGE = WALKERS["average"]


def test_acsm_oxygen_cost() -> None:
    assert oxygen_cost(0, 10) == 3.5
    assert oxygen_cost(6.0, 0) == pytest.approx(0.1 * 100 + 3.5)
    assert oxygen_cost(6.0, 5) == pytest.approx(0.1 * 100 + 1.8 * 100 * 0.05 + 3.5)
    assert oxygen_cost(9.0, 0) == pytest.approx(0.2 * 150 + 3.5)
    # between walking and running the two blend: no jump at 7.5 or 8 km/h
    walk, blend, run = oxygen_cost(7.5, 0), oxygen_cost(7.75, 0), oxygen_cost(8.0, 0)
    assert walk < blend < run
    assert oxygen_cost(5.0, -5) == oxygen_cost(5.0, 0)


def test_steady_state_matches_the_reference_example() -> None:
    # VO2max 38, rest 65, max 180: ~93 bpm at 5 km/h flat, ~143 at 10 %
    assert steady_state_bpm(AVERAGE, 5.0, 0) == pytest.approx(93, abs=1)
    assert steady_state_bpm(AVERAGE, 5.0, 10) == pytest.approx(143, abs=1)
    assert steady_state_bpm(AVERAGE, 30, 40) == AVERAGE.max_bpm


def test_fitter_walkers_work_at_a_lower_heart_rate() -> None:
    hrs = [steady_state_bpm(WALKERS[n], 5.5, 6) for n in ("fit", "average", "unfit")]
    assert hrs == sorted(hrs)


def test_first_order_lag_up_slower_down() -> None:
    quiet = Walker("quiet", 38, 65, 180, tau_up_s=30, tau_down_s=60, drift_bpm_per_hour=0, noise_bpm=0)
    p = Physiology(quiet)
    target = steady_state_bpm(quiet, 5, 10)
    for _ in range(30):
        p.step(1.0, 5, 10)
    # one time constant: 63 % of the way
    assert (p.bpm - 65) / (target - 65) == pytest.approx(0.632, abs=0.01)
    for _ in range(600):
        p.step(1.0, 5, 10)
    top = p.bpm
    for _ in range(30):
        p.step(1.0, 0, 0)
    assert (top - p.bpm) / (top - 65) == pytest.approx(0.393, abs=0.01)  # tau_down = 60 s


def test_cardiac_drift_at_a_constant_workload() -> None:
    p = Physiology(Walker("d", 38, 65, 180, 30, 45, drift_bpm_per_hour=6, noise_bpm=0))
    for _ in range(600):
        p.step(1.0, 5, 10)
    at_10 = p.bpm
    for _ in range(3000):
        p.step(1.0, 5, 10)
    assert 1.5 < p.bpm - at_10 < 6


def test_noise_is_seeded() -> None:
    def walk(seed: int) -> list[float]:
        p = Physiology("unfit", seed=seed)
        return [p.step(1.0, 5, 3) for _ in range(120)]

    assert walk(7) == walk(7)
    assert walk(7) != walk(8)
    rr = Physiology("fit", seed=1, start_bpm=60).beats(10.0)
    assert 8 <= len(rr) <= 11
    assert all(900 < ms < 1100 for ms in rr)
