"""``treadwalk decode`` as a user runs it: a real ``python -m treadwalk`` process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CITYSPORTS = "8424960000000000000000000100010000"


def treadwalk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_text_is_one_readable_line_per_frame_in_order() -> None:
    r = treadwalk("decode", "--char", "2acd", CITYSPORTS, "1f0084012a00000000000001000000")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines == [
        "speed 1.5 km/h, distance 0 m, energy total 0 kcal, energy per hour 0 kcal, energy per min 0 kcal, "
        "elapsed 1 s, steps 1",
        "more data follows (no speed in this frame), avg speed 3.88 km/h, distance 42 m, incline 0.0 %, "
        "ramp angle 0.0 °, elevation gain 0.1 m, elevation loss 0.0 m",
    ]
    assert r.stderr == ""


def test_json_is_one_object_per_line_with_canonical_names() -> None:
    r = treadwalk(
        "decode", "--json", "--char", "0x2ACD", CITYSPORTS, "9e1fc60394023e01005a00ff7f3200ffff2500f4"
    )
    assert r.returncode == 0, r.stderr
    first, second = (json.loads(line) for line in r.stdout.splitlines())
    assert first == {
        "more_data": False,
        "speed_kmh": 1.5,
        "distance_m": 0,
        "energy_total_kcal": 0,
        "energy_per_hour_kcal": 0,
        "energy_per_min_kcal": 0,
        "elapsed_s": 1,
        "steps": 1,
        "truncated": False,
    }
    assert second["truncated"] is True
    assert second["speed_kmh"] == 9.66


@pytest.mark.parametrize(
    ("char", "frame", "expected"),
    [
        ("2acc", "4412000001000000", {"features": ["total_distance", "step_count", "expended_energy", "elapsed_time"], "targets": ["speed_target"]}),
        ("2ad3", "010e", {"status": 14, "status_name": "pre_workout", "string": ""}),
        ("2ad4", "640058023200", {"min_kmh": 1.0, "max_kmh": 6.0, "step_kmh": 0.5}),
        ("2ad5", "9cff96000500", {"min_pct": -10.0, "max_pct": 15.0, "step_pct": 0.5}),
        ("2ad9", "80:02:03", {"request_op": 2, "request_name": "set_target_speed", "result": 3, "result_name": "invalid_parameter"}),
        ("2ad9", "02 9a 01", {"op": 2, "name": "set_target_speed", "target_speed_kmh": 4.1}),
        ("2ada", "0201", {"op": 2, "event": "stopped_or_paused_by_user", "control": 1}),
        ("adv", "010100", {"available": True, "machine_types": ["treadmill"], "type_bits": 1}),
    ],
)  # fmt: skip
def test_every_characteristic_decodes_to_json(char: str, frame: str, expected: dict[str, object]) -> None:
    r = treadwalk("decode", "--char", char, "--json", frame)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--char", "2acd", "84zz"], "'84zz' is not hex bytes: give each frame as hex digits"),
        (["--char", "2a5b", "0040"], "--char 2a5b is not a characteristic decode knows: use one of 2acc"),
        (["--char", "2acd", "84"], "cannot decode 2acd frame 84: 1 byte(s) is shorter than the 2-byte flags"),
        (["--char", "2ada", "0596"], "cannot decode 2ada frame 0596: target_speed_changed needs 3 bytes"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(args: list[str], message: str) -> None:
    r = treadwalk("decode", *args)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr  # no traceback
    assert lines[0].startswith("treadwalk: ")
    assert message in lines[0]
    assert lines[0].endswith(".")


def test_a_missing_char_is_a_usage_error() -> None:
    r = treadwalk("decode", CITYSPORTS)
    assert r.returncode == 2
    assert "--char" in r.stderr
