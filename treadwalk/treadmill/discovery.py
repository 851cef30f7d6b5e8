"""Finding FTMS treadmills in range, over bleak's public API (any backend).

A machine counts as FTMS when it advertises FTMS service data (flags + machine type) or, like the
Sole F65 (REFERENCE.md P13), only the FTMS service UUID. Imports: bleak, treadwalk.ftms, core.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from treadwalk import ftms
from treadwalk.core.errors import DecodeError, TreadmillError
from treadwalk.core.radio_gate import Turn, gate

__all__ = ["FoundMachine", "Heard", "listen", "machines_in", "no_adapter", "scan"]

Heard = tuple[BLEDevice, AdvertisementData]


@dataclass(frozen=True, slots=True)
class FoundMachine:
    name: str | None
    address: str
    rssi: int | None
    machine_types: tuple[str, ...]  # empty when only the service UUID was advertised
    available: bool | None

    @property
    def is_treadmill(self) -> bool:
        return not self.machine_types or "treadmill" in self.machine_types


def no_adapter(exc: BaseException) -> TreadmillError:
    """The one sentence for "the OS Bluetooth stack cannot be used" (no adapter, no bluetoothd or
    D-Bus): ``scan``, ``run`` and ``info`` say it the same way."""
    return TreadmillError(
        f"No usable Bluetooth adapter ({type(exc).__name__}: {exc}); check one is plugged in, powered "
        "and that you may use it (or use --hci SPEC, or try the virtual treadmill with 'treadwalk demo')."
    )


async def listen(timeout_s: float = 5.0, *, backend: type[BaseBleakScanner] | None = None) -> list[Heard]:
    """Every advertiser heard within ``timeout_s``: one listening window, so callers that want both
    treadmills and straps share it (BlueZ refuses a second discovery from the same process while one
    runs: "Operation already in progress")."""
    try:
        async with gate().turn(Turn.SCAN):  # never while this process connects
            if backend is None:
                found = await BleakScanner.discover(timeout=timeout_s, return_adv=True)
            else:
                found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, backend=backend)
    except (BleakError, OSError) as exc:
        raise no_adapter(exc) from exc
    return list(found.values())


async def scan(
    timeout_s: float = 5.0, *, backend: type[BaseBleakScanner] | None = None
) -> list[FoundMachine]:
    """Every FTMS machine heard within ``timeout_s``, treadmills first, strongest first."""
    return machines_in(await listen(timeout_s, backend=backend))


def machines_in(heard: Iterable[Heard]) -> list[FoundMachine]:
    """The FTMS machines among what :func:`listen` heard, treadmills first, strongest first."""
    machines: list[FoundMachine] = []
    for device, adv in heard:
        data = adv.service_data.get(ftms.FTMS_SERVICE_UUID)
        has_uuid = ftms.FTMS_SERVICE_UUID in {u.lower() for u in adv.service_uuids}
        if data is None and not has_uuid:
            continue
        types: tuple[str, ...] = ()
        available: bool | None = None
        if data is not None:
            try:
                decoded = ftms.decode_advertisement(bytes(data))
                types = tuple(decoded.machine_types)
                available = decoded.available
            except DecodeError:
                pass
        machines.append(
            FoundMachine(
                name=adv.local_name or device.name,
                address=device.address,
                rssi=adv.rssi,
                machine_types=types,
                available=available,
            )
        )
    machines.sort(key=lambda m: (not m.is_treadmill, -(m.rssi if m.rssi is not None else -999)))
    return machines
