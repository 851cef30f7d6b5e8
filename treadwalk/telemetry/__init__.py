"""MQTT telemetry: the session published to a broker, Home Assistant discovery, safe remote
control, and the ``watch`` board. The only aiomqtt importer (in ``client`` and ``watch``).

Importing this package does not import aiomqtt: ``MqttTelemetry`` and ``watch_broker`` load
it on first use, so ``--help`` stays fast. Imports ``treadwalk.core`` only.

For ``treadwalk run`` (the composition root)::

    settings = settings_from_args(args)            # None without --mqtt; UsageError if bad
    telemetry = MqttTelemetry(settings, treadmill_id_for(name), name=name,
                              submit=session.submit, control=args.mqtt_control, limits=limits)
    session.add_observer(telemetry)                # on_snapshot/on_event: never block
    async with telemetry:                          # background connect/reconnect
        await session.run()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import (
    DEFAULT_DISCOVERY_PREFIX,
    DEFAULT_PREFIX,
    MqttSettings,
    Topics,
    add_mqtt_arguments,
    parse_mqtt_url,
    settings_from_args,
    treadmill_id_for,
)

if TYPE_CHECKING:
    from .client import MqttTelemetry, TelemetryStats
    from .watch import watch_broker

__all__ = [
    "DEFAULT_DISCOVERY_PREFIX",
    "DEFAULT_PREFIX",
    "MqttSettings",
    "MqttTelemetry",
    "TelemetryStats",
    "Topics",
    "add_mqtt_arguments",
    "parse_mqtt_url",
    "settings_from_args",
    "treadmill_id_for",
    "watch_broker",
]


def __getattr__(name: str) -> Any:
    if name in ("MqttTelemetry", "TelemetryStats"):
        from . import client

        return getattr(client, name)
    if name == "watch_broker":
        from . import watch

        return watch.watch_broker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
