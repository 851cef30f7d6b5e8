"""MQTT settings: the ``--mqtt URL`` and its options, parsed. Stdlib only (``--help`` stays fast).

``mqtt://[user:pass@]host[:port][/prefix]`` or ``mqtts://...`` (TLS; ``--mqtt-ca``,
``--mqtt-cert``, ``--mqtt-key``). The prefix defaults to ``treadwalk``; every topic of a
treadmill lives under ``<prefix>/<treadmill_id>/``. A bad URL is a ``UsageError`` (exit 2).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from treadwalk.core.errors import UsageError

__all__ = [
    "DEFAULT_DISCOVERY_PREFIX",
    "DEFAULT_PREFIX",
    "MqttSettings",
    "Topics",
    "add_mqtt_arguments",
    "parse_mqtt_url",
    "settings_from_args",
    "treadmill_id_for",
]

DEFAULT_PREFIX = "treadwalk"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where and how to reach the broker. ``password`` is never shown by ``repr``."""

    host: str
    port: int = 1883
    prefix: str = DEFAULT_PREFIX
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    discovery_prefix: str | None = DEFAULT_DISCOVERY_PREFIX  # None: no Home Assistant discovery
    keepalive_s: int = 15
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0

    def __repr__(self) -> str:
        auth = f"{self.username}:***@" if self.username else ""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"MqttSettings({scheme}://{auth}{self.host}:{self.port}/{self.prefix})"

    @property
    def display(self) -> str:
        """The broker as a user wrote it, without the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        auth = f"{self.username}@" if self.username else ""
        return f"{scheme}://{auth}{self.host}:{self.port}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic of one treadmill."""

    base: str

    @classmethod
    def of(cls, prefix: str, treadmill_id: str) -> Topics:
        return cls(f"{prefix}/{treadmill_id}")

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def command(self) -> str:
        return f"{self.base}/command"


def _usage(message: str) -> UsageError:
    return UsageError(message)


def parse_mqtt_url(
    url: str,
    *,
    ca: str | Path | None = None,
    cert: str | Path | None = None,
    key: str | Path | None = None,
    discovery_prefix: str | None = DEFAULT_DISCOVERY_PREFIX,
) -> MqttSettings:
    """Parse ``--mqtt URL`` (and the TLS file options) into settings, or raise ``UsageError``."""
    hint = "use mqtt://[user:pass@]host[:port][/prefix] or mqtts://..."
    try:
        parts = urlsplit(url.strip())
        port_in_url = parts.port
    except ValueError as exc:
        raise _usage(f"--mqtt {url!r} is not a valid broker URL ({exc}); {hint}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "mqtts"):
        raise _usage(f"--mqtt {url!r} must start with mqtt:// or mqtts://; {hint}.")
    host = parts.hostname
    if not host:
        raise _usage(f"--mqtt {url!r} names no broker host; {hint}.")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise _usage(
            f"--mqtt {url!r} has '?' or '#', which a broker URL does not take "
            f"(percent-encode them in a password); {hint}."
        )
    tls = scheme == "mqtts"
    port = port_in_url if port_in_url is not None else (8883 if tls else 1883)
    if not 0 < port < 65536:
        raise _usage(f"--mqtt {url!r} has port {port}, outside 1-65535; {hint}.")
    prefix = parts.path.strip("/") or DEFAULT_PREFIX
    levels = prefix.split("/")
    if any(not _TOPIC_LEVEL.match(level) for level in levels):
        raise _usage(
            f"--mqtt prefix {prefix!r} may hold only letters, digits, '_', '-', '.' "
            "between slashes (no '+', '#' or empty levels)."
        )
    if discovery_prefix is not None and not all(
        _TOPIC_LEVEL.match(level) for level in discovery_prefix.split("/")
    ):
        raise _usage(f"discovery prefix {discovery_prefix!r} is not a valid topic; try 'homeassistant'.")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    files: dict[str, Path | None] = {}
    for flag, value in (("--mqtt-ca", ca), ("--mqtt-cert", cert), ("--mqtt-key", key)):
        if value is None:
            files[flag] = None
            continue
        if not tls:
            raise _usage(f"{flag} needs a TLS broker URL: write mqtts:// instead of mqtt://.")
        path = Path(value).expanduser()
        if not path.is_file():
            raise _usage(f"{flag} {str(value)!r} is not a readable file; check the path.")
        files[flag] = path
    if (files["--mqtt-cert"] is None) != (files["--mqtt-key"] is None):
        raise _usage("--mqtt-cert and --mqtt-key go together: give both, or neither.")
    return MqttSettings(
        host=host,
        port=port,
        prefix=prefix,
        username=username,
        password=password,
        tls=tls,
        ca_file=files["--mqtt-ca"],
        cert_file=files["--mqtt-cert"],
        key_file=files["--mqtt-key"],
        discovery_prefix=discovery_prefix,
    )


def treadmill_id_for(name: str | None) -> str:
    """A topic-safe id from a treadmill's name or address: ``"KS-ST A1 (ab:cd)"`` -> ``ks-st_a1_ab_cd``."""
    slug = re.sub(r"[^a-z0-9_-]+", "_", (name or "").strip().lower()).strip("_")
    return slug or "treadmill"


def add_mqtt_arguments(parser: argparse.ArgumentParser, *, control: bool = True) -> None:
    """The MQTT options, for ``run`` (with ``--mqtt-control``) and ``watch`` (without)."""
    group = parser.add_argument_group("MQTT")
    group.add_argument(
        "--mqtt",
        metavar="URL",
        help="broker: mqtt://[user:pass@]host[:port][/prefix] or mqtts://... (prefix: treadwalk)",
    )
    group.add_argument("--mqtt-ca", metavar="FILE", help="CA certificate for mqtts:// (default: system CAs)")
    group.add_argument("--mqtt-cert", metavar="FILE", help="client certificate for mqtts://")
    group.add_argument("--mqtt-key", metavar="FILE", help="client private key for mqtts://")
    if control:
        group.add_argument(
            "--mqtt-control",
            action="store_true",
            help="accept pause/resume/stop/speed/incline/skip on <prefix>/<id>/command "
            "(never a start from standstill)",
        )
        group.add_argument(
            "--mqtt-id", metavar="ID", help="treadmill id in topics (default: from the treadmill's name)"
        )
        group.add_argument(
            "--no-mqtt-discovery", action="store_true", help="do not publish Home Assistant discovery"
        )


def apply_config(args: argparse.Namespace, table: Mapping[str, Any]) -> None:
    """Fill the MQTT options the command line left out from the config's ``[mqtt]`` table
    (already type-checked by ``load_config``). Flags always win; ``control`` is taken only where
    the command has ``--mqtt-control``."""
    if getattr(args, "mqtt", None) is None and table.get("url"):
        args.mqtt = table["url"]
    for flag, key in (("mqtt_ca", "ca"), ("mqtt_cert", "cert"), ("mqtt_key", "key"), ("mqtt_id", "id")):
        if hasattr(args, flag) and getattr(args, flag) is None and table.get(key):
            setattr(args, flag, table[key])
    if hasattr(args, "mqtt_control") and not args.mqtt_control and table.get("control") is True:
        args.mqtt_control = True
    if hasattr(args, "no_mqtt_discovery") and not args.no_mqtt_discovery and table.get("discovery") is False:
        args.no_mqtt_discovery = True


def settings_from_args(args: argparse.Namespace) -> MqttSettings | None:
    """Settings from the options ``add_mqtt_arguments`` added; None without ``--mqtt``."""
    if not getattr(args, "mqtt", None):
        for flag in ("mqtt_ca", "mqtt_cert", "mqtt_key"):
            if getattr(args, flag, None):
                raise UsageError(f"--{flag.replace('_', '-')} needs --mqtt URL as well.")
        if getattr(args, "mqtt_control", False):
            raise UsageError("--mqtt-control needs --mqtt URL as well.")
        return None
    return parse_mqtt_url(
        args.mqtt,
        ca=args.mqtt_ca,
        cert=args.mqtt_cert,
        key=args.mqtt_key,
        discovery_prefix=None if getattr(args, "no_mqtt_discovery", False) else DEFAULT_DISCOVERY_PREFIX,
    )
