"""The user's config file. Stdlib only (tomllib).

Where: ``$TREADWALK_CONFIG``, else ``$XDG_CONFIG_HOME/treadwalk/config.toml``, else
``~/.config/treadwalk/config.toml``. A missing file is an empty config; a bad one is a
``ConfigError`` (exit 2) naming the file and the key. Command-line flags win over the file.

::

    device = "CITYSPORTS-Linker"     # default for `run` without --device
    units = "metric"                 # metric | imperial
    max_speed_kmh = 8.0              # the walker's own caps (safety rule 3)
    max_incline_pct = 10.0
    reconnect_grace_s = 30           # how long a dropped link may take to come back
    cooldown_s = 120                 # the easy walk before the belt stops at the end

    [quirks]                         # override what treadwalk knows of your machine
    targets_in_mph = true

    [mqtt]                           # used when --mqtt is not given (run, watch)
    url = "mqtt://broker.local/treadwalk"
    control = false                  # accept remote commands (--mqtt-control)
    # ca, cert, key = "path"; id = "my-treadmill"; discovery = true

    [web]                            # the second screen, used when --web is given without a value
    listen = "0.0.0.0:8765"          # [HOST:]PORT
    control = false                  # the page's buttons (--web-control)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["Config", "config_path", "load_config"]


def config_path() -> Path:
    if env := os.environ.get("TREADWALK_CONFIG"):
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "treadwalk" / "config.toml"


@dataclass(frozen=True, slots=True)
class Config:
    device: str | None = None
    units: str = "metric"
    max_speed_kmh: float | None = None
    max_incline_pct: float | None = None
    reconnect_grace_s: float = 30.0
    cooldown_s: float = 120.0
    quirks: dict[str, Any] = field(default_factory=dict)
    mqtt: dict[str, Any] = field(default_factory=dict)
    web: dict[str, Any] = field(default_factory=dict)
    paces: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None


_NUMBERS = {"max_speed_kmh": (0.5, 30.0), "max_incline_pct": (-10.0, 40.0), "reconnect_grace_s": (0.0, 600.0),
            "cooldown_s": (0.0, 1800.0)}  # fmt: skip
_TABLES = ("quirks", "mqtt", "web", "paces")


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the config {path} ({exc}); fix or remove it.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}; fix the TOML or remove the file.") from exc
    values: dict[str, Any] = {"source": path}
    for key, value in data.items():
        if key in _NUMBERS:
            lo, hi = _NUMBERS[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                raise ConfigError(f"{path}: {key} must be a number from {lo:g} to {hi:g}, not {value!r}.")
            values[key] = float(value)
        elif key == "units":
            if value not in ("metric", "imperial"):
                raise ConfigError(f'{path}: units must be "metric" or "imperial", not {value!r}.')
            values[key] = value
        elif key == "device":
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{path}: device must be an address or a name in quotes.")
            values[key] = value
        elif key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table.")
            if key == "mqtt":
                _check_mqtt(path, value)
            elif key == "web":
                _check_web(path, value)
            values[key] = dict(value)
        else:
            allowed = ", ".join(sorted([*_NUMBERS, "units", "device", *_TABLES]))
            raise ConfigError(f"{path}: unknown setting '{key}'; allowed: {allowed}.")
    return Config(**values)


_MQTT_KEYS: dict[str, type] = {"url": str, "ca": str, "cert": str, "key": str, "id": str, "control": bool,
                               "discovery": bool}  # fmt: skip


def _check_mqtt(path: Path, table: dict[str, Any]) -> None:
    for key, value in table.items():
        kind = _MQTT_KEYS.get(key)
        if kind is None:
            allowed = ", ".join(_MQTT_KEYS)
            raise ConfigError(f"{path}: unknown setting '{key}' in [mqtt]; allowed: {allowed}.")
        if not isinstance(value, kind):
            what = "true or false" if kind is bool else "a string in quotes"
            raise ConfigError(f"{path}: [mqtt] {key} must be {what}, not {value!r}.")


def _check_web(path: Path, table: dict[str, Any]) -> None:
    for key, value in table.items():
        if key == "listen" and isinstance(value, str):
            continue
        if key == "control" and isinstance(value, bool):
            continue
        if key not in ("listen", "control"):
            raise ConfigError(f"{path}: unknown setting '{key}' in [web]; allowed: listen, control.")
        what = "true or false" if key == "control" else 'a "[HOST:]PORT" string in quotes'
        raise ConfigError(f"{path}: [web] {key} must be {what}, not {value!r}.")
