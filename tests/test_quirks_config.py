"""Quirks as data, and the user's config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from treadwalk.core.config import Config, load_config
from treadwalk.core.errors import ConfigError
from treadwalk.treadmill.quirks import Quirks, quirks_for


@pytest.mark.parametrize(
    ("name", "manufacturer", "expected"),
    [
        ("TM4800-1234", None, "targets_in_mph"),
        ("MRK-T11", None, "targets_in_mph"),
        ("SCHWINN 810", None, "no_incline"),
        ("KS-HD-Z1D", None, "min_write_interval_s"),
        ("Walker", "KingSmith", "min_write_interval_s"),
        ("MyRun 123", None, "control_before_every_write"),
    ],
)
def test_known_machines_get_their_quirks(name: str, manufacturer: str | None, expected: str) -> None:
    assert expected in quirks_for(name, manufacturer).active


def test_unknown_machine_gets_the_spec() -> None:
    assert quirks_for("CITYSPORTS-Linker", "CITYSPORTS").active == []
    assert quirks_for(None) == Quirks()


def test_user_overrides_win_and_bad_ones_are_one_sentence() -> None:
    q = quirks_for("TM4800-1").with_overrides({"targets_in_mph": False, "min_write_interval_s": 0.5})
    assert not q.targets_in_mph
    assert q.min_write_interval_s == 0.5
    with pytest.raises(ConfigError, match=r"unknown quirk 'mph'.*allowed: "):
        Quirks().with_overrides({"mph": True})
    with pytest.raises(ConfigError, match="true or false"):
        Quirks().with_overrides({"no_incline": "yes"})
    with pytest.raises(ConfigError, match=r">= 0"):
        Quirks().with_overrides({"min_write_interval_s": -1})


def test_config_file_loads_and_rejects_bad_values(tmp_path: Path) -> None:
    assert load_config(tmp_path / "missing.toml") == Config()
    good = tmp_path / "good.toml"
    good.write_text('units = "imperial"\nmax_speed_kmh = 7\n[quirks]\ntargets_in_mph = true\n')
    cfg = load_config(good)
    assert cfg.units == "imperial"
    assert cfg.max_speed_kmh == 7.0
    assert cfg.quirks == {"targets_in_mph": True}
    for text, message in [
        ("max_speed_kmh = 90\n", "max_speed_kmh must be a number from 0.5 to 30"),
        ('units = "furlongs"\n', "units must be"),
        ("colour = 1\n", "unknown setting 'colour'"),
        ("max_speed_kmh = \n", "fix the TOML"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(bad)
