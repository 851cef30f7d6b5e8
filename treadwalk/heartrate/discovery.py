"""Finding heart-rate straps in range, over bleak's public API (any backend).

A device counts as a strap when it advertises the Heart Rate Service UUID (0x180D). Imports:
bleak, treadwalk.ftms, core.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from treadwalk import ftms
from treadwalk.core.errors import HeartRateError
from treadwalk.core.radio_gate import Turn, gate

__all__ = ["FoundStrap", "scan_straps", "straps_in"]


@dataclass(frozen=True, slots=True)
class FoundStrap:
    name: str | None
    address: str
    rssi: int | None


async def scan_straps(
    timeout_s: float = 5.0, *, backend: type[BaseBleakScanner] | None = None
) -> list[FoundStrap]:
    """Every heart-rate strap heard within ``timeout_s``, strongest first."""
    try:
        async with gate().turn(Turn.SCAN):  # never while this process connects
            if backend is None:
                found = await BleakScanner.discover(timeout=timeout_s, return_adv=True)
            else:
                found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, backend=backend)
    except (BleakError, OSError) as exc:
        raise HeartRateError(
            f"No usable Bluetooth adapter ({type(exc).__name__}: {exc}); check one is plugged in and "
            "powered (or use --hci SPEC)."
        ) from exc
    return straps_in(found.values())


def straps_in(heard: Iterable[tuple[BLEDevice, AdvertisementData]]) -> list[FoundStrap]:
    """The heart-rate straps among what was heard (``(device, advertisement)`` pairs), strongest first."""
    straps = [
        FoundStrap(name=adv.local_name or device.name, address=device.address, rssi=adv.rssi)
        for device, adv in heard
        if ftms.HEART_RATE_SERVICE_UUID in {u.lower() for u in adv.service_uuids}
    ]
    straps.sort(key=lambda s: -(s.rssi if s.rssi is not None else -999))
    return straps
