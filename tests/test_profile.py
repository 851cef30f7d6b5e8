"""Profiles: the TOML format, validation with FILE:LINE problems, the plan, the library."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from treadwalk.core.errors import ProfileError, UsageError
from treadwalk.core.model import Plan
from treadwalk.profile import (
    LIBRARY,
    Distance,
    Profile,
    ProfileCue,
    Repeat,
    Segment,
    Speed,
    builtin_profile,
    dump_profile,
    find_profile,
    list_profiles,
    load_profile,
    parse_profile,
)
from treadwalk.profile.quantities import parse_distance, parse_duration, parse_incline, parse_speed
from treadwalk.profile.source import LineIndex
from treadwalk.profile.summary import chart, energy_kcal

# ---------------------------------------------------------------------------------------------
# Quantities


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("1:30", 90),
        ("2m", 120),
        ("2 min", 120),
        ("1h", 3600),
        ("1h15m", 4500),
        ("1h 2m 5s", 3725),
        ("1:02:05", 3725),
        ("0:20", 20),
        ("12.5s", 12.5),
        ("90:00", 5400),
    ],
)
def test_durations_read_every_documented_spelling(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [90, "90", "1:3", "1:75:00", "2 parsecs", "", "m"])
def test_bad_durations_say_how_to_write_one(text: object) -> None:
    with pytest.raises(ValueError, match='"90s", "1:30"'):
        parse_duration(text)


def test_speeds_paces_distances_inclines() -> None:
    assert parse_speed(5).kmh == 5.0
    assert parse_speed("5.5 km/h") == Speed(5.5, "km/h")
    assert math.isclose(parse_speed("3 mph").kmh, 4.828032)
    assert parse_speed("12:00/km").kmh == 5.0
    assert math.isclose(parse_speed("19:00/mi").kmh, 3600 * 1.609344 / 1140)
    assert str(parse_speed("9:30/km")) == "9:30/km"
    assert parse_distance("400m").metres == 400
    assert parse_distance("1.5km").metres == 1500
    assert math.isclose(parse_distance("0.25mi").metres, 402.336)
    assert parse_incline("4%") == 4.0
    assert parse_incline(-2) == -2.0
    for bad, call in (("fast", parse_speed), ("400", parse_distance), ("steep", parse_incline)):
        with pytest.raises(ValueError, match="write"):
            call(bad)


# ---------------------------------------------------------------------------------------------
# Loading and the plan

GOOD = """\
name = "Test"
description = "A test profile."
tags = ["hills"]

[[segment]]
kind = "warmup"
duration = "2m"
speed = 4.0
end_speed = "5 km/h"
cues = [{ at = "30s", text = "Stand tall" }]

[[segment]]
name = "Set"
repeat = 2

[[segment.segment]]
duration = "1:00"
speed = "10:00/km"
incline = 8
cues = [
    { at = "0s", text = "Drive the arms" },
    { at = "40s", text = "Short steps" },
]

[[segment.segment]]
kind = "recovery"
distance = "200m"
speed = "3 mph"
cues = [{ at_distance = "100m", text = "Breathe" }]
"""


def test_a_profile_becomes_a_plan_with_repeats_expanded_and_units_resolved() -> None:
    profile = parse_profile(GOOD, "good.toml")
    plan = profile.to_plan()
    assert isinstance(plan, Plan)
    assert [s.kind for s in plan.segments] == ["warmup", "work", "recovery", "work", "recovery"]
    warm, work, rec = plan.segments[:3]
    assert (warm.speed_kmh, warm.end_speed_kmh, warm.duration_s) == (4.0, 5.0, 120.0)
    assert warm.cues[0].at_s == 30.0
    assert (work.speed_kmh, work.incline_pct, work.duration_s) == (6.0, 8.0, 60.0)
    assert math.isclose(rec.speed_kmh, 4.828032)
    assert rec.distance_m == 200.0
    assert rec.duration_s is None
    assert rec.cues[0].at_m == 100.0
    assert rec.cues[0].at_s is None
    assert plan.tags == ("hills",)
    assert plan.intent == "walking"


def test_repeat_labels_count_the_repeat() -> None:
    profile = parse_profile(GOOD, "good.toml")
    assert [s.repeat for s in profile.to_plan().segments] == [None, "1/2", "1/2", "2/2", "2/2"]


def test_nested_repeats_expand_fully() -> None:
    profile = load_profile(LIBRARY / "hill-repeat-sets.toml")
    plan = profile.to_plan()
    # warm-up + 3 x (4 x (hill, down) + easy) + cool-down
    assert len(plan.segments) == 1 + 3 * (4 * 2 + 1) + 1
    assert plan.duration_s == 43 * 60
    # every level is labelled, outermost first: the 1st of 4 hills in the 2nd of 3 sets
    labels = [s.repeat for s in plan.segments]
    assert labels[1 + 9 + 0] == "2/3 · 1/4"
    assert labels[1 + 9 + 7] == "2/3 · 4/4"
    assert labels[1 + 9 + 8] == "2/3"  # the easy walk after the hills: only the set


# ---------------------------------------------------------------------------------------------
# Validation: every problem, FILE:LINE, what is allowed


def _problems(text: str) -> list[str]:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.toml")
    assert all(p.file == "p.toml" for p in info.value.problems)
    return [str(p) for p in info.value.problems]


HEAD = 'name = "x"\n\n[[segment]]\n'


@pytest.mark.parametrize(
    ("body", "line", "expected"),
    [
        ('duration = "5m"\nspeed = 40\n', 5, "speed 40 km/h is above what treadmills do (max 25 km/h)"),
        ('duration = "5m"\nspeed = 0.2\n', 5, "below what treadmills do (min 0.5 km/h)"),
        ('duration = "5m"\nspeed = "2:00/km"\n', 5, "above what treadmills do (max 25 km/h)"),
        ('duration = "5m"\nspeed = 5\nincline = 45\n', 6, "outside what treadmills do (-5 to 40 %)"),
        ('duration = "5m"\nspeed = 5\nsped = 4\n', 6, 'unknown key "sped" (did you mean "speed"?)'),
        ('duration = "5 parsecs"\nspeed = 5\n', 4, "is not a duration"),
        ("distance = 400\nspeed = 5\n", 4, "has no unit"),
        ('duration = "5m"\nspeed = "fast"\n', 5, "is not a speed or a pace"),
        ("speed = 5\n", 3, "missing duration or distance"),
        ('duration = "5m"\ndistance = "1km"\nspeed = 5\n', 3, "not both"),
        ('duration = "5m"\n', 3, "missing speed"),
        (
            'duration = "5m"\nspeed = 5\nkind = "sprint"\n',
            6,
            "is not one of warmup, work, recovery, cooldown",
        ),
        (
            'duration = "1m"\nspeed = 5\ncues = [\n  { at = "30s", text = "ok" },\n  { at = "2m", text = "late" },\n]\n',
            8,
            "offset 2m is beyond its segment, which lasts 1m",
        ),
        ('distance = "400m"\nspeed = 5\ncues = [{ at = "10s", text = "x" }]\n', 6, "at_distance"),
        ('duration = "1m"\nspeed = 5\ncues = [{ at = "10s", text = "" }]\n', 6, "is empty"),
        (
            'duration = "1m"\nspeed = 5\ncues = [{ at = "10s", text = "' + "x" * 81 + '" }]\n',
            6,
            "keep it to 80",
        ),
        ('repeat = 0\n[[segment.segment]]\nduration = "1m"\nspeed = 5\n', 4, "from 1 to 100"),
        ("repeat = 3\n", 3, "the repeat is empty"),
        ('[[segment.segment]]\nduration = "1m"\nspeed = 5\n', 3, "needs repeat = N"),
    ],
)
def test_each_problem_names_file_line_and_what_is_allowed(body: str, line: int, expected: str) -> None:
    problems = _problems(HEAD + body)
    matching = [p for p in problems if expected in p]
    assert matching, problems
    assert matching[0].startswith(f"p.toml:{line}: "), matching[0]


def test_every_problem_is_reported_at_once_and_nothing_is_half_loaded() -> None:
    text = (
        'name = "x"\nintent = "cycling"\ncolour = "red"\n\n'
        '[[segment]]\nduration = "5m"\nspeed = 40\n\n'
        "[[segment]]\nspeed = 5\n\n"
        '[[segment]]\nrepeat = 2\n[[segment.segment]]\nduration = "1m"\nspeed = 5\nincline = 99\n'
    )
    problems = _problems(text)
    assert len(problems) == 5, problems
    lines = [int(p.split(":")[1]) for p in problems]
    assert sorted(lines) == [2, 3, 7, 9, 17]


def test_top_level_problems() -> None:
    assert any("missing name" in p for p in _problems('[[segment]]\nduration = "1m"\nspeed = 5\n'))
    assert any("no segments" in p for p in _problems('name = "x"\n'))
    assert any(
        'units "furlongs"' in p
        for p in _problems('name = "x"\nunits = "furlongs"\n' + HEAD[10:] + 'duration = "1m"\nspeed = 5\n')
    )


def test_a_toml_syntax_error_has_its_line() -> None:
    problems = _problems('name = "x"\n\n[[segment]]\nduration = "5m\nspeed = 5\n')
    assert problems[0].startswith("p.toml:4: this is not valid TOML")


def test_repeats_nest_at_most_four_deep() -> None:
    text = 'name = "x"\n'
    header = "segment"
    for _ in range(5):
        text += f"\n[[{header}]]\nrepeat = 2\n"
        header += ".segment"
    text += f'\n[[{header}]]\nduration = "1m"\nspeed = 5\n'
    assert any("nested more than 4 deep" in p for p in _problems(text))


def test_a_profile_longer_than_twelve_hours_is_refused() -> None:
    text = 'name = "x"\n[[segment]]\nrepeat = 3\n[[segment.segment]]\nduration = "5h"\nspeed = 5\n'
    assert any("keep it under 12 h" in p for p in _problems(text))


def test_line_index_follows_nested_tables_and_inline_cue_arrays() -> None:
    index = LineIndex(GOOD)
    assert index.line_of(("segment", 0)) == 5
    assert index.line_of(("segment", 0, "cues", 0)) == 10
    assert index.line_of(("segment", 1, "repeat")) == 14
    assert index.line_of(("segment", 1, "segment", 0, "incline")) == 19
    assert index.line_of(("segment", 1, "segment", 0, "cues", 1)) == 22
    assert index.line_of(("segment", 1, "segment", 1, "cues", 0, "text")) == 29
    assert index.line_of(("nowhere",)) is None


# ---------------------------------------------------------------------------------------------
# Round trip: dump then load is the identity (hypothesis)

_text = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)
_speed = st.one_of(
    st.integers(50, 2500).map(lambda v: Speed(v / 100, "km/h")),
    st.integers(40, 1500).map(lambda v: Speed(v / 100, "mph")),
    st.integers(150, 7000).map(lambda v: Speed(float(v), "/km")),
    st.integers(240, 11000).map(lambda v: Speed(float(v), "/mi")),
)
_incline = st.integers(-50, 400).map(lambda v: v / 10)
_distance = st.one_of(
    st.integers(1, 3000).map(lambda v: Distance(float(v), "m")),
    st.integers(1, 300).map(lambda v: Distance(v / 100, "km")),
    st.integers(1, 200).map(lambda v: Distance(v / 100, "mi")),
)


@st.composite
def _segments(draw: st.DrawFn) -> Segment:
    by_distance = draw(st.booleans())
    ramp = draw(st.booleans())
    if by_distance:
        distance = draw(_distance)
        n = draw(st.integers(0, 2))
        offsets = sorted(
            draw(st.lists(st.integers(0, max(int(distance.metres) - 1, 0)), min_size=n, max_size=n))
        )
        cues = tuple(ProfileCue(draw(_text), at_distance=Distance(float(o), "m")) for o in offsets)
        duration = None
    else:
        duration = float(draw(st.integers(1, 1800)))
        n = draw(st.integers(0, 2))
        offsets = sorted(draw(st.lists(st.integers(0, int(duration) - 1), min_size=n, max_size=n)))
        cues = tuple(ProfileCue(draw(_text), at_s=float(o)) for o in offsets)
        distance = None
    return Segment(
        speed=draw(_speed),
        duration_s=duration,
        distance=distance,
        incline_pct=draw(_incline),
        end_speed=draw(_speed) if ramp else None,
        end_incline_pct=draw(_incline) if ramp and draw(st.booleans()) else None,
        kind=draw(st.sampled_from(("warmup", "work", "recovery", "cooldown"))),
        name=draw(st.none() | _text),
        cues=cues,
    )


_items = st.recursive(
    _segments(),
    lambda inner: st.builds(
        Repeat,
        times=st.integers(1, 4),
        items=st.lists(inner, min_size=1, max_size=3).map(tuple),
        name=st.none() | _text,
    ),
    max_leaves=6,
)


def _depth(items: tuple[Segment | Repeat, ...]) -> int:
    return max((1 + _depth(i.items) if isinstance(i, Repeat) else 0 for i in items), default=0)


profiles = st.builds(
    Profile,
    name=_text,
    items=st.lists(_items, min_size=1, max_size=4).map(tuple),
    description=st.text(max_size=200),
    intent=st.sampled_from(("walking", "running")),
    tags=st.lists(_text, max_size=3).map(tuple),
    units=st.sampled_from((None, "metric", "imperial", "pace")),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles)
def test_dump_then_load_is_the_identity(profile: Profile) -> None:
    assume(_depth(profile.items) <= 4)
    assume(profile.to_plan().duration_s <= 12 * 3600)
    text = dump_profile(profile)
    assert parse_profile(text, "rt.toml") == profile


def test_dump_of_every_builtin_loads_back_equal() -> None:
    for _, path, profile in list_profiles():
        assert parse_profile(dump_profile(profile), str(path)) == profile


# ---------------------------------------------------------------------------------------------
# The library and finding profiles


def test_library_has_at_least_twelve_real_workouts_that_validate() -> None:
    found = {name: profile for name, _, profile in list_profiles() if (LIBRARY / f"{name}.toml").is_file()}
    workouts = {n: p for n, p in found.items() if n != "demo"}
    assert len(workouts) >= 12
    assert len(found) == len(list(LIBRARY.glob("*.toml")))  # every file loads
    for name, profile in found.items():
        plan = profile.to_plan()
        assert len(profile.description) >= 60, name
        assert profile.tags, name
        assert any(seg.cues for seg in plan.segments), f"{name} has no cues"
        assert all(2.5 <= s.speed_kmh <= 10.0 for s in plan.segments), name
        assert all(0.0 <= s.incline_pct <= 15.0 for s in plan.segments), name
        assert 8 * 60 <= plan.duration_s <= 60 * 60, name
        # walking speeds, except walk/run intervals and strides
        walking = [s for s in plan.segments if s.speed_kmh <= 7.0]
        assert len(walking) >= len(plan.segments) / 2, name


def test_demo_profile_shows_everything_in_six_to_ten_minutes() -> None:
    plan = builtin_profile("demo").to_plan()
    assert 6 * 60 <= plan.duration_s <= 10 * 60
    assert plan.segments[0].kind == "warmup"
    assert plan.segments[-1].kind == "cooldown"
    assert len({s.speed_kmh for s in plan.segments}) >= 3
    assert len({s.incline_pct for s in plan.segments}) >= 2
    assert any(s.end_speed_kmh is not None for s in plan.segments[1:-1])
    assert sum(len(s.cues) for s in plan.segments) >= 5


def test_find_profile_builtin_then_user_folder_then_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREADWALK_PROFILES", str(tmp_path))
    (tmp_path / "mine.toml").write_text(GOOD)
    (tmp_path / "demo.toml").write_text(GOOD)  # a built-in wins over a user file of the same stem
    assert find_profile("demo") == LIBRARY / "demo.toml"
    assert find_profile("mine") == tmp_path / "mine.toml"
    other = tmp_path / "elsewhere.toml"
    other.write_text(GOOD)
    assert find_profile(str(other)) == other
    with pytest.raises(UsageError, match="treadwalk profiles list"):
        find_profile("no-such-workout")
    names = [n for n, _, _ in list_profiles()]
    assert "mine" in names
    assert names.count("demo") == 1


def test_user_folder_defaults_follow_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from treadwalk.profile import user_profile_dir

    monkeypatch.delenv("TREADWALK_PROFILES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_profile_dir() == tmp_path / "treadwalk" / "profiles"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert user_profile_dir() == Path.home() / ".config" / "treadwalk" / "profiles"


def test_a_broken_user_profile_is_left_out_of_the_list_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREADWALK_PROFILES", str(tmp_path))
    (tmp_path / "broken.toml").write_text('name = "b"\n[[segment]]\nspeed = 99\n')
    errors: list[ProfileError] = []
    names = [n for n, _, _ in list_profiles(errors)]
    assert "broken" not in names
    assert len(errors) == 1
    assert "broken.toml:3" in str(errors[0])


def test_missing_file_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="no such file"):
        load_profile("/nonexistent/x.toml")
    with pytest.raises(UsageError, match="extension"):
        load_profile("/nonexistent/x.gpx")


# ---------------------------------------------------------------------------------------------
# Summary: energy and chart


def test_energy_estimate_follows_acsm_and_grows_with_incline() -> None:
    flat = parse_profile('name = "f"\n[[segment]]\nduration = "60m"\nspeed = 6\n', "f").to_plan()
    hill = parse_profile(
        'name = "h"\n[[segment]]\nduration = "60m"\nspeed = 6\nincline = 10\n', "h"
    ).to_plan()
    # 6 km/h = 100 m/min: VO2 = 3.5 + 10 = 13.5 ml/kg/min -> 13.5 * 70 / 1000 * 5 * 60 = 283.5 kcal
    assert math.isclose(energy_kcal(flat, 70), 283.5)
    # + 1.8 * 100 * 0.10 = 18 more -> 31.5 ml/kg/min
    assert math.isclose(energy_kcal(hill, 70), 661.5)


def test_chart_is_plain_text_with_speed_and_incline_rows() -> None:
    lines = chart(builtin_profile("demo").to_plan(), width=40)
    assert len(lines) == 13
    assert "6.3 km/h" in lines[0]
    assert "6 %" in lines[7]
    assert lines[-1].strip().startswith("0:00")
    assert lines[-1].strip().endswith("8:00")
    bars = [line.split("│", 1)[1] for line in lines if "│" in line]
    assert all(len(b) in (0, 40) for b in bars)
    assert set("".join(bars)) <= set(" ▁▂▃▄▅▆▇█")


def test_the_readme_example_profile_is_valid() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Profile format", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    plan = parse_profile(example, "README.md").to_plan()
    assert len(plan.segments) == 9
