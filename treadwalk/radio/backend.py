"""bleak's backend interface (``BaseBleakClient``, ``BaseBleakScanner``) on a Bumble central.

``BumbleClient`` and ``BumbleScanner`` are never used directly: a radio hands out subclasses
bound to its ``Central`` (``radio.client_backend``, ``radio.scanner_backend``), which bleak's
facade instantiates (``BleakClient(device, backend=radio.client_backend)``).

Behaviour follows the OS stacks, not Bumble's own client:

- connect = LE connection + ATT MTU exchange (517 asked, as BlueZ/CoreBluetooth) + full
  discovery (services, characteristics, descriptors), all bounded by the client's timeout;
  a device never seen raises ``BleakDeviceNotFoundError``, a silent one
  ``RadioConnectTimeout`` (a ``BleakError`` and a ``TimeoutError``), after the timeout plus
  at most 1 s for the controller to confirm the cancel (see ``_central``).
- one notify callback per characteristic receives notifications *and* indications (Bumble
  keeps the two apart, an OS stack does not); indications are confirmed after the callback.
- ATT error responses raise ``BleakGATTProtocolError`` with the ATT code; an operation cut by a
  dropped link raises ``BleakError``; the disconnected callback fires on every disconnect
  after a connect (as BlueZ and CoreBluetooth do), including ``disconnect()``.

Imports bleak and Bumble.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.device import Connection, Peer
from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR

from ._central import Central, RadioDeviceDetails, bleak_uuid, bumble_uuid

__all__ = ["BumbleClient", "BumbleScanner", "RadioConnectTimeout"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_CCCD_UUID = bleak_uuid(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR)


class RadioConnectTimeout(BleakError, TimeoutError):
    """The peripheral did not answer the connection (or its discovery) in time.

    Both a ``BleakError`` and a ``TimeoutError``, so code written for any OS backend (BlueZ
    and CoreBluetooth raise ``TimeoutError``, bleak-retry-connector catches both) handles it.
    """


class BumbleClient(BaseBleakClient):
    """A bleak client on the Bumble central of a radio (use ``radio.client_backend``)."""

    central: ClassVar[Central]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._device_name: str | None = None
        self._peer_address: hci.Address | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            self._device_name = address_or_ble_device.name
            if isinstance(address_or_ble_device.details, RadioDeviceDetails):
                self._peer_address = address_or_ble_device.details.address
        self._wanted_services = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._mtu = att.ATT_DEFAULT_MTU
        self._subscribed: set[int] = set()

    # ---- identity -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._device_name or self.central.known_name(self.address) or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._mtu

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # ---- connection ---------------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if pair:
            logger.info("the treadwalk radio does not pair; connecting without pairing")
        if self._connection is not None:
            return
        timeout = float(kwargs.get("timeout", self._timeout))
        deadline = asyncio.get_running_loop().time() + timeout
        address = self._peer_address
        if address is None:
            # An address string the central has not seen: scan for it, like an OS stack.
            try:
                async with asyncio.timeout_at(deadline):
                    address = await self.central.find_address(self.address)
            except TimeoutError:
                address = None
            if address is None:
                raise BleakDeviceNotFoundError(
                    self.address, f"Device with address {self.address} was not found."
                )
        connection: Connection | None = None
        try:
            async with asyncio.timeout_at(deadline):
                connection = await self.central.connect(address)
                connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
                self._connection = connection
                self._peer = Peer(connection)
                self._mtu = await self._peer.request_mtu(self.central.mtu_request)
                self.services = await self._discover(self._peer)
        except TimeoutError as exc:
            await self._abandon(connection)
            raise RadioConnectTimeout(
                f"{self.address} did not answer within {timeout:g} s; "
                "check that it is powered, advertising and in range"
            ) from exc
        except asyncio.CancelledError:
            await asyncio.shield(self._abandon(connection))
            task = asyncio.current_task()
            if connection is not None and (task is None or task.cancelling() == 0):
                # Bumble cancels a pending request when the link drops mid-discovery.
                raise BleakError(f"{self.address} disconnected during connection") from None
            raise
        except BleakError:
            await self._abandon(connection)
            raise
        except (core.BaseBumbleError, att.ATT_Error) as exc:
            await self._abandon(connection)
            raise _translate(exc) from exc

    async def _abandon(self, connection: Connection | None) -> None:
        """Undo a half-made connection (no disconnected callback: we never were connected)."""
        self._reset()
        if connection is not None:
            connection.remove_listener(Connection.EVENT_DISCONNECTION, self._on_disconnection)
            if connection.handle in connection.device.connections:
                try:
                    async with asyncio.timeout(1.0):
                        await connection.disconnect()
                except Exception as exc:
                    logger.debug("dropping a half-made link to %s: %s", self.address, exc)

    def _reset(self) -> None:
        self._connection = None
        self._peer = None
        self.services = None
        self._subscribed.clear()
        self._mtu = att.ATT_DEFAULT_MTU

    def _on_disconnection(self, reason: int) -> None:
        logger.debug("%s disconnected (reason 0x%02X)", self.address, reason)
        was_connected = self.services is not None
        self._reset()
        if was_connected and self._disconnected_callback is not None:
            try:
                self._disconnected_callback()
            except Exception:
                logger.exception("the disconnected callback of %s failed", self.address)

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            await connection.disconnect()
        except (core.BaseBumbleError, hci.HCI_Error) as exc:
            logger.debug("disconnecting %s: %s", self.address, exc)
            if self._connection is connection:
                self._on_disconnection(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the treadwalk radio does not pair (FTMS needs no pairing)")

    async def unpair(self) -> None:
        raise NotImplementedError("the treadwalk radio does not pair (FTMS needs no pairing)")

    # ---- discovery ----------------------------------------------------------------------------

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        uuids = [bumble_uuid(u) for u in self._wanted_services] if self._wanted_services else []
        await peer.discover_services(uuids)
        collection = BleakGATTServiceCollection()
        for service_proxy in peer.services:
            await peer.discover_characteristics(service=service_proxy)
            service = BleakGATTService(service_proxy, service_proxy.handle, bleak_uuid(service_proxy.uuid))
            collection.add_service(service)
            for char_proxy in service_proxy.characteristics:
                await peer.discover_descriptors(characteristic=char_proxy)
                props = int(char_proxy.properties)
                names: list[CharacteristicPropertyName] = [
                    name for bit, name in CHARACTERISTIC_PROPERTIES.items() if props & bit
                ]
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    bleak_uuid(char_proxy.uuid),
                    names,
                    lambda: self._mtu - 3,
                    service,
                )
                collection.add_characteristic(characteristic)
                for desc_proxy in char_proxy.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            desc_proxy, desc_proxy.handle, bleak_uuid(desc_proxy.type), characteristic
                        )
                    )
        return collection

    # ---- I/O ----------------------------------------------------------------------------------

    async def _gatt(self, operation: Callable[[Peer], Awaitable[_T]]) -> _T:
        """Run one GATT operation, translating Bumble's failures into bleak's."""
        peer = self._peer
        if peer is None:
            raise BleakError("Not connected")
        try:
            return await operation(peer)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._peer is not peer and (task is None or task.cancelling() == 0):
                # Bumble cancels a pending request when the link drops: that is not our
                # task being cancelled, it is a disconnect.
                raise BleakError(f"{self.address} disconnected") from None
            raise
        except (core.BaseBumbleError, att.ATT_Error) as exc:
            raise _translate(exc) from exc

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(characteristic.handle, use_cached)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return await self._read(descriptor.handle, use_cached)

    async def _read(self, handle: int, use_cached: bool) -> bytearray:
        if use_cached and self._peer is not None:
            cached = self._peer.gatt_client.cached_values.get(handle)
            if cached is not None:
                return bytearray(cached[1])
        value: bytes = await self._gatt(lambda peer: peer.read_value(handle))
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        value = bytes(data)
        await self._gatt(lambda peer: peer.write_value(characteristic.handle, value, with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        value = bytes(data)
        await self._gatt(lambda peer: peer.write_value(descriptor.handle, value, with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        props = characteristic.properties
        if "notify" in props:
            bits = 0x0001  # notifications preferred when both are offered, as bleak asks
        elif "indicate" in props:
            bits = 0x0002
        else:
            raise BleakError(f"Characteristic {characteristic.uuid} does not support notify or indicate")
        cccd = characteristic.get_descriptor(_CCCD_UUID)
        if cccd is None:
            raise BleakError(f"Characteristic {characteristic.uuid} has no CCCD")
        peer = self._peer
        if peer is None:
            raise BleakError("Not connected")

        handle = characteristic.handle
        where = f"the notify callback of {characteristic.uuid}"

        def deliver(value: bytes) -> None:
            try:
                callback(bytearray(value))
            except Exception:
                logger.exception("%s failed", where)

        # Both maps: the value reaches the callback whichever way the peripheral sends it.
        client = peer.gatt_client
        client.notification_subscribers[handle] = {deliver}
        client.indication_subscribers[handle] = {deliver}
        self._subscribed.add(handle)
        try:
            await self._gatt(
                lambda p: p.write_value(cccd.handle, struct.pack("<H", bits), with_response=True)
            )
        except BaseException:
            self._forget_subscription(handle)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        cccd = characteristic.get_descriptor(_CCCD_UUID)
        if cccd is None:
            raise BleakError(f"Characteristic {characteristic.uuid} has no CCCD")
        self._forget_subscription(characteristic.handle)
        await self._gatt(lambda p: p.write_value(cccd.handle, b"\x00\x00", with_response=True))

    def _forget_subscription(self, handle: int) -> None:
        self._subscribed.discard(handle)
        if self._peer is not None:
            self._peer.gatt_client.notification_subscribers.pop(handle, None)
            self._peer.gatt_client.indication_subscribers.pop(handle, None)


def _translate(exc: BaseException) -> BleakError:
    if isinstance(exc, att.ATT_Error):
        return BleakGATTProtocolError(exc.error_code)
    if isinstance(exc, core.TimeoutError):
        return BleakError(f"GATT request timed out: {exc}")
    return BleakError(str(exc) or type(exc).__name__)


class BumbleScanner(BaseBleakScanner):
    """A bleak scanner on the Bumble central of a radio (use ``radio.scanner_backend``)."""

    central: ClassVar[Central]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._active = scanning_mode != "passive"

    async def start(self) -> None:
        self.seen_devices = {}
        await self.central.start_scan(self, active=self._active)

    async def stop(self) -> None:
        await self.central.stop_scan(self)

    def on_advertisement(self, device: BLEDevice, key: str, adv: AdvertisementData) -> None:
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        seen = self.create_or_update_device(key, device.address, device.name, device.details, adv)
        self.call_detection_callbacks(seen, adv)
