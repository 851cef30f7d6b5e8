"""The belt model alone: bounded acceleration, counters from the actual belt speed (plain numbers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadwalk.sim.belt import Belt, BeltConfig


def test_start_ramps_at_the_acceleration_limit_and_counts_distance() -> None:
    belt = Belt(BeltConfig(accel_kmh_per_s=1.0, decel_kmh_per_s=1.5))
    belt.start()
    belt.target_speed_kmh = 6.0
    belt.advance(3.0)
    assert belt.speed_kmh == pytest.approx(3.0)
    assert belt.distance_m == pytest.approx(1.5 * 3.0 / 3.6)  # mean 1.5 km/h over 3 s
    belt.advance(10.0)
    assert belt.speed_kmh == pytest.approx(6.0)
    belt.stop()
    belt.advance(2.0)
    assert belt.speed_kmh == pytest.approx(3.0)
    assert belt.elapsed_s == pytest.approx(13.0)  # stops counting at Stop


def test_a_new_session_starts_from_zero_and_pause_keeps_counters() -> None:
    belt = Belt()
    belt.start()
    belt.advance(20.0)
    belt.pause()
    belt.advance(20.0)
    assert belt.elapsed_s == pytest.approx(20.0)
    distance = belt.distance_m
    belt.start()
    assert belt.distance_m == distance
    belt.stop()
    belt.start()
    assert belt.distance_m == 0.0


@given(st.lists(st.tuples(st.floats(0.0, 12.0), st.floats(0.01, 5.0)), max_size=30))
def test_speed_never_changes_faster_than_the_motor_allows(steps: list[tuple[float, float]]) -> None:
    belt = Belt(BeltConfig(accel_kmh_per_s=1.0, decel_kmh_per_s=1.5))
    belt.start()
    for target, dt in steps:
        belt.target_speed_kmh = target
        before = belt.speed_kmh
        belt.advance(dt)
        assert -1.5 * dt - 1e-6 <= belt.speed_kmh - before <= 1.0 * dt + 1e-6
        assert belt.energy_kcal >= 0
        assert belt.steps >= 0
