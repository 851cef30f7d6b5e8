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


def test_mqtt_table_is_checked(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[mqtt]\nurl = "mqtt://h/gym"\ncontrol = true\n')
    assert load_config(cfg).mqtt == {"url": "mqtt://h/gym", "control": True}
    for text, message in [
        ('[mqtt]\nhost = "h"\n', r"unknown setting 'host' in \[mqtt\]"),
        ('[mqtt]\ncontrol = "yes"\n', "control must be true or false"),
        ("[mqtt]\nurl = 1883\n", "url must be a string"),
    ]:
        cfg.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(cfg)


def test_config_fills_mqtt_options_the_command_line_left_out() -> None:
    import argparse

    from treadwalk.telemetry.settings import apply_config

    table = {"url": "mqtt://h/gym", "control": True, "id": "lane-3", "discovery": False}
    args = argparse.Namespace(
        mqtt=None, mqtt_ca=None, mqtt_cert=None, mqtt_key=None, mqtt_id=None, mqtt_control=False,
        no_mqtt_discovery=False,
    )  # fmt: skip
    apply_config(args, table)
    assert (args.mqtt, args.mqtt_id, args.mqtt_control, args.no_mqtt_discovery) == (
        "mqtt://h/gym",
        "lane-3",
        True,
        True,
    )
    flags = argparse.Namespace(mqtt="mqtt://other", mqtt_ca=None, mqtt_cert=None, mqtt_key=None)
    apply_config(flags, table)  # watch has no --mqtt-control: control is not invented for it
    assert flags.mqtt == "mqtt://other"
    assert not hasattr(flags, "mqtt_control")


def test_watch_uses_the_configs_broker_and_a_bad_config_is_exit_2(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[mqtt]\nurl = "mqtt://127.0.0.1:{port}/gym"\n')
    env = {**os.environ, "TREADWALK_CONFIG": str(cfg)}
    cmd = [sys.executable, "-m", "treadwalk", "watch", "--once", "--wait", "0.2"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1  # it tried the config's broker (nobody listens there)
    assert "cannot reach the MQTT broker" in out.stderr
    cfg.write_text("[mqtt]\nport = 1883\n")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2
    assert "unknown setting 'port' in [mqtt]" in out.stderr
    assert "Traceback" not in out.stderr
