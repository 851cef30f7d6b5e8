"""The package foundation: import hygiene, a fast --help, units, clock."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadwalk.core.clock import LoopClock, ManualClock
from treadwalk.core.units import Grid, format_distance, format_duration, format_speed, round_half_up, snap

HEAVY = ("bleak", "bumble", "rich", "aiomqtt", "bleak_retry_connector", "fitdecode", "aiohttp", "segno")


@pytest.mark.parametrize(
    "module",
    ["treadwalk", "treadwalk.cli", "treadwalk.core.model", "treadwalk.web", "treadwalk.web.settings"],
)
def test_import_does_not_pull_heavy_libraries(module: str) -> None:
    code = (
        f"import sys, {module}, treadwalk.cli; treadwalk.cli.build_parser(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_help_lists_commands_without_loading_heavy_libraries() -> None:
    """--help stays fast by what it does not load (bleak, Bumble, Rich, MQTT, the web server, the
    FIT reader): a structural check, not a timed one, so a busy machine cannot decide it. How fast
    it is, is measured by scripts/bench_startup.py (docs/benchmarks.md)."""
    heavy = (*HEAVY, "aiohttp", "fitdecode", "cairosvg", "segno")
    code = (
        "import sys, treadwalk.cli\n"
        "try:\n    treadwalk.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('LOADED=' + ','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "usage: treadwalk" in out.stdout
    assert "LOADED=\n" in out.stdout + "\n" and out.stdout.strip().endswith("LOADED="), out.stdout[-200:]


def test_bad_flag_is_one_sentence_and_exit_2() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "treadwalk", "--no-such-flag"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "--help" in out.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4.1, 4.1), (4.14, 4.1), (4.15, 4.2), (0.0, 1.0), (99.0, 6.0), (5.99, 6.0), (1.05, 1.1)],
)
def test_snap_rounds_onto_grid_and_clamps(value: float, expected: float) -> None:
    assert snap(value, Grid(1.0, 6.0, 0.1)) == expected


def test_snap_respects_cap_and_never_rounds_over_it() -> None:
    g = Grid(0.96, 6.43, 0.32)  # UREVO: 0.6-4.0 mph in km/h, 0.2 mph steps
    assert snap(6.43, g) <= 6.43
    assert snap(5.0, g, cap=4.5) <= 4.5
    assert snap(2.0, Grid(0.0, 15.0, 0.5), cap=1.2) == 1.0


@given(
    st.floats(-50, 50, allow_nan=False),
    st.floats(0, 10),
    st.floats(0.1, 20),
    st.sampled_from([0.1, 0.5, 0.32, 1.0]),
    st.one_of(st.none(), st.floats(0, 30)),
)
def test_snap_stays_in_bounds(value: float, lo: float, span: float, step: float, cap: float | None) -> None:
    g = Grid(lo, lo + span, step)
    out = snap(value, g, cap=cap)
    upper = g.maximum if cap is None else max(g.minimum, min(g.maximum, cap))
    assert g.minimum - 1e-6 <= out <= upper + 1e-6
    # on the grid
    n = (out - g.minimum) / step
    assert abs(n - round(n)) * step < 2e-6


def test_round_half_up_is_not_truncation() -> None:
    assert round_half_up(4.1 * 100) == 410
    assert round_half_up(0.125, 2) == 0.13
    assert format_duration(3725) == "1:02:05"
    assert format_duration(75) == "1:15"


@pytest.mark.virtual_time
async def test_loop_clock_scales_and_sleeps_until_deadlines() -> None:
    clock = LoopClock(speedup=10)
    t0 = clock.now()
    loop = asyncio.get_running_loop()
    l0 = loop.time()
    await clock.sleep_until(t0 + 50)
    assert clock.now() - t0 == pytest.approx(50, abs=1e-3)
    assert loop.time() - l0 == pytest.approx(5, abs=1e-3)
    assert clock.wall() > 1e9


async def test_manual_clock_jumps() -> None:
    c = ManualClock()
    await c.sleep_until(12.5)
    assert c.now() == 12.5
    with pytest.raises(ValueError, match="backwards"):
        c.advance(-1)


def test_speed_and_distance_read_in_the_walkers_units() -> None:
    assert format_speed(4.5) == "4.5 km/h"
    assert format_speed(4.828, "imperial") == "3 mph"
    assert format_speed(3.5, end_kmh=5.0) == "3.5->5 km/h"
    assert format_distance(400) == "400 m"
    assert format_distance(1500) == "1.5 km"
    assert format_distance(402.336, "imperial") == "0.25 mi"
