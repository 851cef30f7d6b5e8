"""Heart-rate zones: the three models in bpm, the [heart_rate] config, `treadwalk zones` as a user runs it."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadwalk.core.config import load_config
from treadwalk.core.errors import ConfigError
from treadwalk.core.zones import (
    HeartRateConfig,
    HrTarget,
    ZoneModel,
    parse_hr_target,
    resolve_target,
    zone_of,
    zones,
)


def bounds(config: HeartRateConfig) -> list[tuple[int, int]]:
    return [(round(z.low_bpm), round(z.high_bpm)) for z in zones(config)]


def test_percent_of_max_as_garmin_and_polar_draw_them() -> None:
    assert bounds(HeartRateConfig(max_bpm=180)) == [(90, 108), (108, 126), (126, 144), (144, 162), (162, 180)]


def test_karvonen_reserve() -> None:
    # rest 60, max 180: reserve 120; Z2 = 60 + 0.6*120 .. 60 + 0.7*120
    config = HeartRateConfig(max_bpm=180, rest_bpm=60, zones=ZoneModel.HRR)
    assert bounds(config) == [(120, 132), (132, 144), (144, 156), (156, 168), (168, 180)]


def test_friel_threshold() -> None:
    config = HeartRateConfig(lthr_bpm=160, rest_bpm=60, max_bpm=185, zones=ZoneModel.LTHR)
    assert bounds(config) == [(60, 136), (136, 144), (144, 152), (152, 160), (160, 185)]


def test_ceiling_defaults_to_max_minus_ten_and_is_asked_for_otherwise() -> None:
    assert HeartRateConfig(max_bpm=180).ceiling_bpm == 170
    assert HeartRateConfig(max_bpm=180, ceiling=150).ceiling_bpm == 150
    assert HeartRateConfig(lthr_bpm=160, zones=ZoneModel.LTHR).ceiling_bpm is None


@pytest.mark.parametrize(
    ("config", "key"),
    [
        (HeartRateConfig(), "max_bpm"),
        (HeartRateConfig(max_bpm=180, zones=ZoneModel.HRR), "rest_bpm"),
        (HeartRateConfig(max_bpm=180, zones=ZoneModel.LTHR), "lthr_bpm"),
    ],
)
def test_missing_config_names_the_key(config: HeartRateConfig, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"set {key} = "):
        zones(config)
    with pytest.raises(ConfigError, match=key):
        resolve_target(HrTarget(zone=2), config)


def test_a_range_needs_no_config() -> None:
    assert resolve_target(parse_hr_target("110-125"), HeartRateConfig()) == (110.0, 125.0)


@pytest.mark.parametrize("text", ["zone2", "Zone 2", "z2"])
def test_zone_targets(text: str) -> None:
    assert parse_hr_target(text) == HrTarget(zone=2)
    assert resolve_target(parse_hr_target(text), HeartRateConfig(max_bpm=180)) == pytest.approx((108, 126))


@pytest.mark.parametrize("text", ["zone6", "125-110", "110-112", "10-400", "fast", 120])
def test_bad_targets_say_what_is_allowed(text: object) -> None:
    with pytest.raises(ValueError, match="hr"):
        parse_hr_target(text)


@given(st.integers(120, 230), st.integers(35, 90), st.sampled_from(list(ZoneModel)), st.integers(100, 200))
def test_zones_are_contiguous_and_rising(top: int, rest: int, model: ZoneModel, lthr: int) -> None:
    table = zones(HeartRateConfig(max_bpm=top, rest_bpm=rest, lthr_bpm=min(lthr, top), zones=model))
    assert [z.number for z in table] == [1, 2, 3, 4, 5]
    for a, b in itertools.pairwise(table):
        assert a.high_bpm == b.low_bpm
    assert all(z.low_bpm < z.high_bpm for z in table)
    assert zone_of(table[1].middle_bpm, table) == 2
    assert zone_of(None, table) is None


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_config_table_is_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[heart_rate]\nmax_bpm = 185\nrest_bpm = 58\nzones = "hrr"\n'))
    assert config.heart_rate == HeartRateConfig(max_bpm=185, rest_bpm=58, zones=ZoneModel.HRR)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[heart_rate]\nmax_bpm = 400\n", "max_bpm must be a whole number of bpm from 30 to 230"),
        ('[heart_rate]\nzones = "percent"\n', 'zones must be "max", "hrr" or "lthr"'),
        ("[heart_rate]\nmax = 180\n", "unknown setting 'max' in [heart_rate]"),
        ("[heart_rate]\nmax_bpm = 150\nrest_bpm = 140\n", "rest_bpm 140 must be well below max_bpm 150"),
        ("heart_rate = 3\n", "[heart_rate] must be a table"),
    ],
)
def test_bad_config_is_one_sentence(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        load_config(write(tmp_path, text))
    assert said in str(caught.value)


def tw_zones(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", "zones", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "TREADWALK_CONFIG": str(config)},
        timeout=60,
    )


def test_cli_prints_zones_in_bpm(tmp_path: Path) -> None:
    out = tw_zones(write(tmp_path, "[heart_rate]\nmax_bpm = 180\n"))
    assert out.returncode == 0, out.stderr
    assert "zone 2  108-126 bpm" in out.stdout
    assert "ceiling 170 bpm" in out.stdout
    data = json.loads(tw_zones(write(tmp_path, "[heart_rate]\nmax_bpm = 180\n"), "--json").stdout)
    assert data["zones"][4] == {"zone": 5, "low_bpm": 162, "high_bpm": 180}


def test_cli_without_config_names_the_key_and_exits_2(tmp_path: Path) -> None:
    out = tw_zones(tmp_path / "absent.toml")
    assert out.returncode == 2
    assert out.stdout == ""
    assert "set max_bpm = " in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1
