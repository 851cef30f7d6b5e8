"""The user's config file. Stdlib only (tomllib).

Where: ``$TREADWALK_CONFIG``, else ``$XDG_CONFIG_HOME/treadwalk/config.toml``, else
``~/.config/treadwalk/config.toml``. A missing file is an empty config; a bad one is a
``ConfigError`` (exit 2) naming the file and the key. Command-line flags win over the file.

::

    device = "CITYSPORTS-Linker"     # default for `run` without --device
    hr = "Polar H10 1A2B3C4D"        # heart-rate source for `run`: a strap's name or address,
                                     # "machine" (the treadmill's own reading) or "none"
    units = "metric"                 # metric | imperial
    max_speed_kmh = 8.0              # the walker's own caps (safety rule 3)
    max_incline_pct = 10.0
    reconnect_grace_s = 30           # how long a dropped link may take to come back
    cooldown_s = 120                 # the easy walk before the belt stops at the end

    [quirks]                         # override what treadwalk knows of your machine
    targets_in_mph = true

    [voice]                          # spoken cues (run --voice)
    enabled = false                  # speak without --voice
    rate = 175                       # words per minute (80-400)
    volume = 100                     # percent of the synthesiser's normal loudness (safety: always full)
    voice = "en-gb"                  # the synthesiser's voice or language name
    beeps_only = false               # a chime instead of words (safety messages are still spoken)
    say = ["segments", "cues", "countdown", "heart_rate"]

    [mqtt]                           # used when --mqtt is not given (run, watch)
    url = "mqtt://broker.local/treadwalk"
    control = false                  # accept remote commands (--mqtt-control)
    # ca, cert, key = "path"; id = "my-treadmill"; discovery = true

    [web]                            # the second screen, used when --web is given without a value
    listen = "0.0.0.0:8765"          # [HOST:]PORT
    control = false                  # the page's buttons (--web-control)

    [heart_rate]                     # zones for `treadwalk zones` and heart-rate segments
    max_bpm = 180                    # ask for it, never guessed from age
    rest_bpm = 60
    lthr_bpm = 160
    zones = "max"                    # max | hrr (Karvonen) | lthr (Friel)
    ceiling_bpm = 170                # eased off above it at once (default max_bpm - 10)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .zones import BPM_MAX, BPM_MIN, HeartRateConfig, ZoneModel

__all__ = ["Config", "config_path", "load_config"]


def config_path() -> Path:
    if env := os.environ.get("TREADWALK_CONFIG"):
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "treadwalk" / "config.toml"


@dataclass(frozen=True, slots=True)
class Config:
    device: str | None = None
    hr: str | None = None
    units: str = "metric"
    max_speed_kmh: float | None = None
    max_incline_pct: float | None = None
    reconnect_grace_s: float = 30.0
    cooldown_s: float = 120.0
    quirks: dict[str, Any] = field(default_factory=dict)
    mqtt: dict[str, Any] = field(default_factory=dict)
    web: dict[str, Any] = field(default_factory=dict)
    paces: dict[str, Any] = field(default_factory=dict)
    voice: dict[str, Any] = field(default_factory=dict)

    heart_rate: HeartRateConfig = field(default_factory=HeartRateConfig)
    source: Path | None = None


_NUMBERS = {"max_speed_kmh": (0.5, 30.0), "max_incline_pct": (-10.0, 40.0), "reconnect_grace_s": (0.0, 600.0),
            "cooldown_s": (0.0, 1800.0)}  # fmt: skip
_TABLES = ("quirks", "mqtt", "web", "paces", "voice")
NUMBER_RANGES = _NUMBERS  # what `run --max-speed/--max-incline/--cooldown` are checked against too


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
        elif key == "heart_rate":
            values[key] = _heart_rate(path, value)
        elif key == "hr":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(
                    f'{path}: hr must be a strap\'s name or address in quotes, "machine" or "none".'
                )
            values[key] = value.strip()
        elif key in _TABLES:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table.")
            if key == "mqtt":
                _check_mqtt(path, value)
            elif key == "web":
                _check_web(path, value)
            elif key == "voice":
                _check_voice(path, value)
            values[key] = dict(value)
        else:
            allowed = ", ".join(sorted([*_NUMBERS, "units", "device", "hr", *_TABLES, "heart_rate"]))
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


VOICE_TOPICS = ("segments", "cues", "countdown", "heart_rate")


def _check_voice(path: Path, table: dict[str, Any]) -> None:
    for key, value in table.items():
        if key in ("enabled", "beeps_only"):
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: [voice] {key} must be true or false, not {value!r}.")
        elif key in ("rate", "volume"):
            lo, hi = (80, 400) if key == "rate" else (0, 100)
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                raise ConfigError(f"{path}: [voice] {key} must be a number from {lo} to {hi}, not {value!r}.")
        elif key == "voice":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(
                    f'{path}: [voice] voice must be a voice or language name in quotes, e.g. "en-gb".'
                )
        elif key == "say":
            if not isinstance(value, list) or any(v not in VOICE_TOPICS for v in value):
                allowed = ", ".join(f'"{t}"' for t in VOICE_TOPICS)
                raise ConfigError(f"{path}: [voice] say must be a list of {allowed}, not {value!r}.")
        else:
            raise ConfigError(
                f"{path}: unknown setting '{key}' in [voice]; allowed: enabled, rate, volume, voice, beeps_only, say."
            )


_HR_KEYS = ("max_bpm", "rest_bpm", "lthr_bpm", "zones", "ceiling_bpm")


def _heart_rate(path: Path, table: object) -> HeartRateConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [heart_rate] must be a table.")
    found: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _HR_KEYS:
            raise ConfigError(
                f"{path}: unknown setting '{key}' in [heart_rate]; allowed: {', '.join(_HR_KEYS)}."
            )
        if key == "zones":
            if value not in tuple(ZoneModel):
                raise ConfigError(
                    f'{path}: [heart_rate] zones must be "max", "hrr" or "lthr", not {value!r}.'
                )
            found[key] = ZoneModel(value)
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not BPM_MIN <= value <= BPM_MAX:
            raise ConfigError(
                f"{path}: [heart_rate] {key} must be a whole number of bpm from {BPM_MIN} to {BPM_MAX}, not {value!r}."
            )
        found[key] = value
    rest, top = found.get("rest_bpm"), found.get("max_bpm")
    if rest is not None and top is not None and rest >= top - 20:
        raise ConfigError(
            f"{path}: [heart_rate] rest_bpm {rest} must be well below max_bpm {top}; check both."
        )
    lthr = found.get("lthr_bpm")
    if lthr is not None and top is not None and lthr > top:
        raise ConfigError(f"{path}: [heart_rate] lthr_bpm {lthr} is above max_bpm {top}; check both.")
    return HeartRateConfig(
        max_bpm=top,
        rest_bpm=rest,
        lthr_bpm=lthr,
        zones=found.get("zones", ZoneModel.MAX),
        ceiling=found.get("ceiling_bpm"),
    )
