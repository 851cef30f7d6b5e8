"""Garmin FIT workouts in and out: files written by an independent encoder (fit-tool, see
tests/fixtures/fit_workouts/make_fixtures.py), every refusal, round trips through treadwalk's
own export, and that export read by two independent readers (fitdecode, garmin-fit-sdk)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import fitdecode
import pytest
from garmin_fit_sdk import Decoder, Stream
from hypothesis import HealthCheck, assume, given, settings
from test_profile import _depth, profiles

from treadwalk.core.errors import ProfileError
from treadwalk.core.model import SegmentKind
from treadwalk.profile import LIBRARY, Repeat, Segment, list_profiles, load_profile, parse_profile
from treadwalk.profile.fitworkout import read_fit_workout, write_fit_workout

FIXTURES = Path(__file__).parent / "fixtures" / "fit_workouts"


def refusal(name: str) -> str:
    with pytest.raises(ProfileError) as caught:
        load_profile(FIXTURES / name)
    return str(caught.value)


# ---------------------------------------------------------------------------------------------
# Import of files treadwalk did not write


def test_the_fixtures_are_what_the_script_writes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(FIXTURES / "make_fixtures.py"), str(tmp_path)], check=True, timeout=60
    )
    for made in tmp_path.glob("*.fit"):
        assert made.read_bytes() == (FIXTURES / made.name).read_bytes(), made.name


def test_a_coach_plan_imports_with_nested_repeats_names_cues_kinds_and_the_speed_range() -> None:
    profile = load_profile(FIXTURES / "hill-coach-plan.fit")
    assert profile.name == "Coach intervals"
    assert profile.intent == "walking"
    warm, outer, open_target, cool = profile.items
    assert isinstance(warm, Segment)
    assert warm.name == "Easy start"
    assert warm.kind is SegmentKind.WARMUP
    assert warm.duration_s == 300
    assert warm.speed.kmh == pytest.approx(1.30 * 3.6, abs=0.01)  # the middle of 1.25-1.35 m/s
    assert warm.speed_range is not None
    assert [s.kmh for s in warm.speed_range] == pytest.approx([1.25 * 3.6, 1.35 * 3.6], abs=0.01)
    assert [c.text for c in warm.cues] == ["Tall posture, relaxed arms"]
    assert warm.cues[0].at_s == 0
    assert isinstance(outer, Repeat)
    assert outer.times == 3
    inner, steady = outer.items
    assert isinstance(inner, Repeat)
    assert inner.times == 2
    fast, easy = inner.items
    assert isinstance(fast, Segment)
    assert isinstance(easy, Segment)
    assert (fast.name, fast.kind) == ("Fast", SegmentKind.WORK)  # intensity interval
    assert easy.kind is SegmentKind.RECOVERY
    assert isinstance(steady, Segment)
    assert steady.distance is not None
    assert steady.distance.metres == 400
    assert isinstance(open_target, Segment)
    assert open_target.speed == steady.speed  # an open target keeps the step before's speed
    assert isinstance(cool, Segment)
    assert (cool.name, cool.kind) == ("Cool", SegmentKind.COOLDOWN)
    assert profile.notes == ("step 7 had no target (open): each keeps the speed of the step before",)
    plan = profile.to_plan()
    assert len(plan.segments) == 1 + 3 * (2 * 2 + 1) + 2


@pytest.mark.parametrize(
    ("fixture", "says"),
    [
        ("speed-zone.fit", "step 2: the target is speed zone 3, and the zone table is on the watch"),
        ("power-target.fit", "step 1: the target is power, which a treadmill cannot set"),
        ("repeat-until-time.fit", "step 2: a repeat until a time has passed cannot be planned"),
        ("heart-rate.fit", "step 2: the target is heart-rate zone 2"),
        ("activity.fit", "this is a recorded activity, not a workout"),
    ],
)
def test_what_cannot_be_played_is_refused_naming_the_step(fixture: str, says: str) -> None:
    message = refusal(fixture)
    assert message.startswith(str(FIXTURES / fixture) + ": ")
    assert says in message


def test_heart_rate_targets_are_refused_until_heart_rate_segments_exist() -> None:
    message = refusal("heart-rate.fit")
    assert "step 3: the target is heart rate 120 bpm to 130 bpm" in message  # stored + 100


def test_bytes_that_are_not_fit_or_a_cut_file_are_one_sentence(tmp_path: Path) -> None:
    junk = tmp_path / "junk.fit"
    junk.write_bytes(b"this is not a FIT file at all, sorry")
    with pytest.raises(ProfileError, match="this is not a readable FIT file"):
        load_profile(junk)
    cut = tmp_path / "cut.fit"
    cut.write_bytes((FIXTURES / "hill-coach-plan.fit").read_bytes()[:-40])
    with pytest.raises(ProfileError, match="this is not a readable FIT file"):
        load_profile(cut)


def test_the_cli_refuses_with_exit_2_and_no_traceback() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "treadwalk", "profiles", "validate", str(FIXTURES / "activity.fit")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "this is a recorded activity, not a workout" in out.stderr
    assert "Traceback" not in out.stderr


def test_fitdecode_is_imported_only_when_a_fit_is_read() -> None:
    code = (
        "import sys, treadwalk.profile as p; p.load_profile(p.LIBRARY / 'demo.toml'); "
        "print('fitdecode' in sys.modules); "
        f"p.load_profile({str(FIXTURES / 'hill-coach-plan.fit')!r}); print('fitdecode' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# ---------------------------------------------------------------------------------------------
# Export, and round trips


def test_every_builtin_goes_to_fit_and_back_unchanged() -> None:
    for name, _, profile in list_profiles():
        data, _ = write_fit_workout(profile)
        assert read_fit_workout(data, f"{name}.fit") == profile, name


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles)
def test_any_profile_goes_to_fit_and_back_unchanged(profile: Any) -> None:
    assume(_depth(profile.items) <= 4)
    assume(profile.to_plan().duration_s <= 12 * 3600)
    data, _ = write_fit_workout(profile)
    assert read_fit_workout(data, "rt.fit") == profile


def test_convert_toml_to_fit_to_toml_keeps_every_row(tmp_path: Path) -> None:
    env = {**os.environ, "TREADWALK_PROFILES": str(tmp_path / "none")}

    def tw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "treadwalk", "profiles", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    src = LIBRARY / "hill-repeat-sets.toml"
    out = tw("convert", str(src), str(tmp_path / "w.fit"))
    assert out.returncode == 0, out.stderr
    assert "Garmin FIT workout" in out.stdout
    back = tw("convert", str(tmp_path / "w.fit"), str(tmp_path / "back.toml"))
    assert back.returncode == 0, back.stderr
    assert parse_profile((tmp_path / "back.toml").read_text(), "back.toml") == load_profile(src)


def _fitdecode_steps(data: bytes) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    file_id: dict[str, Any] = {}
    workout: dict[str, Any] = {}
    steps: list[dict[str, Any]] = []
    with fitdecode.FitReader(data, check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                values = {f.name: f.value for f in frame.fields}
                if frame.name == "file_id":
                    file_id = values
                elif frame.name == "workout":
                    workout = values
                elif frame.name == "workout_step":
                    steps.append(values)
    return file_id, workout, steps


def test_the_export_is_a_workout_both_independent_readers_accept() -> None:
    profile = load_profile(LIBRARY / "hill-repeat-sets.toml")
    data, _ = write_fit_workout(profile)

    file_id, workout, steps = _fitdecode_steps(data)
    assert file_id["type"] == "workout"
    assert workout["sport"] == "walking"
    assert workout["sub_sport"] == "treadmill"
    assert workout["wkt_name"] == "Hill repeat sets"
    assert workout["num_valid_steps"] == len(steps)
    kinds = [s["duration_type"] for s in steps]
    assert kinds.count("repeat_until_steps_cmplt") == 2  # 3 x [4 x (hill, down), easy]
    hill = next(s for s in steps if s.get("incline") == 1000)  # developer field: 10 %, scale 100
    assert hill["duration_time"] == 60
    low, high = hill["custom_target_speed_low"], hill["custom_target_speed_high"]
    first = next(seg for seg, _ in profile.segments() if seg.incline_pct == 10)
    assert low < first.speed.kmh / 3.6 < high
    assert high - low < 0.1  # a narrow range around the target
    assert "incline 10 %" in hill["notes"]
    inner = next(s for s in steps if s["duration_type"] == "repeat_until_steps_cmplt")
    assert inner["repeat_steps"] == 4

    assert Decoder(Stream.from_byte_array(bytearray(data))).is_fit()
    assert Decoder(Stream.from_byte_array(bytearray(data))).check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    assert errors == []
    assert messages["file_id_mesgs"][0]["type"] == "workout"
    assert messages["workout_mesgs"][0]["sport"] == "walking"
    sdk_steps = messages["workout_step_mesgs"]
    assert len(sdk_steps) == len(steps)
    assert [s["duration_type"] for s in sdk_steps] == kinds


def test_a_ramp_is_written_as_a_few_steps_and_read_back_as_one() -> None:
    profile = load_profile(LIBRARY / "demo.toml")
    data, _ = write_fit_workout(profile)
    _, _, steps = _fitdecode_steps(data)
    warm = [s for s in steps if str(s.get("wkt_step_name", "")).startswith("Warm-up ")]
    assert len(warm) == 4
    speeds = [s["custom_target_speed_low"] for s in warm]
    assert speeds == sorted(speeds)
    assert speeds[0] < speeds[-1]
    assert read_fit_workout(data, "demo.fit") == profile


def test_a_file_edited_elsewhere_is_read_by_its_standard_fields() -> None:
    profile = parse_profile(
        'name = "One"\n[[segment]]\nname = "Brisk"\nduration = "10m"\nspeed = 6\nincline = 3\n', "one.toml"
    )
    data = bytearray(write_fit_workout(profile)[0])
    # Garmin Connect changed the duration to 12 minutes: the step's duration_value (ms)
    old = (600_000).to_bytes(4, "little")
    at = data.index(old)
    data[at : at + 4] = (720_000).to_bytes(4, "little")
    from treadwalk.core.fit import crc16

    body = bytes(data[:-2])
    data[-2:] = crc16(body).to_bytes(2, "little")
    edited = read_fit_workout(bytes(data), "one.fit")
    (seg,) = edited.items
    assert isinstance(seg, Segment)
    assert seg.duration_s == 720
    assert seg.speed.kmh == pytest.approx(6.0, abs=0.01)
    assert seg.incline_pct == 3  # the developer field still carries the incline
    assert seg.name == "Brisk"


def _workout(steps: list[dict[str, Any]], *, sport: int = 11, file_type: int = 5) -> bytes:
    """A FIT workout made with treadwalk's own encoder, for refusals fit-tool has no shortcut
    for (the standard fields only: no developer fields)."""
    from treadwalk.core.fit import FitWriter
    from treadwalk.profile import fitworkout as fw

    w = FitWriter()
    w.write(fw.FILE_ID, {"type": file_type, "manufacturer": 255, "product": 0, "serial_number": 1})
    w.write(fw.WORKOUT, {"sport": sport, "num_valid_steps": len(steps), "wkt_name": "made"})
    for i, step in enumerate(steps):
        w.write(fw.WORKOUT_STEP, {"message_index": i, **step})
    return w.getvalue()


SPEED_STEP = {
    "duration_type": 0,
    "duration_value": 60_000,
    "target_type": 0,
    "target_value": 0,
    "custom_target_value_low": 1300,
    "custom_target_value_high": 1400,
}


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (
            _workout([{**SPEED_STEP, "target_type": 3}]),
            "step 1: the target is cadence, which a treadmill cannot set",
        ),
        (
            _workout([{**SPEED_STEP, "duration_type": 4}]),
            "step 1: a step that lasts until a number of calories",
        ),
        (
            _workout([SPEED_STEP, {"duration_type": 10, "duration_value": 0, "target_value": 140}]),
            "step 2: a repeat until the heart rate is below a value cannot be planned",
        ),
        (
            _workout([SPEED_STEP, {"duration_type": 6, "duration_value": 5, "target_value": 3}]),
            "step 2: the repeat goes back to step 6, which does not start a block before it",
        ),
        (_workout([{**SPEED_STEP, "target_type": 2}]), "step 1: the first step has no speed target (open)"),
        (_workout([SPEED_STEP], sport=2), "the workout is for cycling"),
        (_workout([SPEED_STEP], file_type=6), "this FIT file is a course, not a workout"),
        (_workout([]), "the FIT workout has no steps"),
    ],
)
def test_every_other_refusal_names_the_step_and_why(data: bytes, says: str) -> None:
    with pytest.raises(ProfileError) as caught:
        read_fit_workout(data, "made.fit")
    assert says in str(caught.value)
    assert str(caught.value).startswith("made.fit: ")


def test_a_fit_workout_in_your_profiles_folder_is_listed(tmp_path: Path) -> None:
    (tmp_path / "coach.fit").write_bytes((FIXTURES / "hill-coach-plan.fit").read_bytes())
    out = subprocess.run(
        [sys.executable, "-m", "treadwalk", "profiles", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "TREADWALK_PROFILES": str(tmp_path)},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("coach"))
    assert "yours" in row
