"""BlueZ's own view of a treadmill that does not advertise because it is already connected.

A machine connected to this computer stops advertising, so a scan never hears it: another app on
the same machine holds it (Home Assistant, QDomyos-Zwift's Linux build, a ``bluetoothctl
connect``), or an earlier treadwalk crashed and BlueZ kept the link (BlueZ does not disconnect a
device when the app that connected it goes away: bluez/bluez#89). BlueZ shares one link between
its D-Bus clients, so treadwalk can use that link: ``connected_device`` finds it among BlueZ's
objects (``org.bluez.Device1`` with ``Connected``) by address or advertised name, as a
``BLEDevice`` bleak's BlueZ backend connects through.

Linux only, over the system D-Bus with dbus-fast (bleak's own D-Bus library there); anywhere else,
or without a system bus or bluetoothd, it finds nothing and says nothing.

Imports: bleak, dbus-fast (Linux only, lazily).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from typing import Any

from bleak.backends.device import BLEDevice

__all__ = ["connected_device"]

log = logging.getLogger(__name__)

_DEVICE = "org.bluez.Device1"


def _plain(props: dict[str, Any]) -> dict[str, Any]:
    return {key: getattr(value, "value", value) for key, value in props.items()}


def _matches(props: dict[str, Any], target: str) -> bool:
    wanted = target.lower()
    return any(
        isinstance(props.get(key), str) and props[key].lower() == wanted
        for key in ("Address", "Name", "Alias")
    )


async def connected_device(target: str, *, timeout_s: float = 3.0) -> BLEDevice | None:
    """The device BlueZ holds connected whose address or name is ``target``, or None (not Linux,
    no system bus, no bluetoothd, nothing connected by that name)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus
    except ImportError:  # pragma: no cover - bleak depends on it on Linux
        return None
    bus: Any = None
    try:
        async with asyncio.timeout(timeout_s):
            bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
            reply = await bus.call(
                Message(
                    destination="org.bluez",
                    path="/",
                    interface="org.freedesktop.DBus.ObjectManager",
                    member="GetManagedObjects",
                )
            )
    except (OSError, EOFError, TimeoutError, ValueError) as exc:  # no system bus here
        log.debug("no BlueZ to ask about connected devices: %s", exc)
        return None
    finally:
        if bus is not None:
            with contextlib.suppress(Exception):
                bus.disconnect()
    if reply is None or reply.message_type != MessageType.METHOD_RETURN:
        return None  # no bluetoothd on the bus
    for path, interfaces in sorted(reply.body[0].items()):
        if _DEVICE not in interfaces:
            continue
        props = _plain(interfaces[_DEVICE])
        if props.get("Connected") and _matches(props, target):
            log.info("%s does not advertise: BlueZ holds it connected (%s); using that link", target, path)
            return BLEDevice(
                props["Address"], props.get("Alias") or props.get("Name"), {"path": path, "props": props}
            )
    return None
