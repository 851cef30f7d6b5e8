"""The central side of a radio: one Bumble host shared by every bleak client and scanner.

Like an OS Bluetooth adapter, a radio has one central host. Every ``BleakScanner`` and
``BleakClient`` built on that radio's backend classes goes through this ``Central``: it
starts and stops scanning (reference counted), remembers what it has seen (address type and
name, as BlueZ does), turns AD structures into bleak's ``AdvertisementData``, and creates LE
connections one at a time, bounded.

A connect that times out (a device asleep, out of range) sends LE Create Connection Cancel,
then waits up to ``_CANCEL_TIMEOUT_S`` for the controller's verdict:

- A real controller honours the cancel: the attempt ends with an LE Connection Complete event
  (Unknown Connection Identifier), or with a link if it came up first, which is dropped. The
  radio is clean, the next connect goes ahead. (``VirtualRadio``'s controller does the same.)
- Bumble 0.0.236's virtual controller (``HciRadio`` over ``bumble.apps.controllers``) answers
  the cancel with success and keeps the attempt: it refuses every other LE connect (Command
  Disallowed) until that device advertises, then completes the link. Nothing the host sends
  clears it: its HCI Reset is a no-op, and re-opening the transport reaches the same
  controller object in the other process. So the radio remembers the attempt as *stale*:
  a connect to that same device waits for the attempt (and takes its link: the usual case, a
  retry while the treadmill wakes up); a link that completes with nobody waiting is dropped
  at once (under the connect lock, so no attempt races it); a connect to another device
  cancels again and, if the controller still says nothing, fails at once with a BleakError
  naming the stuck attempt instead of a bare Command Disallowed.

Tracking the attempt rather than resetting the controller is what is also safe on a USB
dongle: an HCI Reset would cut every other link of the adapter and re-initialise the host
under live ``BleakClient`` objects, to fix a state a conforming controller never gets into.
The cost of the verdict wait is paid only by a controller that does not answer.

Imports bleak and Bumble (the radio is the one module allowed both).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bumble import hci
from bumble.core import UUID as BumbleUUID
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device

__all__ = ["Central", "RadioDeviceDetails", "ScanListener", "bleak_uuid", "bumble_uuid"]

logger = logging.getLogger(__name__)

# How long to wait for the controller to confirm a cancelled connection attempt (a real one
# answers within a connection event or two; Bumble's virtual one never does).
_CANCEL_TIMEOUT_S = 1.0

_AD = AdvertisingData.Type
_UUID_LISTS: dict[int, int] = {
    _AD.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    _AD.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    _AD.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    _AD.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    _AD.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
    _AD.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
}
_SERVICE_DATA: dict[int, int] = {
    _AD.SERVICE_DATA_16_BIT_UUID: 2,
    _AD.SERVICE_DATA_32_BIT_UUID: 4,
    _AD.SERVICE_DATA_128_BIT_UUID: 16,
}


def bleak_uuid(value: BumbleUUID) -> str:
    """A Bumble UUID as bleak writes it: 128-bit, lower case, with dashes."""
    return str(uuid.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


def _uuid_from_le(data: bytes) -> str:
    """A UUID from its little-endian wire form (2, 4 or 16 bytes), as bleak writes it."""
    return bleak_uuid(BumbleUUID.from_bytes(data))


def bumble_uuid(value: str) -> BumbleUUID:
    """A bleak UUID string (any form bleak accepts) as a Bumble UUID."""
    full = (
        uuid.UUID(value) if len(value) > 8 else uuid.UUID(f"{int(value, 16):08x}-0000-1000-8000-00805f9b34fb")
    )
    if str(full).endswith("-0000-1000-8000-00805f9b34fb") and full.int >> 96 <= 0xFFFF:
        return BumbleUUID.from_16_bits(full.int >> 96)
    return BumbleUUID.from_bytes(bytes(reversed(full.bytes)))


@dataclass(frozen=True, slots=True)
class RadioDeviceDetails:
    """``BLEDevice.details`` of a device seen by a radio: its address with its type."""

    address: hci.Address


class ScanListener(Protocol):
    def on_advertisement(self, device: BLEDevice, key: str, adv: AdvertisementData) -> None: ...


def advertisement_data(ad: AdvertisingData, rssi: int, raw: Advertisement) -> AdvertisementData:
    """bleak's AdvertisementData from the AD structures actually received.

    Bumble 0.0.236's controller repeats the advertising data in its scan response, so one
    report may carry each structure twice: names keep the first complete one, lists are
    de-duplicated, data maps keep the last value (as an OS stack merging reports does).
    """
    local_name: str | None = None
    short_name: str | None = None
    manufacturer_data: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    service_uuids: list[str] = []
    tx_power: int | None = None
    for ad_type, data in ad.ad_structures:
        if ad_type == _AD.COMPLETE_LOCAL_NAME and local_name is None:
            local_name = data.decode("utf-8", errors="replace")
        elif ad_type == _AD.SHORTENED_LOCAL_NAME and short_name is None:
            short_name = data.decode("utf-8", errors="replace")
        elif ad_type in _UUID_LISTS:
            size = _UUID_LISTS[ad_type]
            for i in range(0, len(data) - size + 1, size):
                text = _uuid_from_le(data[i : i + size])
                if text not in service_uuids:
                    service_uuids.append(text)
        elif ad_type in _SERVICE_DATA:
            size = _SERVICE_DATA[ad_type]
            if len(data) >= size:
                service_data[_uuid_from_le(data[:size])] = bytes(data[size:])
        elif ad_type == _AD.MANUFACTURER_SPECIFIC_DATA and len(data) >= 2:
            manufacturer_data[struct.unpack_from("<H", data)[0]] = bytes(data[2:])
        elif ad_type == _AD.TX_POWER_LEVEL and len(data) == 1:
            tx_power = struct.unpack("b", data)[0]
    return AdvertisementData(
        local_name=local_name if local_name is not None else short_name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=tx_power,
        rssi=rssi,
        platform_data=(raw,),
    )


class Central:
    """The central host of one radio. Created by the radio, powered on, closed by it."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.mtu_request = 517  # what BlueZ and CoreBluetooth ask for
        self._stale: hci.Address | None = None  # an attempt the controller did not cancel
        self._adopter: asyncio.Future[Connection] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._scanners: set[ScanListener] = set()
        self._scan_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._seen: dict[str, tuple[hci.Address, str | None]] = {}
        self._address_waiters: dict[str, list[asyncio.Future[hci.Address]]] = {}
        self._closed = False
        device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        device.on(Device.EVENT_CONNECTION, self._on_connection)

    # ---- what the central has seen -----------------------------------------------------------

    def known_address(self, address: str) -> hci.Address | None:
        seen = self._seen.get(address.upper())
        return seen[0] if seen else None

    def known_name(self, address: str) -> str | None:
        seen = self._seen.get(address.upper())
        return seen[1] if seen else None

    async def find_address(self, address: str) -> hci.Address | None:
        """Scan until ``address`` advertises (the caller bounds the wait); None if closed."""
        key = address.upper()
        if (known := self.known_address(key)) is not None:
            return known
        waiter: asyncio.Future[hci.Address] = asyncio.get_running_loop().create_future()
        self._address_waiters.setdefault(key, []).append(waiter)
        listener = _NullListener()
        await self.start_scan(listener, active=False)
        try:
            return await waiter
        finally:
            waiters = self._address_waiters.get(key, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._address_waiters.pop(key, None)
            await asyncio.shield(self.stop_scan(listener))

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        address: hci.Address = advertisement.address
        key = address.to_string(with_type_qualifier=False)
        adv = advertisement_data(advertisement.data, advertisement.rssi, advertisement)
        _, old_name = self._seen.get(key, (address, None))
        name = adv.local_name if adv.local_name is not None else old_name
        self._seen[key] = (address, name)
        for waiter in self._address_waiters.pop(key, []):
            if not waiter.done():
                waiter.set_result(address)
        device = BLEDevice(key, name, RadioDeviceDetails(address))
        for scanner in list(self._scanners):
            scanner.on_advertisement(device, key, adv)

    # ---- scanning -----------------------------------------------------------------------------

    async def start_scan(self, scanner: ScanListener, *, active: bool = True) -> None:
        # shielded: a scan cut short (a timeout, the connect gate) must not cut an HCI command in
        # half; Bumble's host then fails the next command it sends ("invalid state")
        await asyncio.shield(self._start_scan(scanner, active=active))

    async def stop_scan(self, scanner: ScanListener) -> None:
        await asyncio.shield(self._stop_scan(scanner))

    async def _start_scan(self, scanner: ScanListener, *, active: bool) -> None:
        async with self._scan_lock:
            first = not self._scanners
            self._scanners.add(scanner)
            if first and not self._closed:
                await self.device.start_scanning(active=active, filter_duplicates=False)

    async def _stop_scan(self, scanner: ScanListener) -> None:
        async with self._scan_lock:
            if scanner not in self._scanners:
                return
            self._scanners.discard(scanner)
            if not self._scanners and self.device.is_scanning and not self._closed:
                await self.device.stop_scanning()

    # ---- connections --------------------------------------------------------------------------

    async def connect(self, address: hci.Address) -> Connection:
        """Create an LE connection. Cancel the caller's task (a timeout) to give up.

        Bumble's own connect timeout waits forever for a cancel confirmation that its
        virtual controller never sends; so the wait is unbounded here, and on cancellation
        the attempt is cancelled at the controller (see ``_cancel``). If the controller kept an
        attempt it was told to cancel, a connect to that same address waits for that attempt
        (the controller takes no other); a connect elsewhere first cancels it again.
        """
        async with self._connect_lock:
            if self._stale is not None:
                if self._stale == address:
                    return await self._adopt(address)
                await self._cancel(self._stale, self.device.find_connection_by_bd_addr(self._stale))
                if self._stale is not None:
                    raise BleakError(
                        f"the Bluetooth controller is still connecting to {self._stale.to_string(False)}: "
                        "it ignored the cancel of that attempt and takes no other connection until that "
                        "device answers or the controller restarts"
                    )
            existing = self.device.find_connection_by_bd_addr(address)  # another client's
            try:
                connection: Connection = await self.device.connect(
                    address, own_address_type=hci.OwnAddressType.RANDOM, timeout=None
                )
                return connection
            except asyncio.CancelledError:
                await self._cancel(address, existing)
                raise

    async def _cancel(self, address: hci.Address, existing: Connection | None) -> None:
        """Cancel the attempt to ``address`` and wait (bounded) for the controller's verdict.

        A controller that honours LE Create Connection Cancel ends the attempt with an LE
        Connection Complete event (Unknown Connection Identifier), or, if the link came up
        first, a successful one: that link nobody will use is dropped. A controller that says
        nothing kept the attempt (Bumble 0.0.236's virtual one): it is remembered as stale.
        ``existing`` is a link to that address made before the attempt: not ours to drop.
        """

        def new_link() -> Connection | None:
            found = self.device.find_connection_by_bd_addr(address)
            return found if found is not existing else None

        verdict: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()

        def on_connection(connection: Connection) -> None:
            ours = (
                connection.role == hci.Role.CENTRAL
                and connection.peer_address == address
                and connection is not existing
            )
            if ours and not verdict.done():
                verdict.set_result(connection)

        def on_failure(_error: Exception) -> None:
            if not verdict.done():
                verdict.set_result(None)

        # A link completing from now on must be registered by the Device (Bumble asserts on a
        # central link it did not ask for), so that it can be dropped.
        self.device.connect_own_address_type = hci.OwnAddressType.RANDOM
        self._stale = None
        self.device.on(Device.EVENT_CONNECTION, on_connection)
        self.device.on(Device.EVENT_CONNECTION_FAILURE, on_failure)
        try:
            try:
                async with asyncio.timeout(_CANCEL_TIMEOUT_S):
                    await self.device.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
            except (TimeoutError, hci.HCI_Error) as exc:
                # Command Disallowed: nothing pending any more (the link came up, or failed).
                logger.debug("cancelling the connection to %s: %s", address, exc)
            # The link may have come up before we listened: then that is the verdict.
            late = new_link()
            try:
                if late is None:
                    async with asyncio.timeout(_CANCEL_TIMEOUT_S):
                        late = await asyncio.shield(verdict)
            except TimeoutError:
                late = new_link()
                if late is None:
                    self._stale = address
                    logger.info(
                        "the controller did not confirm the cancel of the connection to %s; "
                        "treating the attempt as still pending",
                        address,
                    )
        finally:
            self.device.remove_listener(Device.EVENT_CONNECTION, on_connection)
            self.device.remove_listener(Device.EVENT_CONNECTION_FAILURE, on_failure)
            if self._stale is None:
                self.device.connect_own_address_type = None
        if late is not None:  # a link nobody will use: drop it
            await _disconnect_quietly(late)

    async def _adopt(self, address: hci.Address) -> Connection:
        """Wait for the stale attempt to ``address`` to complete, and take its link."""
        adopter: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        self._adopter = adopter
        try:
            return await adopter
        finally:
            self._adopter = None

    def _on_connection(self, connection: Connection) -> None:
        """A link came up: the stale attempt completing? Adopt it or drop it."""
        stale = self._stale
        if stale is None or connection.role != hci.Role.CENTRAL or connection.peer_address != stale:
            return
        self._stale = None
        self.device.connect_own_address_type = None
        if self._adopter is not None and not self._adopter.done():
            self._adopter.set_result(connection)
            return
        logger.info("dropping the link to %s: the controller completed a cancelled attempt", stale)
        task = asyncio.get_running_loop().create_task(
            self._drop(connection), name="treadwalk-radio-drop-stale"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop(self, connection: Connection) -> None:
        async with self._connect_lock:  # no new attempt while the controller still has this link
            await _disconnect_quietly(connection)

    # ---- life cycle -----------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop scanning, drop every link and flush the host (clients see a disconnect)."""
        if self._closed:
            return
        self._closed = True
        self._scanners.clear()
        for waiters in self._address_waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.cancel()
        self._address_waiters.clear()
        self.device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self.device.remove_listener(Device.EVENT_CONNECTION, self._on_connection)
        if self._adopter is not None and not self._adopter.done():
            self._adopter.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2 * _CANCEL_TIMEOUT_S)
        await close_device(self.device)


class _NullListener:
    def on_advertisement(self, device: BLEDevice, key: str, adv: AdvertisementData) -> None:
        pass


async def _disconnect_quietly(connection: Connection) -> None:
    try:
        async with asyncio.timeout(_CANCEL_TIMEOUT_S):
            await connection.disconnect()
    except Exception as exc:  # the link is going away either way
        logger.debug("disconnecting %s: %s", connection, exc)


async def close_device(device: Device) -> None:
    """Stop advertising and scanning, drop every link, power the host off. Never raises."""
    steps: list[Callable[[], Awaitable[Any]]] = []
    if device.is_scanning:
        steps.append(device.stop_scanning)
    if device.legacy_advertiser or device.legacy_advertising_set:
        steps.append(device.stop_advertising)
    steps.extend(s.stop for s in list(device.extended_advertising_sets.values()) if s.enabled)
    for step in steps:
        try:
            async with asyncio.timeout(_CANCEL_TIMEOUT_S):
                await step()
        except Exception as exc:
            logger.debug("closing %s: %s", device, exc)
    for connection in list(device.connections.values()):
        await _disconnect_quietly(connection)
    try:
        async with asyncio.timeout(_CANCEL_TIMEOUT_S):
            await device.power_off()
    except Exception as exc:
        logger.debug("powering off %s: %s", device, exc)
