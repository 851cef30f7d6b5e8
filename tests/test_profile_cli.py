"""`treadwalk profiles ...` as a user runs it: a real process, real files, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from treadwalk.profile import LIBRARY


def tw(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", "profiles", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def user_dir(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "my-walk.toml").write_text(
        'name = "My walk"\ntags = ["recovery"]\n[[segment]]\nduration = "10m"\nspeed = 5\nincline = 2\n'
    )
    return {"TREADWALK_PROFILES": str(folder)}


def test_list_shows_builtins_and_yours_with_totals(user_dir: dict[str, str]) -> None:
    out = tw("list", env=user_dir)
    assert out.returncode == 0, out.stderr
    for f in LIBRARY.glob("*.toml"):
        assert f.stem in out.stdout
    row = next(line for line in out.stdout.splitlines() if line.startswith("my-walk"))
    assert "10:00" in row
    assert "0.83 km" in row
    assert "17 m" in row  # 833 m at 2 %
    assert "yours" in row
    assert "12-3-30" in out.stdout
    assert "1.76 mi" in out.stdout  # the profile asks for imperial


def test_show_draws_a_chart_segments_cues_and_totals() -> None:
    out = tw("show", "demo", "--width", "40")
    assert out.returncode == 0, out.stderr
    assert "Demo walk" in out.stdout
    assert "█" in out.stdout
    assert "“Drive the arms up the hill”" in out.stdout
    assert "total: 8:00" in out.stdout
    assert "kcal" in out.stdout
    out = tw("show", "hill-repeat-sets", "--units", "imperial")
    assert "3 x Sets" in out.stdout
    assert "2.1     4 x Hills" in out.stdout
    assert "mph" in out.stdout


def test_validate_reports_every_problem_with_file_and_line_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\n[[segment]]\nduration = "5m"\nspeed = 40\nincline = 50\n')
    out = tw("validate", "demo", str(bad))
    assert out.returncode == 2
    assert "ok:" in out.stdout
    assert f"{bad}:4: segment 1: speed 40 km/h is above what treadmills do (max 25 km/h)" in out.stderr
    assert f"{bad}:5: segment 1: incline 50 % is outside" in out.stderr
    assert "Traceback" not in out.stderr
    assert tw("validate", *[str(p) for p in LIBRARY.glob("*.toml")]).returncode == 0


def test_unknown_profile_is_one_sentence_pointing_at_list() -> None:
    out = tw("show", "no-such-walk")
    assert out.returncode == 2
    assert "treadwalk profiles list" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_convert_round_trip_through_zwo_and_qz(tmp_path: Path) -> None:
    zwo, xml, back = tmp_path / "w.zwo", tmp_path / "w.xml", tmp_path / "back.toml"
    assert tw("convert", "incline-power-walk", str(zwo)).returncode == 0
    assert tw("convert", str(zwo), str(xml)).returncode == 0
    out = tw("convert", str(xml), str(back))
    assert out.returncode == 0, out.stderr
    shown = tw("show", str(back))
    assert "total: 35:00" in shown.stdout
    assert "5 x" in shown.stdout


def test_convert_with_paces_and_refusals(tmp_path: Path) -> None:
    zwo = tmp_path / "w.zwo"
    zwo.write_text(
        "<workout_file><name>t</name><sportType>run</sportType><workout>"
        '<SteadyState Duration="600" Power="0.5" pace="1"/></workout></workout_file>'
    )
    out_toml = tmp_path / "t.toml"
    assert tw("convert", str(zwo), str(out_toml), "--paces", "5k=6:00/km").returncode == 0
    assert "speed = 5" in out_toml.read_text()
    again = tw("convert", str(zwo), str(out_toml))
    assert again.returncode == 2
    assert "--force" in again.stderr
    assert tw("convert", str(zwo), str(tmp_path / "t.gpx")).returncode == 2
    assert tw("convert", str(zwo), str(tmp_path / "x.toml"), "--paces", "5k=fast").returncode == 2
    env = {"TREADWALK_PACES": "5k=5:00/km"}
    assert tw("convert", str(zwo), str(tmp_path / "e.toml"), env=env).returncode == 0
    assert "speed = 6" in (tmp_path / "e.toml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.toml", "t.toml", "w.zwo"]


def test_bad_input_to_convert_leaves_no_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<rows><row duration='00:01:00'/></rows>")
    out = tw("convert", str(bad), str(tmp_path / "out.toml"))
    assert out.returncode == 2
    assert f"{bad}:1: row has no speed" in out.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["bad.xml"]


def test_profiles_help_does_not_load_the_profile_layer() -> None:
    code = (
        "import sys, treadwalk.cli; treadwalk.cli.build_parser(); "
        "print(any(m.startswith('treadwalk.profile') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert tw("--help").returncode == 0
    assert tw().returncode == 2
