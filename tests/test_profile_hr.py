"""Profiles that hold heart rate: the TOML keys, their validation (FILE:LINE), the plan, dump, QZ XML
rows (zonehr, hrmin/hrmax, minspeed/maxspeed) both ways, the built-ins, `profiles show`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from treadwalk.core.errors import ConfigError, ProfileError
from treadwalk.core.model import HrAdjust, HrHold
from treadwalk.core.zones import HeartRateConfig, HrTarget, resolve_plan
from treadwalk.profile import (
    LIBRARY,
    Segment,
    dump_profile,
    load_profile,
    parse_profile,
    read_qz_xml,
    write_qz_xml,
)
from treadwalk.profile.model import Profile
from treadwalk.profile.quantities import Speed

HEAD = 'name = "HR"\n[[segment]]\nduration = "20m"\n'


def one(body: str) -> Segment:
    profile = parse_profile(HEAD + body, "hr.toml")
    seg = profile.items[0]
    assert isinstance(seg, Segment)
    return seg


def test_a_zone_held_by_speed_with_default_bounds() -> None:
    seg = one('speed = 5.0\nhr = "zone2"\n')
    assert seg.hr == HrTarget(zone=2) and seg.adjust is HrAdjust.SPEED
    hold = seg.to_plan_segment().hr
    assert hold == HrHold(HrAdjust.SPEED, 3.5, 6.5, zone=2)
    assert not hold.resolved


def test_a_range_held_by_incline_with_its_bounds() -> None:
    seg = one(
        'speed = 5.0\nincline = 2\nhr = "110-125"\nadjust = "incline"\nmin_incline = 1\nmax_incline = 9\n'
    )
    hold = seg.to_plan_segment().hr
    assert hold == HrHold(HrAdjust.INCLINE, 1.0, 9.0, low_bpm=110.0, high_bpm=125.0)
    assert hold.resolved and hold.label == "110-125 bpm"


def test_incline_defaults_are_around_the_start() -> None:
    hold = one('speed = 5\nincline = 3\nhr = "zone2"\nadjust = "incline"\n').to_plan_segment().hr
    assert hold is not None and (hold.minimum, hold.maximum) == (0.0, 11.0)


@pytest.mark.parametrize(
    ("body", "line", "said"),
    [
        ('speed = 5\nhr = "zone7"\n', 5, 'hr "zone7" is not a zone or a range'),
        ('speed = 5\nhr = "125-110"\n', 5, "low end first"),
        ('speed = 5\nhr = "zone2"\nadjust = "cadence"\n', 6, 'adjust "cadence" is not one of speed, incline'),
        ('speed = 5\nhr = "zone2"\nmin_incline = 2\n', 6, "min_incline bounds a segment held by incline"),
        (
            "speed = 5\nmin_speed = 4\n",
            5,
            'min_speed bounds a segment that holds heart rate; add hr = "zone2"',
        ),
        ('speed = 5\nhr = "zone2"\nmin_speed = 5.5\n', 6, "min_speed 5.5 km/h is above the start 5 km/h"),
        ('speed = 5\nhr = "zone2"\nmax_speed = 40\n', 6, "above what treadmills do"),
        ('speed = 5\nend_speed = 6\nhr = "zone2"\n', 5, "cannot also ramp its speed; remove end_speed"),
    ],
)
def test_problems_are_file_line(body: str, line: int, said: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile(HEAD + body, "hr.toml")
    problem = next(p for p in caught.value.problems if said in p.message)
    assert (problem.file, problem.line) == ("hr.toml", line)


def test_a_zone_is_resolved_from_the_config_before_the_belt_starts() -> None:
    plan = load_profile(LIBRARY / "zone-2-incline-walk.toml").to_plan()
    resolved = resolve_plan(plan, HeartRateConfig(max_bpm=180))
    hold = resolved.segments[1].hr
    assert hold is not None and (hold.low_bpm, hold.high_bpm) == pytest.approx((108, 126))
    assert hold.label == "zone 2 (108-126 bpm)"
    with pytest.raises(
        ConfigError, match=r'The segment "Zone 2 climb" \(segment 2\) holding hr = "zone2" needs max_bpm'
    ):
        resolve_plan(plan, HeartRateConfig())


def test_a_range_needs_no_config() -> None:
    plan = load_profile(LIBRARY / "recovery-under-120.toml").to_plan()
    assert resolve_plan(plan, HeartRateConfig()) == plan


def test_builtin_hr_workouts() -> None:
    z2 = load_profile(LIBRARY / "zone-2-incline-walk.toml").to_plan()
    climb = z2.segments[1]
    assert climb.hr is not None and climb.hr.adjust is HrAdjust.INCLINE and climb.hr.zone == 2
    assert climb.end_speed_kmh is None and climb.speed_kmh <= 5.5  # a steady, easy speed
    rec = load_profile(LIBRARY / "recovery-under-120.toml").to_plan()
    assert any(s.hr is not None and s.hr.adjust is HrAdjust.SPEED for s in rec.segments)


hr_segments = st.builds(
    lambda zone, by_incline, low, span, start, bound: Segment(
        speed=Speed(start),
        duration_s=600.0,
        incline_pct=2.0,
        hr=HrTarget(zone=zone) if zone else HrTarget(low_bpm=low, high_bpm=low + span),
        adjust=HrAdjust.INCLINE if by_incline else HrAdjust.SPEED,
        min_speed=None if by_incline or not bound else Speed(round(start - 1, 1)),
        max_speed=None if by_incline or not bound else Speed(round(start + 1, 1)),
        min_incline_pct=0.0 if by_incline and bound else None,
        max_incline_pct=10.0 if by_incline and bound else None,
    ),
    st.integers(0, 5),
    st.booleans(),
    st.integers(60, 180),
    st.integers(5, 30),
    st.integers(20, 70).map(lambda v: v / 10),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(hr_segments, min_size=1, max_size=4))
def test_dump_and_qz_round_trips_keep_hr_segments(segments: list[Segment]) -> None:
    profile = Profile(name="hr", items=tuple(segments))
    assert parse_profile(dump_profile(profile), "rt.toml").items == profile.items
    text, _ = write_qz_xml(profile)
    back = read_qz_xml(text, "rt.xml")
    for a, b in zip(profile.to_plan().segments, back.to_plan().segments, strict=True):
        assert a.hr == b.hr


def test_qz_heart_rate_rows_import() -> None:
    xml = """<rows>
  <row duration="00:20:00" zonehr="2" minspeed="4.0" maxspeed="6.5" forcespeed="1"/>
  <row duration="00:10:00" speed="5" hrmin="110" hrmax="125" inclination="1" forcespeed="1"/>
  <row duration="00:05:00" speed="4.5" hrmax="120" hrmin="0" forcespeed="1"/>
</rows>
"""
    plan = read_qz_xml(xml, "qz.xml").to_plan()
    zone, rng, top = plan.segments
    assert (zone.speed_kmh, zone.hr) == (4.0, HrHold(HrAdjust.SPEED, 4.0, 6.5, zone=2))
    assert rng.hr == HrHold(HrAdjust.SPEED, 3.5, 6.5, low_bpm=110.0, high_bpm=125.0)
    assert top.hr is not None and (top.hr.low_bpm, top.hr.high_bpm) == (105.0, 120.0)
    out, notes = write_qz_xml(read_qz_xml(xml, "qz.xml"))
    assert 'zonehr="2"' in out and 'minspeed="4"' in out and 'hrmin="110" hrmax="125"' in out
    assert not any("heart rate" in n for n in notes)


def test_qz_export_of_an_incline_hold_says_what_qz_does_with_it() -> None:
    _, notes = write_qz_xml(load_profile(LIBRARY / "zone-2-incline-walk.toml"))
    assert any('hradjust="incline"' in n for n in notes)


def test_profiles_show_shows_hr_segments(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[heart_rate]\nmax_bpm = 180\n")
    env = {**os.environ, "TREADWALK_CONFIG": str(config)}
    out = subprocess.run(
        [sys.executable, "-m", "treadwalk", "profiles", "show", "zone-2-incline-walk"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "♥ holds zone 2 (108-126 bpm) by incline, 0-10 %" in out.stdout
    env["TREADWALK_CONFIG"] = str(tmp_path / "none.toml")
    out = subprocess.run(
        [sys.executable, "-m", "treadwalk", "profiles", "show", "recovery-under-120"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert "♥ holds 100-120 bpm by speed, 3.0 km/h-6.0 km/h" in out.stdout


def test_zwo_export_says_it_drops_heart_rate() -> None:
    from treadwalk.profile import write_zwo

    _, notes = write_zwo(load_profile(LIBRARY / "recovery-under-120.toml"))
    assert any("no heart-rate targets" in n for n in notes)
