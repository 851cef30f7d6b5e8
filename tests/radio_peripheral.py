"""A small Bumble GATT peripheral for the radio tests (not a test module).

It has one of everything the radio must carry: a notify characteristic, a control point
(write + indicate, answering ATT error 0xFD while its indications are off, like FTMS), a
write-without-response characteristic, a readable one, one whose read fails with an
application error, and one whose read never answers (to cut with a disconnect).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bumble import att
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

SERVICE = "0000feed-0000-1000-8000-00805f9b34fb"
CUSTOM_SERVICE = "3f1e0001-8c4b-4d5a-9a63-2d8c1b7e5a10"
NOTIFY = "0000f001-0000-1000-8000-00805f9b34fb"
CONTROL = "0000f002-0000-1000-8000-00805f9b34fb"
WRITE_NR = "0000f003-0000-1000-8000-00805f9b34fb"
READ = "0000f004-0000-1000-8000-00805f9b34fb"
FAILING = "0000f005-0000-1000-8000-00805f9b34fb"
HANGING = "3f1e0002-8c4b-4d5a-9a63-2d8c1b7e5a10"
BOTH = "0000f006-0000-1000-8000-00805f9b34fb"

READ_VALUE = bytes(range(40))  # longer than the default MTU allows in one read
FAILING_CODE = 0x80
SERVICE_DATA = bytes([0x01, 0x01, 0x00])
MANUFACTURER_ID = 0x0D4B
MANUFACTURER_DATA = b"\x10\x20"
TX_POWER = -4

P = Characteristic.Properties


@dataclass
class Peripheral:
    device: Device
    name: str
    notify: Characteristic[bytes]
    control: Characteristic[bytes]
    both: Characteristic[bytes]
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    indications_on: bool = False
    connections: list[Connection] = field(default_factory=list)
    cccd: dict[Characteristic[bytes], tuple[bool, bool]] = field(default_factory=dict)
    hang: asyncio.Future[bytes] | None = None  # what the hanging read waits for
    # Indications in flight: Bumble waits up to 30 s for a confirmation that a dropped link never
    # brings, so release() cancels them.
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def release(self) -> None:
        """Let the hanging read (if any) finish, so the server's task ends."""
        if self.hang is not None and not self.hang.done():
            self.hang.set_result(b"")
        for task in self.tasks:
            task.cancel()
        for _ in range(5):
            await asyncio.sleep(0)

    @property
    def connection(self) -> Connection:
        return self.connections[-1]

    def advertising_data(self) -> bytes:
        fields = [
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
            (
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                UUID.from_16_bits(0xFEED).to_bytes(),
            ),
            (AdvertisingData.SERVICE_DATA_16_BIT_UUID, UUID.from_16_bits(0xFEED).to_bytes() + SERVICE_DATA),
            (
                AdvertisingData.MANUFACTURER_SPECIFIC_DATA,
                MANUFACTURER_ID.to_bytes(2, "little") + MANUFACTURER_DATA,
            ),
            (AdvertisingData.TX_POWER_LEVEL, TX_POWER.to_bytes(1, "little", signed=True)),
        ]
        return bytes(AdvertisingData(fields))

    async def advertise(self) -> None:
        await self.device.start_advertising(
            advertising_data=self.advertising_data(),
            advertising_interval_min=20,
            advertising_interval_max=20,
            auto_restart=False,
        )

    async def stop_advertising(self) -> None:
        await self.device.stop_advertising()


async def build_peripheral(device: Device, name: str, *, advertise: bool = True) -> Peripheral:
    """Give ``device`` the test GATT server (and start advertising it)."""
    hang: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def fail(_connection: Connection) -> bytes:
        raise att.ATT_Error(FAILING_CODE)

    async def never(_connection: Connection) -> bytes:
        return await asyncio.shield(hang)

    def on_control(_connection: Connection, value: bytes) -> None:
        if not peripheral.indications_on:
            raise att.ATT_Error(0xFD)  # FTMS: Client Characteristic Configuration improperly configured
        peripheral.writes.append(("control", bytes(value)))
        peripheral.tasks.add(
            asyncio.get_running_loop().create_task(
                device.indicate_subscribers(control, b"\x80" + bytes(value[:1]) + b"\x01"),
                name="test-peripheral-indicate",
            )
        )

    notify = Characteristic(NOTIFY, P.NOTIFY | P.READ, Characteristic.READABLE, b"\x00")
    control = Characteristic(
        CONTROL, P.WRITE | P.INDICATE, Characteristic.WRITEABLE, CharacteristicValue(write=on_control)
    )
    write_nr = Characteristic(
        WRITE_NR,
        P.WRITE_WITHOUT_RESPONSE,
        Characteristic.WRITEABLE,
        CharacteristicValue(write=lambda _c, v: peripheral.writes.append(("write_nr", bytes(v)))),
    )
    read = Characteristic(READ, P.READ, Characteristic.READABLE, READ_VALUE)
    failing = Characteristic(FAILING, P.READ, Characteristic.READABLE, CharacteristicValue(read=fail))
    both = Characteristic(BOTH, P.NOTIFY | P.INDICATE, Characteristic.READABLE, b"")
    hanging = Characteristic(HANGING, P.READ, Characteristic.READABLE, CharacteristicValue(read=never))
    device.add_services(
        [
            Service(SERVICE, [notify, control, write_nr, read, failing, both]),
            Service(CUSTOM_SERVICE, [hanging]),
        ]
    )
    peripheral = Peripheral(device, name, notify, control, both, hang=hang)

    def on_subscription(
        _connection: Connection, characteristic: Characteristic[bytes], n: bool, i: bool
    ) -> None:
        peripheral.cccd[characteristic] = (n, i)
        if characteristic is control:
            peripheral.indications_on = i

    device.on("characteristic_subscription", on_subscription)
    device.on("connection", peripheral.connections.append)
    if advertise:
        await peripheral.advertise()
    return peripheral
