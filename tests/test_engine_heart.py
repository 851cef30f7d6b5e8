"""The heart-rate controller, pure: closed loops against first-order walkers, and its rules as
invariants (safety rule 6: no raise without a fresh reading; the ceiling at once)."""

from __future__ import annotations

import itertools
import math

import pytest
from hr_walkers import WALKERS, Heart, Walker, grade_for, steady_bpm
from hypothesis import given, settings
from hypothesis import strategies as st

from treadwalk.core.model import HrAdjust
from treadwalk.core.zones import HeartRateConfig, zones
from treadwalk.engine.heart import (
    HrAction,
    HrBounds,
    HrLoop,
    HrTuning,
    ease_off,
    predicted,
    start_loop,
    step_loop,
)

TUNING = HrTuning()
SPEED = HrBounds(minimum=3.0, maximum=7.5, step=0.2, floor=1.0)
INCLINE = HrBounds(minimum=0.0, maximum=15.0, step=0.5, floor=0.0)


def zone(w: Walker, n: int) -> tuple[float, float]:
    z = zones(HeartRateConfig(max_bpm=round(w.max_bpm)))[n - 1]
    return z.low_bpm, z.high_bpm


def closed_loop(
    w: Walker, n: int, adjust: HrAdjust, seed: int, duration_s: int = 1200
) -> tuple[float, float, int]:
    """Time in zone (second half), overshoot above the zone's top (bpm, the heart itself), moves."""
    low, high = zone(w, n)
    if adjust is HrAdjust.SPEED:  # the grade at which 5.5 km/h sits mid-zone; start slower
        grade, kmh, start, bounds = round(grade_for(w, 5.5, (low + high) / 2) * 2) / 2, 0.0, 3.6, SPEED
    else:
        grade, kmh, start, bounds = 0.0, 5.0, 0.0, INCLINE
    heart = Heart(w, steady_bpm(w, 3.5, 0.0), seed=seed)  # after an easy warm-up
    loop = start_loop(start, 0.0)
    inside = half = moves = 0
    overshoot = 0.0
    for t in range(duration_s):
        speed, incline = (loop.value, grade) if adjust is HrAdjust.SPEED else (kmh, loop.value)
        bpm = heart.advance(1.0, speed, incline)
        loop, move = step_loop(loop, float(t), heart.reading(), low, high, bounds, None, True, TUNING)
        moves += move is not None and move.value is not None
        if t >= duration_s // 2:
            half += 1
            inside += low <= bpm < high
        overshoot = max(overshoot, bpm - high)
    return inside / half, overshoot, moves


@pytest.mark.parametrize("adjust", list(HrAdjust))
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("w", WALKERS, ids=lambda w: w.name)
def test_closed_loop_holds_the_zone(w: Walker, n: int, adjust: HrAdjust) -> None:
    for seed in range(3):
        in_zone, overshoot, moves = closed_loop(w, n, adjust, seed)
        assert in_zone >= 0.85, (seed, in_zone)
        assert overshoot <= 3.0, (seed, overshoot)
        assert moves <= 40, (seed, moves)  # 20 minutes: no churn


def feed(loop: HrLoop, t0: float, t1: float, bpm: float | None, **kw: object) -> tuple[HrLoop, list]:
    moves = []
    t = t0
    while t < t1:
        loop, move = step_loop(loop, t, bpm, 110, 125, SPEED, kw.get("ceiling", 170), kw.get("settled", True))  # type: ignore[arg-type]
        if move is not None:
            moves.append((t, move))
        t += 1.0
    return loop, moves


def test_below_the_zone_raises_one_step_then_waits_for_the_heart() -> None:
    _loop, moves = feed(start_loop(5.0, 0.0), 0, 40, 95)
    assert [(t, m.action, m.value) for t, m in moves] == [
        (15.0, HrAction.RAISE, 5.2),
        (30.0, HrAction.RAISE, 5.4),
    ]
    assert "below 110-125 bpm: speed up to 5.2" in moves[0][1].message


def test_inside_the_dead_band_holds() -> None:
    _, moves = feed(start_loop(5.0, 0.0), 0, 120, 117)
    assert moves == []


def test_a_rising_heart_is_not_chased() -> None:
    """Smoothed below the zone, but the trend says it is on its way up: no raise."""
    loop = start_loop(5.0, 0.0)
    moves = []
    for t in range(60):  # 100 -> 112 in a minute, heading for ~120 (tau 35)
        bpm = 120 - 20 * math.exp(-t / 35)
        loop, move = step_loop(loop, float(t), bpm, 110, 125, SPEED, None, True)
        if move is not None:
            moves.append(move)
    assert moves == []
    assert predicted(loop, 59.0, TUNING) == pytest.approx(120, abs=3)


def test_hysteresis_holds_until_outside_the_shrunk_zone() -> None:
    loop, _ = feed(start_loop(5.0, 0.0), 0, 30, 117)
    assert loop.holding  # reached the middle's dead band: holding
    # 113: below the middle's band (115.25), inside the zone less its margin (112.25)
    _, moves = feed(HrLoop(value=5.0, start=5.0, holding=True), 0, 120, 113)
    assert moves == []
    _, moves = feed(HrLoop(value=5.0, start=5.0, holding=False), 0, 120, 113)  # approaching: it acts
    assert moves and moves[0][1].action is HrAction.RAISE
    _, moves = feed(HrLoop(value=5.0, start=5.0, holding=True), 0, 120, 111)  # below the margin
    assert moves and moves[0][1].action is HrAction.RAISE


def test_a_ramp_in_progress_is_not_fought() -> None:
    _, moves = feed(start_loop(5.0, 0.0), 0, 120, 95, settled=False)
    assert moves == []


def test_ceiling_acts_at_once_even_mid_ramp_and_again_every_few_seconds() -> None:
    loop, _ = feed(start_loop(5.0, 0.0), 0, 10, 117)
    loop, moves = feed(loop, 10, 21, 175, settled=False)
    assert [(t, m.action, m.value) for t, m in moves] == [
        (10.0, HrAction.CEILING, 4.8),
        (15.0, HrAction.CEILING, 4.6),
        (20.0, HrAction.CEILING, 4.4),
    ]
    assert moves[0][1].message == "Easing off: heart rate 175 above ceiling 170, speed 4.8."


def test_ceiling_goes_below_the_segments_bounds_down_to_the_floor() -> None:
    loop = start_loop(3.0, 0.0)  # at the segment's minimum
    loop, moves = feed(loop, 0, 60, 180)
    values = [m.value for _, m in moves if m.action is HrAction.CEILING]
    assert values[0] == 2.8 and values[-1] == SPEED.floor
    assert moves[-1][1].action is HrAction.AT_LIMIT and "slow down or stop" in moves[-1][1].message


def test_no_reading_holds_then_eases_back_to_the_start_and_says_why() -> None:
    loop = start_loop(5.0, 0.0).moved_to(6.0, 0.0)  # working point above the segment's start
    loop = HrLoop(value=6.0, start=5.0)
    loop, moves = feed(loop, 0, 100, None)
    said = [(t, m.action, m.value) for t, m in moves]
    assert said[0] == (0.0, HrAction.NO_READING, None)
    assert "No heart-rate reading: holding speed at 6" in moves[0][1].message
    eases = [(t, v) for t, a, v in said if a is HrAction.EASE_BACK]
    assert eases[0] == (15.0, 5.8)
    assert [v for _, v in eases] == [5.8, 5.6, 5.4, 5.2, 5.0]
    assert all(b - a >= TUNING.urgent_interval_s for (a, _), (b, _) in itertools.pairwise(eases))
    assert "easing speed back to 5.8" in moves[1][1].message
    assert loop.value == 5.0  # the start: never below, never above


def test_no_reading_below_the_start_stays_put() -> None:
    loop = HrLoop(value=4.0, start=5.0)
    loop, moves = feed(loop, 0, 120, None)
    assert [m.action for _, m in moves] == [HrAction.NO_READING]
    assert loop.value == 4.0


def test_walkers_plus_moves_the_working_point_and_is_not_undone() -> None:
    loop, _ = feed(start_loop(5.0, 0.0), 0, 30, 117)
    loop = loop.moved_to(5.6, 30.0)
    loop, moves = feed(loop, 30, 300, 119)  # the heart answers, still in the zone
    assert moves == []
    assert loop.value == 5.6
    # even below the zone, it waits interval_s after the walker's move before raising
    loop = loop.moved_to(5.0, 300.0)
    _, moves = feed(loop, 300, 330, 95)
    assert moves and moves[0][0] >= 300 + TUNING.interval_s


def test_at_the_top_says_so_once() -> None:
    loop = start_loop(SPEED.maximum, 0.0)
    _, moves = feed(loop, 0, 200, 95)
    assert [m.action for _, m in moves] == [HrAction.AT_LIMIT]
    assert "at its top 7.5" in moves[0][1].message


# stretches of one value (a strap that goes quiet after low readings is the case that matters)
readings = st.lists(
    st.tuples(st.one_of(st.none(), st.floats(40, 200)), st.integers(1, 40)), min_size=1, max_size=30
).map(lambda runs: [bpm for bpm, n in runs for _ in range(n)])


@settings(max_examples=150, deadline=None)
@given(
    readings,
    st.floats(3.0, 7.5),
    st.floats(60, 170),
    st.floats(6, 30),
    st.one_of(st.none(), st.floats(120, 200)),
    st.lists(st.booleans(), min_size=1, max_size=20),
)
def test_rules_hold_for_any_readings(
    bpms: list[float | None],
    start: float,
    low: float,
    width: float,
    ceiling: float | None,
    ramps: list[bool],
) -> None:
    loop = start_loop(round(start, 1), 0.0)
    last_move = -math.inf
    for i, bpm in enumerate(bpms):
        now = float(i)
        before = loop.value
        loop, move = step_loop(loop, now, bpm, low, low + width, SPEED, ceiling, ramps[i % len(ramps)])
        # safety rule 6: never a raise without a fresh reading
        if bpm is None:
            assert loop.value <= before + 1e-9
        if loop.value > before + 1e-9:
            assert move is not None and move.action is HrAction.RAISE
            assert now - last_move >= TUNING.interval_s - 1e-9  # the heart had time to answer
        # always within the bounds (the ceiling may go down to the floor)
        assert SPEED.floor - 1e-9 <= loop.value <= SPEED.maximum + 1e-9
        if move is not None and move.value is not None:
            assert abs(move.value - before) <= SPEED.step + 1e-9  # one step at a time
            if move.action is not HrAction.CEILING:
                assert now - last_move >= TUNING.urgent_interval_s - 1e-9
            last_move = now
        if move is not None and move.action is HrAction.CEILING:
            assert bpm is not None and ceiling is not None and bpm > ceiling


def test_ease_off_outside_hr_segments_incline_first_then_speed() -> None:
    kw = {"speed_floor": 1.0, "incline_floor": 0.0, "speed_step": 0.1, "incline_step": 0.5}
    first = ease_off(0.0, 176, 170, -math.inf, speed=5.0, incline=1.0, **kw)
    assert first is not None and (first.adjust, first.value) == (HrAdjust.INCLINE, 0.5)
    assert first.message == "Easing off: heart rate 176 above ceiling 170, incline 0.5 %."
    assert ease_off(3.0, 176, 170, 0.0, speed=5.0, incline=0.5, **kw) is None  # too soon
    flat = ease_off(5.0, 176, 170, 0.0, speed=5.0, incline=0.0, **kw)
    assert flat is not None and (flat.adjust, flat.value) == (HrAdjust.SPEED, 4.9)
    assert ease_off(5.0, None, 170, 0.0, speed=5.0, incline=1.0, **kw) is None  # no reading: nothing
    assert ease_off(5.0, 165, 170, 0.0, speed=5.0, incline=1.0, **kw) is None
    assert ease_off(5.0, 176, 170, 0.0, speed=1.0, incline=0.0, **kw) is None  # nothing left to ease


def test_step_follows_a_coarser_machine_grid() -> None:
    assert TUNING.step_for(HrAdjust.SPEED, 0.1) == pytest.approx(0.2)
    assert TUNING.step_for(HrAdjust.SPEED, 0.5) == pytest.approx(0.5)
    assert TUNING.step_for(HrAdjust.INCLINE, 1.0) == pytest.approx(1.0)


def test_a_silent_strap_after_low_readings_never_raises() -> None:
    """Safety rule 6: the last (low) readings are not chased once the strap goes quiet."""
    loop, moves = feed(start_loop(5.0, 0.0), 0, 16, 95)
    assert [m.action for _, m in moves] == [HrAction.RAISE]
    raised = loop.value
    loop, moves = feed(loop, 16, 200, None)
    assert all(m.action in (HrAction.NO_READING, HrAction.EASE_BACK) for _, m in moves)
    assert loop.value <= raised
    assert any(m.action is HrAction.EASE_BACK for _, m in moves) and loop.value == 5.0
