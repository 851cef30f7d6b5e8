"""The two radios: an in-process virtual one, and one on any Bumble HCI transport.

- ``VirtualRadio()``: a Bumble ``LocalLink`` with one virtual controller for the central host
  and one per peripheral (``await radio.new_device(name)``). Create it inside the running
  loop, one per test; leaving it closes every host and controller.
  Its controllers behave as real ones where Bumble's do not (``_quiet.QuietController``): the
  central's honours LE Create Connection Cancel (``honour_cancel=False`` to reproduce
  Bumble's, which ignores it), and none warns about packets in flight on a link just closed.
- ``HciRadio(spec)``: the central host on a Bumble transport (``usb:0``,
  ``tcp-client:127.0.0.1:9001``, ``pty:...``); ``open_hci_device(spec, name)`` gives the
  peripheral side of such a transport (``treadwalk sim --hci``), ``open_hci_link`` the same
  with the transport's ``lost`` future. A controller that ignores the cancel of a timed-out
  connect is handled by the central (see ``_central``).
- A transport whose far end goes away (a tcp controller stopped, a dongle pulled) completes
  ``HciRadio.lost`` / ``HciLink.lost``: the commands end on it instead of waiting for ever.

Both expose ``client_backend`` / ``scanner_backend``: bleak backend classes bound to the
radio, for ``BleakClient(..., backend=radio.client_backend)`` and ``BleakScanner``.

Imports bleak and Bumble.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from bumble import hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Device, DeviceConfiguration
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink, Transport

from ._central import Central, close_device
from ._quiet import QuietController, QuietHost
from .backend import BumbleClient, BumbleScanner

__all__ = ["HciLink", "HciRadio", "VirtualRadio", "open_hci_device", "open_hci_link"]

logger = logging.getLogger(__name__)

CENTRAL_ADDRESS = "C0:7D:00:00:00:01"  # static random addresses (two top bits set)
_PERIPHERAL_ADDRESS = "D0:7D:00:00:00:{:02X}"


def _device(name: str, address: str, host: Host) -> Device:
    """A Bumble Device whose default advertising data carries its own name (not "Bumble")."""
    config = DeviceConfiguration(
        name=name,
        address=hci.Address(address),
        advertising_data=bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, no BR/EDR
                    (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
                ]
            )
        ),
    )
    return Device(config=config, host=host)


class _Radio:
    """What both radios share: a central host and the backend classes bound to it."""

    def __init__(self) -> None:
        self._central: Central | None = None
        self._client_backend: type[BumbleClient] | None = None
        self._scanner_backend: type[BumbleScanner] | None = None

    @property
    def central(self) -> Central:
        if self._central is None:
            raise RuntimeError(f"{type(self).__name__} is not open: use 'async with'")
        return self._central

    @property
    def client_backend(self) -> type[BumbleClient]:
        """A ``BaseBleakClient`` class bound to this radio, for ``BleakClient(backend=...)``."""
        if self._client_backend is None:
            raise RuntimeError(f"{type(self).__name__} is not open: use 'async with'")
        return self._client_backend

    @property
    def scanner_backend(self) -> type[BumbleScanner]:
        """A ``BaseBleakScanner`` class bound to this radio, for ``BleakScanner(backend=...)``."""
        if self._scanner_backend is None:
            raise RuntimeError(f"{type(self).__name__} is not open: use 'async with'")
        return self._scanner_backend

    def _unbind(self) -> None:
        self._central = None
        self._client_backend = None
        self._scanner_backend = None

    def _bind(self, central: Central) -> None:
        self._central = central
        kind = type(self).__name__
        self._client_backend = type(f"{kind}Client", (BumbleClient,), {"central": central})
        self._scanner_backend = type(f"{kind}Scanner", (BumbleScanner,), {"central": central})


class VirtualRadio(_Radio):
    """An in-process radio: a LocalLink shared by virtual controllers. One per test."""

    def __init__(self, *, honour_cancel: bool = True) -> None:
        """``honour_cancel=False``: the central's controller ignores LE Create Connection Cancel,
        as Bumble 0.0.236's does (what ``HciRadio`` meets over ``bumble.apps.controllers``)."""
        super().__init__()
        self._honour_cancel = honour_cancel
        self._link: LocalLink | None = None
        self._controllers: list[Controller] = []
        self._devices: list[Device] = []
        self._numbers = itertools.count(1)
        self._central_controller: QuietController | None = None

    async def __aenter__(self) -> Self:
        if self._link is not None:
            raise RuntimeError("a VirtualRadio is not re-entrant")
        self._link = LocalLink()  # type: ignore[no-untyped-call]
        try:
            device, controller = await self._new_host("treadwalk", CENTRAL_ADDRESS)
            controller.honours_cancel = self._honour_cancel
            self._central_controller = controller
            self._bind(Central(device))
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def new_device(self, name: str, address: str | None = None) -> Device:
        """A powered-on Bumble Device on this radio's link: a peripheral's host.

        Build its GATT server and start advertising; the radio closes it on exit.
        """
        if self._link is None:
            raise RuntimeError("VirtualRadio is not open: use 'async with'")
        address = address or _PERIPHERAL_ADDRESS.format(next(self._numbers))
        device, _ = await self._new_host(name, address)
        return device

    async def _new_host(self, name: str, address: str) -> tuple[Device, QuietController]:
        assert self._link is not None
        controller = QuietController(f"{name}-controller", link=self._link)
        self._controllers.append(controller)
        device = _device(name, address, QuietHost(controller, AsyncPipeSink(controller)))
        self._devices.append(device)
        await device.power_on()
        return device, controller

    async def _close(self) -> None:
        if self._central is not None:
            await self._central.close()
        for device in self._devices:
            if device is not (self._central.device if self._central else None):
                await close_device(device)
        for controller in self._controllers:
            controller.le_legacy_advertiser.stop()
            for advertising_set in controller.advertising_sets.values():
                advertising_set.stop()
            if self._link is not None and controller in self._link.controllers:
                self._link.remove_controller(controller)
        self._controllers.clear()
        self._devices.clear()
        self._link = None
        self._unbind()


def _lost(transport: Transport) -> asyncio.Future[None]:
    """Done when the transport's source ends (its far end went away); never, if it cannot say."""
    terminated = getattr(transport.source, "terminated", None)
    if isinstance(terminated, asyncio.Future):
        return terminated
    return asyncio.get_running_loop().create_future()


class HciRadio(_Radio):
    """The central host on a Bumble HCI transport: a USB dongle, a tcp/pty virtual controller."""

    def __init__(self, spec: str, *, address: str = CENTRAL_ADDRESS) -> None:
        super().__init__()
        self.spec = spec
        self._address = address
        self._transport: Transport | None = None
        self._lost: asyncio.Future[None] | None = None

    @property
    def lost(self) -> asyncio.Future[None]:
        """Done when the transport closed under us (the controller went away)."""
        if self._lost is None:
            raise RuntimeError("the HciRadio is not open")
        return self._lost

    async def __aenter__(self) -> Self:
        if self._transport is not None:
            raise RuntimeError("an HciRadio is not re-entrant")
        self._transport = await open_transport(self.spec)
        self._lost = _lost(self._transport)
        try:
            host = QuietHost(controller_source=self._transport.source, controller_sink=self._transport.sink)
            device = _device("treadwalk", self._address, host)
            await device.power_on()
            self._bind(Central(device))
        except BaseException:
            await self._transport.close()
            self._transport = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._central is not None:
                await self._central.close()
        finally:
            if self._transport is not None:
                await self._transport.close()
            self._transport = None
            self._unbind()


@dataclass(frozen=True, slots=True)
class HciLink:
    """The peripheral side of an HCI transport: the device, and ``lost`` (done when the
    transport closed under it)."""

    device: Device
    lost: asyncio.Future[None]


@asynccontextmanager
async def open_hci_link(spec: str, name: str, address: str | None = None) -> AsyncIterator[HciLink]:
    """A powered-on Bumble Device on the HCI transport ``spec`` (the peripheral side)."""
    transport = await open_transport(spec)
    try:
        host = QuietHost(controller_source=transport.source, controller_sink=transport.sink)
        device = _device(name, address or _PERIPHERAL_ADDRESS.format(1), host)
        await device.power_on()
        try:
            yield HciLink(device, _lost(transport))
        finally:
            await close_device(device)
    finally:
        await transport.close()


@asynccontextmanager
async def open_hci_device(spec: str, name: str, address: str | None = None) -> AsyncIterator[Device]:
    """A powered-on Bumble Device on the HCI transport ``spec`` (the peripheral side)."""
    async with open_hci_link(spec, name, address) as link:
        yield link.device
