"""The one clamp of safety rule 3 (``treadwalk.core.units.clamp``) and the axis type shared by
the engine and ``FtmsTreadmill``: inside the range and the caps, on the grid, the nearest grid
value (rounded, never truncated), and the reason said when a value was held."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadwalk.core.axis import Quantity, Range
from treadwalk.core.model import Capabilities, Limits, TreadmillState
from treadwalk.core.units import ClampReason, Grid, clamp, snap

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def grids(draw: st.DrawFn) -> Grid:
    lo = draw(st.floats(min_value=-10, max_value=30, allow_nan=False).map(lambda x: round(x, 2)))
    step = draw(st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 0.1609344]))
    span = draw(st.floats(min_value=0, max_value=30, allow_nan=False).map(lambda x: round(x, 2)))
    return Grid(lo, round(lo + span, 2), step)


def _on_grid(v: float, g: Grid) -> bool:
    if g.step <= 0:
        return True
    n = (v - g.minimum) / g.step
    return abs(n - round(n)) < 1e-5


def _points(g: Grid, upper: float) -> list[float]:
    """Every grid value inside [minimum, upper]."""
    if g.step <= 0:
        return []
    n = math.floor((upper - g.minimum) / g.step + 1e-9)
    return [g.minimum + i * g.step for i in range(n + 1)]


def _near(grid: Grid) -> st.SearchStrategy[float]:
    """Mostly values in and around the grid (where rounding matters), some far out or infinite."""
    around = st.floats(min_value=grid.minimum - 3, max_value=grid.maximum + 3, allow_nan=False)
    return st.one_of(around, around, around, finite, st.sampled_from([math.inf, -math.inf]))


@given(data=st.data(), grid=grids())
def test_clamp_is_inside_on_the_grid_and_nearest(data: st.DataObject, grid: Grid) -> None:
    value = data.draw(_near(grid))
    cap = data.draw(st.none() | _near(grid).filter(math.isfinite))
    out = clamp(value, grid, cap=cap)
    upper = grid.maximum if cap is None else max(grid.minimum, min(grid.maximum, cap))
    assert grid.minimum - 1e-9 <= out.value <= upper + 1e-9  # inside the range and under the cap
    assert _on_grid(out.value, grid)
    held = min(max(value, grid.minimum), upper)
    points = _points(grid, upper) or [held]
    best = min(abs(p - held) for p in points)
    assert abs(out.value - held) <= best + 1e-6  # the nearest allowed value: rounded, not truncated
    assert snap(value, grid, cap=cap) == out.value


@given(data=st.data(), grid=grids())
def test_clamp_says_why_only_when_it_held_the_value(data: st.DataObject, grid: Grid) -> None:
    value = data.draw(_near(grid).filter(math.isfinite))
    cap = data.draw(st.none() | _near(grid).filter(math.isfinite))
    out = clamp(value, grid, cap=cap)
    upper = grid.maximum if cap is None else max(grid.minimum, min(grid.maximum, cap))
    if grid.minimum + 1e-6 <= value <= upper - 1e-6:
        assert out.reason is None  # rounding onto the grid alone is not a clamp
    if value < grid.minimum - 1e-6:
        assert out.reason is ClampReason.MACHINE_MIN
    elif value > upper + 1e-6:
        assert out.reason in (ClampReason.CAP, ClampReason.MACHINE_MAX)
        assert (out.reason is ClampReason.CAP) == (cap is not None and cap <= grid.maximum + 1e-6)


def test_rounded_never_truncated_examples() -> None:
    g = Grid(0.5, 20.0, 0.1)
    assert [snap(v, g) for v in (4.1, 4.15, 4.149, 4.05)] == [4.1, 4.2, 4.1, 4.1]
    assert snap(4.15, g, cap=4.12) == 4.1  # the step above would cross the cap
    assert snap(9.0, Grid(1.0, 6.0, 0.5), cap=5.2) == 5.0
    assert snap(3.0, Grid(1.0, 6.0, 0.5), cap=0.5) == 1.0  # a cap below the range leaves its minimum
    # the 6-decimal rounding never carries a value past a cap (found by hypothesis)
    assert snap(0.0, Grid(-2.0, -1.0, 0.0), cap=-1.9765625) <= -1.9765625
    with pytest.raises(ValueError, match="NaN"):
        snap(math.nan, g)


def test_one_axis_type_reads_each_quantity() -> None:
    caps = Capabilities(speed=Grid(1.0, 6.0, 0.5), incline=None)
    limits = Limits(max_speed_kmh=5.2, max_incline_pct=4.0, max_incline_step_pct_per_s=0.5)
    speed = Range.of(Quantity.SPEED, caps, limits)
    assert speed is not None and speed.cap == 5.2 and speed.upper == 5.2
    assert Range.of(Quantity.INCLINE, caps, limits) is None
    assert Quantity.INCLINE.rate(limits) == 0.5 and Quantity.SPEED.rate(limits) == 2.0
    state = Quantity.INCLINE.with_target(TreadmillState(incline_pct=1.0), 2.5)
    assert (Quantity.INCLINE.actual(state), Quantity.INCLINE.target(state)) == (1.0, 2.5)
    assert speed.why(ClampReason.CAP) == "speed held at your --max-speed 5.2 km/h"
    assert speed.clamp(9.0).value == 5.0 and speed.clamp(9.0, capped=False).value == 6.0
    assert speed.hold(9.0) == 5.2
