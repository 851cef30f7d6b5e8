"""Helpers for the virtual-treadmill tests (not a test module): a sim on a VirtualRadio and a
real ``BleakClient`` on the radio's backend, with everything the client receives logged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic

from treadwalk.core.clock import LoopClock
from treadwalk.ftms import (
    CONTROL_POINT_UUID,
    MACHINE_STATUS_UUID,
    TRAINING_STATUS_UUID,
    TREADMILL_DATA_UUID,
    uuids,
)
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.testing import virtual_rig

NAME = "treadwalk-sim"


@dataclass
class Wire:
    sim: VirtualTreadmill
    client: BleakClient
    radio: VirtualRadio
    clock: LoopClock
    log: list[tuple[float, str, str]] = field(default_factory=list)  # (t, "2acd", hex)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)

    def on(self, uuid: str) -> Any:
        short = uuids.short(uuid)

        def callback(_c: BleakGATTCharacteristic, data: bytearray) -> None:
            self.log.append((self.clock.now(), short, bytes(data).hex()))
            self.arrived.set()

        return callback

    async def subscribe(self, *which: str) -> None:
        for u in which or (
            TREADMILL_DATA_UUID,
            TRAINING_STATUS_UUID,
            MACHINE_STATUS_UUID,
            CONTROL_POINT_UUID,
        ):
            await self.client.start_notify(u, self.on(u))

    def frames(self, short: str) -> list[str]:
        return [h for _, s, h in self.log if s == short]

    async def wait_for(self, short: str, count: int, within_s: float = 2.0) -> bool:
        """Wait until ``count`` frames of ``short`` have arrived (False after ``within_s``)."""
        try:
            async with asyncio.timeout(within_s):
                while len(self.frames(short)) < count:
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            return False
        return True

    async def cp(self, hex_request: str, *, within_s: float = 2.0, response: bool = True) -> str | None:
        """Write to the control point; the response frame that follows, or None."""
        before = len(self.frames("2ad9"))
        await self.client.write_gatt_char(CONTROL_POINT_UUID, bytes.fromhex(hex_request), response=response)
        if not await self.wait_for("2ad9", before + 1, within_s):
            return None
        return self.frames("2ad9")[before]

    async def settle(self, seconds: float = 0.2) -> None:
        await asyncio.sleep(seconds)


@asynccontextmanager
async def open_sim(subscribe: bool = True, **kwargs: Any) -> AsyncIterator[Wire]:
    """A sim (kwargs go to VirtualTreadmill) and a connected bleak client, on a fresh radio."""
    clock = LoopClock()
    kwargs.setdefault("name", NAME)
    async with virtual_rig(clock, **kwargs) as rig:
        radio = rig.radio
        found = await BleakScanner.find_device_by_name(
            kwargs["name"], timeout=5.0, backend=radio.scanner_backend
        )
        assert found is not None, "the sim did not advertise"
        lost = asyncio.Event()
        async with BleakClient(
            found, disconnected_callback=lambda _c: lost.set(), backend=radio.client_backend, timeout=5.0
        ) as client:
            wire = Wire(rig.machine, client, radio, clock, disconnected=lost)
            if subscribe:
                await wire.subscribe()
            yield wire


@dataclass
class Probe:
    """A second client: a plain Bumble central on the same radio, logging every value by UUID."""

    peer: Any
    log: list[tuple[str, str, str]] = field(default_factory=list)  # ("2ad9", hex, "notification")

    def frames(self, short: str, kind: str | None = None) -> list[str]:
        return [h for s, h, k in self.log if s == short and kind in (None, k)]


@asynccontextmanager
async def open_probe(wire: Wire, *, raw: bool = False) -> AsyncIterator[Probe]:
    """Connect a Bumble central to the sim and subscribe to everything. ``raw``: write no CCCD,
    just listen on the sim's value handles (to see notifications a peripheral sends unasked)."""
    from bumble.device import Peer

    device = await wire.radio.new_device("probe")
    connection = await device.connect(wire.sim.device.random_address, timeout=5.0)
    peer = Peer(connection)
    probe = Probe(peer)

    def listener(short: str, kind: str) -> Any:
        return lambda value: probe.log.append((short, bytes(value).hex(), kind))

    if not raw:
        await peer.discover_services()
        for service in peer.services:
            await service.discover_characteristics()
        for char in [c for s in peer.services for c in s.characteristics]:
            if char.properties & 0x30:  # notify or indicate
                await peer.subscribe(char, prefer_notify=True)
    # Listen on every value handle, keeping notifications and indications apart.
    client = connection.gatt_client
    for short, handle in wire.sim.handles.items():
        client.notification_subscribers[handle] = {listener(short, "notification")}
        client.indication_subscribers[handle] = {listener(short, "indication")}
    try:
        yield probe
    finally:
        if connection in device.connections.values():
            await connection.disconnect()
