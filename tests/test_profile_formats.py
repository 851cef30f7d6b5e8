"""Zwift .zwo and QDomyos-Zwift XML: import, export, and round trips within each format's
resolution (whole seconds and metres; speed and incline to 0.01)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from treadwalk.core.errors import ProfileError, UsageError
from treadwalk.core.model import PlanSegment, SegmentKind
from treadwalk.profile import (
    Distance,
    Paces,
    Profile,
    ProfileCue,
    Repeat,
    Segment,
    Speed,
    builtin_profile,
    convert,
    list_profiles,
    load_profile,
    read_qz_xml,
    read_zwo,
    write_qz_xml,
    write_zwo,
)

ZWO = """<workout_file>
    <author>Coach</author>
    <name>Run-walk</name>
    <description>Easy intervals</description>
    <sportType>run</sportType>
    <tags><tag name="Intervals"/></tags>
    <workout>
        <Warmup Duration="300" PowerLow="0.40" PowerHigh="0.50" pace="1">
            <textevent timeoffset="10" message="Easy start"/>
        </Warmup>
        <SteadyState Duration="600" Power="0.55"/>
        <IntervalsT Repeat="4" OnDuration="60" OffDuration="120" OnPower="0.8" OffPower="0.5" pace="2">
            <textevent timeoffset="5" message="Quick feet"/>
            <textevent timeoffset="70" message="Walk it off"/>
        </IntervalsT>
        <Cooldown Duration="240" PowerLow="0.5" PowerHigh="0.35"/>
    </workout>
</workout_file>
"""


def test_zwo_targets_are_resolved_from_the_walkers_paces() -> None:
    paces = Paces.parse("5k=6:00/km,10k=6:30/km,half=7:00/km")
    profile = read_zwo(ZWO, "w.zwo", paces)
    plan = profile.to_plan()
    assert profile.name == "Run-walk"
    assert profile.intent == "running"
    assert profile.tags == ("intervals",)
    warm = plan.segments[0]
    # pace="1" is the 5 km pace: 6:00/km = 10 km/h
    assert (warm.kind, warm.duration_s, warm.speed_kmh, warm.end_speed_kmh) == ("warmup", 300, 4.0, 5.0)
    assert warm.cues[0].at_s == 10
    steady = plan.segments[1]
    assert steady.speed_kmh == round(0.55 * 3600 / 420, 2)  # no pace: the default zone (half)
    on, off = plan.segments[2:4]
    assert on.speed_kmh == round(0.8 * 3600 / 390, 2)
    assert (on.duration_s, off.duration_s, on.repeat, off.repeat) == (60, 120, "1/4", "1/4")
    assert [c.text for c in on.cues] == ["Quick feet"]
    assert [(c.at_s, c.text) for c in off.cues] == [(10, "Walk it off")]
    assert len(plan.segments) == 1 + 1 + 8 + 1
    assert plan.segments[-1].kind == "cooldown"


def test_zwo_threshold_pace_is_the_reference_without_a_pace_attribute() -> None:
    text = ZWO.replace(
        "<sportType>run</sportType>", "<sportType>run</sportType><thresholdSecPerKm>300</thresholdSecPerKm>"
    )
    plan = read_zwo(text, "w.zwo", Paces()).to_plan()
    assert plan.segments[1].speed_kmh == round(0.55 * 12.0, 2)


def test_paces_come_from_the_environment_and_bad_specs_are_usage_errors() -> None:
    paces = Paces.from_env({"TREADWALK_PACES": "5k=8:03/mi, default=5k"})
    assert paces.default_zone == 1
    assert math.isclose(paces.s_per_km[1], 483 / 1.609344)
    assert Paces.from_env({}) == Paces()
    for bad in ("5k", "10k=fast", "ultra=5:00", "default=ultra"):
        with pytest.raises(UsageError):
            Paces.parse(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ZWO.replace("run</sportType>", "bike</sportType>"), 'sportType is "bike"'),
        (  # a FreeRide plays as an open segment at the speed before it; first, it has none
            ZWO.replace('<Warmup Duration="300"', '<FreeRide Duration="600"/><Warmup Duration="300"'),
            "has no target speed and no step before it",
        ),
        (ZWO.replace('Power="0.55"', 'Power="3.5"'), "above what treadmills do"),
        (ZWO.replace('Power="0.55"', 'Power="lots"'), "is not a number"),
        ("<workout_file><sportType>run", "not a readable .zwo"),
    ],
)
def test_zwo_problems_are_profile_errors_with_lines(text: str, expected: str) -> None:
    with pytest.raises(ProfileError) as info:
        read_zwo(text, "w.zwo", Paces())
    assert expected in str(info.value)
    assert str(info.value).startswith("w.zwo")


def test_zwo_step_problems_point_at_the_step_line() -> None:
    text = ZWO.replace('Power="0.55"', 'Power="3.5"')
    with pytest.raises(ProfileError) as info:
        read_zwo(text, "w.zwo", Paces())
    assert info.value.problems[0].line == 11


QZ = """<?xml version="1.0" encoding="UTF-8"?>
<rows>
    <row duration="00:05:00" speedfrom="4.0" speedto="5.5" inclination="1" forcespeed="1"/>
    <repeat times="3">
        <row duration="00:02:00" speed="5.5" inclination="8" forcespeed="1">
            <textevent timeoffset="30" message="Drive the arms"/>
        </row>
        <row duration="00:00:00" distance="0.25" speed="5.0" inclination="-200" forcespeed="1"/>
    </repeat>
    <row duration="00:03:00" speed="4.5" inclination="0" fanspeed="20" forcespeed="1"/>
</rows>
"""


def test_qz_rows_repeats_ramps_and_text_events() -> None:
    profile = read_qz_xml(QZ, "/x/hills.xml")
    plan = profile.to_plan()
    assert profile.name == "hills"
    assert len(plan.segments) == 1 + 6 + 1
    warm, climb, flat = plan.segments[:3]
    assert (warm.speed_kmh, warm.end_speed_kmh, warm.duration_s, warm.incline_pct) == (4.0, 5.5, 300, 1)
    assert (climb.duration_s, climb.incline_pct, climb.repeat) == (120, 8, "1/3")
    assert [(c.at_s, c.text) for c in climb.cues] == [(30, "Drive the arms")]
    assert (flat.distance_m, flat.duration_s, flat.incline_pct) == (250, None, 0)  # -200: no incline


@pytest.mark.parametrize(
    ("replace", "expected", "line"),
    [
        (('speed="4.5"', 'zonehr="7"'), "not a zone from 1 to 5", 10),
        (
            ('speed="4.5"', 'zonehr="2" minspeed="6" maxspeed="5"'),
            "max_speed 5 km/h is below the start 6 km/h",
            10,
        ),
        (('duration="00:03:00"', 'duration="3 min"'), "is not hh:mm:ss", 10),
        (('inclination="8"', 'inclination="50"'), "outside what treadmills do", 5),
        (('times="3"', 'times="three"'), "not a whole number", 4),
    ],
)
def test_qz_problems_have_lines(replace: tuple[str, str], expected: str, line: int) -> None:
    with pytest.raises(ProfileError) as info:
        read_qz_xml(QZ.replace(*replace), "q.xml")
    problem = next(p for p in info.value.problems if expected in p.message)
    assert problem.line == line


def test_qz_export_steps_ramps_it_cannot_play_and_says_so() -> None:
    seg = Segment(
        speed=Speed(5.0),
        duration_s=300.0,
        incline_pct=2.0,
        end_incline_pct=8.0,
        cues=(ProfileCue("late", at_s=200.0),),
    )
    text, notes = write_qz_xml(Profile("r", (seg,)))
    assert any("incline ramp" in n for n in notes)
    back = read_qz_xml(text, "r.xml").to_plan()
    assert len(back.segments) == 10
    assert math.isclose(back.duration_s, 300, abs_tol=5)
    assert back.segments[0].incline_pct == 2.3
    assert back.segments[-1].incline_pct == 7.7
    cued = [s for s in back.segments if s.cues]
    assert len(cued) == 1
    assert cued[0].cues[0].text == "late"


def test_zwo_export_notes_what_it_cannot_keep() -> None:
    mixed = Profile(
        "m",
        (
            Segment(speed=Speed(5.0), duration_s=60.0, name="named"),
            Segment(speed=Speed(5.0), distance=Distance(400.0)),
            Repeat(2, (Segment(speed=Speed(5.0), duration_s=60.0),)),
        ),
    )
    text, notes = write_zwo(mixed, Paces())
    assert len(notes) == 2  # mixed time and distance, a repeat written out; the name is kept
    plan = read_zwo(text, "m.zwo", Paces()).to_plan()
    assert [s.duration_s for s in plan.segments] == [60, 288, 60, 60]
    assert plan.segments[0].name == "named"  # an attribute Zwift ignores, read back


def test_zwo_interval_names_survive_a_round_trip() -> None:
    intervals = Profile(
        "i",
        (
            Repeat(
                3,
                (
                    Segment(speed=Speed(6.0), duration_s=60.0, name="Fast"),
                    Segment(speed=Speed(4.5), duration_s=90.0, kind=SegmentKind.RECOVERY, name="Easy"),
                ),
            ),
        ),
    )
    text, _ = write_zwo(intervals, Paces())
    assert 'OnName="Fast"' in text
    plan = read_zwo(text, "i.zwo", Paces()).to_plan()
    assert [s.name for s in plan.segments[:2]] == ["Fast", "Easy"]


# ---------------------------------------------------------------------------------------------
# Round trips within the format's resolution


def _same(a: PlanSegment, b: PlanSegment) -> None:
    if a.duration_s is not None:
        assert b.duration_s is not None
        assert abs(a.duration_s - b.duration_s) <= 0.5
    else:
        assert a.distance_m is not None
        assert b.distance_m is not None
        assert abs(a.distance_m - b.distance_m) <= 0.5
    assert abs(a.speed_kmh - b.speed_kmh) <= 0.01
    assert abs(a.incline_pct - b.incline_pct) <= 0.01
    # where a ramp ends (a steady segment "ends" where it starts)
    assert abs(a.speed_at(1.0) - b.speed_at(1.0)) <= 0.01
    assert abs(a.incline_at(1.0) - b.incline_at(1.0)) <= 0.01


_speed = st.integers(50, 1600).map(lambda v: Speed(v / 100))
_incline = st.integers(-500, 4000).map(lambda v: v / 100)
_cue_text = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)


@st.composite
def _segment(draw: st.DrawFn, by_distance: bool, incline_ramps: bool) -> Segment:
    ramp = draw(st.booleans())
    if by_distance:
        metres = draw(st.integers(10, 3000))
        offsets = sorted(set(draw(st.lists(st.integers(0, metres - 1), max_size=2))))
        return Segment(
            speed=draw(_speed),
            distance=Distance(float(metres)),
            incline_pct=draw(_incline),
            end_speed=draw(_speed) if ramp and incline_ramps else None,
            cues=tuple(ProfileCue(draw(_cue_text), at_distance=Distance(float(o))) for o in offsets),
        )
    seconds = draw(st.integers(2, 1800))
    offsets = sorted(set(draw(st.lists(st.integers(0, seconds - 1), max_size=2))))
    return Segment(
        speed=draw(_speed),
        duration_s=float(seconds),
        incline_pct=draw(_incline),
        end_speed=draw(_speed) if ramp else None,
        end_incline_pct=draw(_incline) if ramp and incline_ramps and draw(st.booleans()) else None,
        kind=draw(st.sampled_from(("warmup", "work", "recovery", "cooldown"))),
        cues=tuple(ProfileCue(draw(_cue_text), at_s=float(o)) for o in offsets),
    )


@st.composite
def _zwo_profiles(draw: st.DrawFn) -> Profile:
    by_distance = draw(st.booleans())
    seg = _segment(by_distance, incline_ramps=True)
    steady = _segment(by_distance, incline_ramps=False).map(
        lambda s: Segment(
            speed=s.speed,
            duration_s=s.duration_s,
            distance=s.distance,
            incline_pct=s.incline_pct,
            cues=s.cues,
        )
    )
    item = st.one_of(
        seg,
        st.builds(Repeat, times=st.integers(1, 5), items=st.tuples(steady, steady)),
        st.builds(Repeat, times=st.integers(1, 3), items=st.lists(seg, min_size=1, max_size=3).map(tuple)),
    )
    return Profile(name=draw(_cue_text), items=tuple(draw(st.lists(item, min_size=1, max_size=4))))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_zwo_profiles(), st.sampled_from([Paces(), Paces.parse("5k=7:30/km,default=5k")]))
def test_zwo_export_then_import_keeps_every_segment_within_resolution(profile: Profile, paces: Paces) -> None:
    assume(profile.to_plan().duration_s <= 11 * 3600)
    text, _ = write_zwo(profile, paces)
    back = read_zwo(text, "rt.zwo", paces).to_plan()
    before = profile.to_plan()
    assert len(back.segments) == len(before.segments)
    for a, b in zip(before.segments, back.segments, strict=True):
        _same(a, b)
        assert [c.text for c in a.cues] == [c.text for c in b.cues]
        assert [c.at_s for c in a.cues] == [c.at_s for c in b.cues]
        assert [c.at_m for c in a.cues] == [c.at_m for c in b.cues]


@st.composite
def _qz_profiles(draw: st.DrawFn) -> Profile:
    # QZ keeps speed ramps on time rows only; other ramps are stepped (tested above)
    time_seg = _segment(False, incline_ramps=False)
    distance_seg = _segment(True, incline_ramps=False)
    leaf = st.one_of(time_seg, distance_seg)
    items = st.recursive(
        leaf,
        lambda inner: st.builds(
            Repeat, times=st.integers(1, 4), items=st.lists(inner, min_size=1, max_size=3).map(tuple)
        ),
        max_leaves=6,
    )
    return Profile(name="q", items=tuple(draw(st.lists(items, min_size=1, max_size=3))))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_qz_profiles())
def test_qz_export_then_import_keeps_every_segment_within_resolution(profile: Profile) -> None:
    assume(profile.to_plan().duration_s <= 11 * 3600)
    text, _ = write_qz_xml(profile)
    back = read_qz_xml(text, "q.xml")
    before = profile.to_plan()
    after = back.to_plan()
    assert len(after.segments) == len(before.segments)
    for a, b in zip(before.segments, after.segments, strict=True):
        _same(a, b)
        assert a.repeat == b.repeat
        assert [c.text for c in a.cues] == [c.text for c in b.cues]
        if a.duration_s is not None:
            assert [c.at_s for c in a.cues] == [c.at_s for c in b.cues]


def test_every_builtin_converts_to_both_formats_and_back(tmp_path: Path) -> None:
    for name, path, profile in list_profiles():
        for ext in (".zwo", ".xml"):
            out = tmp_path / f"{name}{ext}"
            convert(path, out)
            back = load_profile(out).to_plan()
            assert math.isclose(back.duration_s, profile.to_plan().duration_s, rel_tol=0.01), (name, ext)


def test_convert_refuses_to_overwrite_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    out = tmp_path / "demo.zwo"
    out.write_text("keep me")
    with pytest.raises(UsageError, match="--force"):
        convert(builtin_profile("demo").source or "", out)
    assert out.read_text() == "keep me"
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\n[[segment]]\nspeed = 99\n')
    with pytest.raises(ProfileError):
        convert(bad, tmp_path / "bad.xml")
    assert sorted(os.listdir(tmp_path)) == ["bad.toml", "demo.zwo"]
    convert(builtin_profile("demo").source or "", out, overwrite=True)
    assert out.read_text().startswith("<workout_file>")
    assert sorted(os.listdir(tmp_path)) == ["bad.toml", "demo.zwo"]


def test_a_failed_write_removes_its_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        convert(builtin_profile("demo").source or "", tmp_path / "d.xml")
    assert os.listdir(tmp_path) == []
