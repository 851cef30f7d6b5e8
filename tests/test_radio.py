"""The radio end to end: bleak's public API over our backend to a real Bumble GATT server.

Every test runs bleak exactly as user code would (``BleakScanner.discover``,
``find_device_by_name``, ``BleakClient(..., backend=...)``), through the in-process virtual
radio, in virtual time: timeouts and advertising intervals cost no real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator

import bleak
import pytest
from bleak import BleakClient, BleakScanner
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak_retry_connector import establish_connection
from bumble import hci
from radio_peripheral import (
    BOTH,
    CONTROL,
    CUSTOM_SERVICE,
    FAILING,
    FAILING_CODE,
    HANGING,
    MANUFACTURER_DATA,
    MANUFACTURER_ID,
    NOTIFY,
    READ,
    READ_VALUE,
    SERVICE,
    SERVICE_DATA,
    TX_POWER,
    WRITE_NR,
    Peripheral,
    build_peripheral,
)

from treadwalk.radio import BumbleClient, BumbleScanner, RadioConnectTimeout, RadioDeviceDetails, VirtualRadio

pytestmark = pytest.mark.virtual_time

NAME = "TW Test"
CCCD = "00002902-0000-1000-8000-00805f9b34fb"


@pytest.fixture
async def radio() -> AsyncIterator[VirtualRadio]:
    async with VirtualRadio() as radio:
        yield radio


@pytest.fixture
async def peripheral(radio: VirtualRadio) -> Peripheral:
    return await build_peripheral(await radio.new_device(NAME), NAME)


async def find(radio: VirtualRadio, name: str = NAME) -> BLEDevice:
    device = await BleakScanner.find_device_by_name(name, timeout=5.0, backend=radio.scanner_backend)
    assert device is not None, f"{name} was not found"
    return device


class Received:
    """A notify callback that lets a test wait for the n-th value."""

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self._changed = asyncio.Event()

    def __call__(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        assert isinstance(data, bytearray)
        self.values.append(bytes(data))
        self._changed.set()

    async def wait_for(self, count: int) -> list[bytes]:
        async with asyncio.timeout(5.0):
            while len(self.values) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.values


# ---- scanning -------------------------------------------------------------------------------


async def test_discover_builds_advertisement_data_from_the_ad_structures(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    found = await BleakScanner.discover(timeout=1.0, return_adv=True, backend=radio.scanner_backend)
    address = peripheral.device.random_address.to_string(with_type_qualifier=False)
    device, adv = found[address]
    assert device.name == NAME
    assert isinstance(device.details, RadioDeviceDetails)
    assert device.details.address == peripheral.device.random_address
    assert adv.local_name == NAME
    # Bumble's controller repeats the advertising data in the scan response: no doubles here.
    assert adv.service_uuids == [SERVICE]
    assert adv.service_data == {SERVICE: SERVICE_DATA}
    assert adv.manufacturer_data == {MANUFACTURER_ID: MANUFACTURER_DATA}
    assert adv.tx_power == TX_POWER
    assert adv.rssi == -50  # fixed by Bumble's virtual controller


async def test_find_by_name_and_service_filter(radio: VirtualRadio, peripheral: Peripheral) -> None:
    other = await radio.new_device("Other")
    await other.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    device = await find(radio)
    assert device.address == peripheral.device.random_address.to_string(with_type_qualifier=False)

    filtered = await BleakScanner.discover(
        timeout=1.0, service_uuids=[SERVICE], backend=radio.scanner_backend
    )
    assert [d.name for d in filtered] == [NAME]
    everything = await BleakScanner.discover(timeout=1.0, backend=radio.scanner_backend)
    assert sorted(str(d.name) for d in everything) == ["Other", NAME]


async def test_scanner_detection_callback_and_context_manager(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    seen: asyncio.Queue[tuple[BLEDevice, AdvertisementData]] = asyncio.Queue()
    async with BleakScanner(lambda d, a: seen.put_nowait((d, a)), backend=radio.scanner_backend) as scanner:
        async with asyncio.timeout(5):
            device, adv = await seen.get()
        assert device.name == NAME
        assert scanner.backend_id == "VirtualRadioScanner"
    assert adv.local_name == NAME
    assert not radio.central.device.is_scanning  # the last scanner stopped the scan


# ---- connecting -----------------------------------------------------------------------------


async def test_connect_discovers_services_characteristics_and_descriptors(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        assert client.is_connected
        assert client.name == NAME
        service = client.services.get_service(SERVICE)
        assert service is not None
        assert client.services.get_service(CUSTOM_SERVICE) is not None
        props = {c.uuid: c.properties for c in service.characteristics}
        assert props[NOTIFY] == ["read", "notify"]
        assert props[CONTROL] == ["write", "indicate"]
        assert props[WRITE_NR] == ["write-without-response"]
        assert props[BOTH] == ["notify", "indicate"]
        control = client.services.get_characteristic(CONTROL)
        assert control is not None
        assert control.service_uuid == SERVICE
        cccd = control.get_descriptor(CCCD)
        assert cccd is not None
        assert client.services.get_descriptor(cccd.handle) is cccd
        assert await client.read_gatt_descriptor(cccd.handle) == b"\x00\x00"
    assert not client.is_connected


async def test_mtu_is_exchanged_on_connect(radio: VirtualRadio, peripheral: Peripheral) -> None:
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        assert client.mtu_size == 517
        assert peripheral.connection.att_mtu == 517
        char = client.services.get_characteristic(WRITE_NR)
        assert char is not None
        assert char.max_write_without_response_size == 514


async def test_mtu_is_what_the_peripheral_allows(radio: VirtualRadio) -> None:
    device = await radio.new_device(NAME)
    device.gatt_server.max_mtu = 23  # a machine that never raises its MTU
    await build_peripheral(device, NAME)
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        assert client.mtu_size == 23
        assert await client.read_gatt_char(READ) == READ_VALUE  # a long read, in blobs


async def test_connect_by_address_string_scans_for_it(radio: VirtualRadio, peripheral: Peripheral) -> None:
    address = peripheral.device.random_address.to_string(with_type_qualifier=False)
    async with BleakClient(address, backend=radio.client_backend, timeout=5.0) as client:
        assert client.is_connected
        assert client.address == address


async def test_unknown_address_is_not_found_within_the_timeout(radio: VirtualRadio) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    client = BleakClient("D0:7D:00:00:00:99", backend=radio.client_backend, timeout=3.0)
    with pytest.raises(BleakDeviceNotFoundError) as caught:
        await client.connect()
    assert caught.value.identifier == "D0:7D:00:00:00:99"
    assert loop.time() - start == pytest.approx(3.0, abs=0.1)  # virtual seconds
    assert not radio.central.device.is_scanning


async def test_connect_to_a_silent_device_times_out_and_leaves_nothing_pending(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    device = await find(radio)
    await peripheral.stop_advertising()  # seen, but gone now

    client = BleakClient(device, backend=radio.client_backend, timeout=2.0)
    with pytest.raises(RadioConnectTimeout) as caught:
        await client.connect()
    assert isinstance(caught.value, BleakError)
    assert isinstance(caught.value, TimeoutError)
    assert not client.is_connected
    assert radio.central.device.is_le_connecting is False
    assert radio._central_controller is not None
    assert radio._central_controller.pending_le_connection is None

    # The controller accepts a new connection attempt: the device is back.
    await peripheral.advertise()
    async with BleakClient(device, backend=radio.client_backend, timeout=2.0) as again:
        assert await again.read_gatt_char(READ) == READ_VALUE


# A controller that ignores LE Create Connection Cancel (Bumble 0.0.236's: what HciRadio meets over
# bumble.apps.controllers, see test_radio_hci.py) keeps the attempt: the radio adopts or drops it.


@pytest.fixture
async def deaf_radio() -> AsyncIterator[VirtualRadio]:
    async with VirtualRadio(honour_cancel=False) as radio:
        yield radio


async def _seen_then_silent(radio: VirtualRadio) -> tuple[Peripheral, BLEDevice]:
    peripheral = await build_peripheral(await radio.new_device(NAME), NAME)
    device = await find(radio)
    await peripheral.stop_advertising()
    with pytest.raises(RadioConnectTimeout):
        await BleakClient(device, backend=radio.client_backend, timeout=2.0).connect()
    return peripheral, device


async def test_a_kept_attempt_is_taken_by_the_next_connect_to_that_device(deaf_radio: VirtualRadio) -> None:
    peripheral, device = await _seen_then_silent(deaf_radio)
    assert deaf_radio._central_controller is not None
    assert deaf_radio._central_controller.pending_le_connection is not None  # the cancel was ignored

    client = BleakClient(device, backend=deaf_radio.client_backend, timeout=10.0)
    attempt = asyncio.create_task(client.connect(), name="reconnect")
    await asyncio.sleep(3.0)
    assert not attempt.done()
    await peripheral.advertise()  # the device wakes up during the attempt
    await attempt
    try:
        assert await client.read_gatt_char(READ) == READ_VALUE
    finally:
        await client.disconnect()


async def test_a_kept_attempt_completing_with_nobody_waiting_is_dropped(deaf_radio: VirtualRadio) -> None:
    peripheral, _ = await _seen_then_silent(deaf_radio)
    gone = asyncio.Event()
    peripheral.device.on("connection", lambda c: c.on("disconnection", lambda _r: gone.set()))
    await peripheral.advertise()
    async with asyncio.timeout(5):
        await gone.wait()
    assert not deaf_radio.central.device.connections
    await peripheral.advertise()
    async with BleakClient(await find(deaf_radio), backend=deaf_radio.client_backend, timeout=5.0) as client:
        assert await client.read_gatt_char(READ) == READ_VALUE


async def test_a_kept_attempt_makes_a_connect_elsewhere_fail_at_once_and_say_why(
    deaf_radio: VirtualRadio,
) -> None:
    await _seen_then_silent(deaf_radio)
    other = await build_peripheral(await deaf_radio.new_device("Other"), "Other")
    device = await find(deaf_radio, "Other")
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(BleakError, match="still connecting to D0:7D:00:00:00:01"):
        await BleakClient(device, backend=deaf_radio.client_backend, timeout=10.0).connect()
    assert loop.time() - start < 2.0
    await other.release()


async def test_establish_connection_from_bleak_retry_connector(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    device = await find(radio)
    client = await establish_connection(
        BleakClient, device, NAME, max_attempts=1, backend=radio.client_backend
    )
    try:
        assert client.is_connected
        assert await client.read_gatt_char(READ) == READ_VALUE
    finally:
        await client.disconnect()


async def test_two_clients_to_two_peripherals(radio: VirtualRadio) -> None:
    first = await build_peripheral(await radio.new_device("One"), "One")
    second = await build_peripheral(await radio.new_device("Two"), "Two")
    async with (
        BleakClient(await find(radio, "One"), backend=radio.client_backend) as one,
        BleakClient(await find(radio, "Two"), backend=radio.client_backend) as two,
    ):
        await one.write_gatt_char(WRITE_NR, b"1", response=False)
        await two.write_gatt_char(WRITE_NR, b"2", response=False)
        await one.read_gatt_char(READ)  # a round trip: the commands before it have arrived
        await two.read_gatt_char(READ)
    assert first.writes == [("write_nr", b"1")]
    assert second.writes == [("write_nr", b"2")]


# ---- reading and writing ------------------------------------------------------------------


async def test_read_and_write_both_ways(radio: VirtualRadio, peripheral: Peripheral) -> None:
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        assert await client.read_gatt_char(READ) == READ_VALUE
        assert await client.read_gatt_char(READ, use_cached=True) == READ_VALUE
        await client.write_gatt_char(WRITE_NR, b"\x01\x02", response=False)
        control = Received()
        await client.start_notify(CONTROL, control)
        await client.write_gatt_char(CONTROL, b"\x00", response=True)  # answered by the server
        assert peripheral.writes == [("write_nr", b"\x01\x02"), ("control", b"\x00")]
        await control.wait_for(1)  # the control point's indication


async def test_att_error_arrives_as_bleak_protocol_error_with_its_code(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        with pytest.raises(BleakGATTProtocolError) as read_error:
            await client.read_gatt_char(FAILING)
        assert read_error.value.code == FAILING_CODE
        # FTMS: writing the control point before enabling its indications answers 0xFD.
        with pytest.raises(BleakGATTProtocolError) as write_error:
            await client.write_gatt_char(CONTROL, b"\x00", response=True)
        assert write_error.value.code == 0xFD
        assert peripheral.writes == []
        assert client.is_connected  # an ATT error is not a disconnect


# ---- notifications and indications ------------------------------------------------------------


async def test_notifications_and_indications_reach_start_notify(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        data, control = Received(), Received()
        await client.start_notify(NOTIFY, data)
        await client.start_notify(CONTROL, control)
        assert peripheral.cccd[peripheral.notify] == (True, False)
        assert peripheral.cccd[peripheral.control] == (False, True)

        await peripheral.device.notify_subscribers(peripheral.notify, b"\x01\x02")
        # indicate_subscribers returns only once the client confirmed the indication
        async with asyncio.timeout(5):
            await peripheral.device.indicate_subscribers(peripheral.control, b"\x80\x00\x01")
        assert await data.wait_for(1) == [b"\x01\x02"]
        assert await control.wait_for(1) == [b"\x80\x00\x01"]

        # The control point answers a write with an indication: the FTMS round trip.
        await client.write_gatt_char(CONTROL, b"\x07", response=True)
        assert await control.wait_for(2) == [b"\x80\x00\x01", b"\x80\x07\x01"]


async def test_notify_preferred_and_indications_still_delivered(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        got = Received()
        await client.start_notify(BOTH, got)
        assert peripheral.cccd[peripheral.both] == (True, False)  # bleak: notify preferred
        await peripheral.device.notify_subscribers(peripheral.both, b"n")
        # A peripheral that indicates anyway (force: the CCCD says notify) still gets through.
        async with asyncio.timeout(5):
            await peripheral.device.indicate_subscriber(
                peripheral.connection, peripheral.both, b"i", force=True
            )
        assert await got.wait_for(2) == [b"n", b"i"]


async def test_stop_notify_writes_the_cccd_and_stops_the_callback(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        got = Received()
        await client.start_notify(NOTIFY, got)
        await peripheral.device.notify_subscribers(peripheral.notify, b"\x01")
        await got.wait_for(1)
        await client.stop_notify(NOTIFY)
        assert peripheral.cccd[peripheral.notify] == (False, False)
        # Sent anyway (force): it must reach nobody and break nothing.
        await peripheral.device.notify_subscriber(
            peripheral.connection, peripheral.notify, b"\x02", force=True
        )
        assert await client.read_gatt_char(READ) == READ_VALUE  # a round trip later
        assert got.values == [b"\x01"]


async def test_unsolicited_notification_before_subscription_is_harmless(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        await peripheral.device.notify_subscriber(
            peripheral.connection, peripheral.notify, b"\x09", force=True
        )
        async with asyncio.timeout(5):
            await peripheral.device.indicate_subscriber(
                peripheral.connection, peripheral.control, b"\x09", force=True
            )
        got = Received()
        await client.start_notify(NOTIFY, got)
        await peripheral.device.notify_subscribers(peripheral.notify, b"\x01")
        assert await got.wait_for(1) == [b"\x01"]
        assert client.is_connected


async def test_a_failing_callback_does_not_stop_delivery(radio: VirtualRadio, peripheral: Peripheral) -> None:
    got = Received()

    def flaky(char: BleakGATTCharacteristic, data: bytearray) -> None:
        got(char, data)
        if data == b"\x01":
            raise RuntimeError("observer bug")

    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        await client.start_notify(CONTROL, flaky)
        async with asyncio.timeout(5):
            await peripheral.device.indicate_subscribers(peripheral.control, b"\x01")  # still confirmed
        await peripheral.device.indicate_subscribers(peripheral.control, b"\x02")
        assert await got.wait_for(2) == [b"\x01", b"\x02"]


async def test_async_notify_callback(radio: VirtualRadio, peripheral: Peripheral) -> None:
    got: asyncio.Queue[bytes] = asyncio.Queue()

    async def callback(_char: BleakGATTCharacteristic, data: bytearray) -> None:
        await got.put(bytes(data))

    async with BleakClient(await find(radio), backend=radio.client_backend) as client:
        await client.start_notify(NOTIFY, callback)
        await peripheral.device.notify_subscribers(peripheral.notify, b"\x05")
        async with asyncio.timeout(5):
            assert await got.get() == b"\x05"


# ---- disconnects -----------------------------------------------------------------------------


async def test_peripheral_side_disconnect_fires_the_disconnected_callback(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    lost = asyncio.Event()
    client = BleakClient(
        await find(radio), disconnected_callback=lambda _c: lost.set(), backend=radio.client_backend
    )
    await client.connect()
    await peripheral.connection.disconnect()
    async with asyncio.timeout(5):
        await lost.wait()
    assert not client.is_connected
    with pytest.raises(BleakError):
        await client.read_gatt_char(READ)
    await client.disconnect()  # harmless when already gone


async def test_a_request_cut_by_a_disconnect_raises_bleak_error(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    lost = asyncio.Event()
    client = BleakClient(
        await find(radio), disconnected_callback=lambda _c: lost.set(), backend=radio.client_backend
    )
    await client.connect()
    pending = asyncio.create_task(client.read_gatt_char(HANGING), name="hanging-read")
    await asyncio.sleep(0.1)
    assert not pending.done()
    await peripheral.connection.disconnect()
    with pytest.raises(BleakError, match="disconnected"):
        await pending
    assert lost.is_set()
    await peripheral.release()


async def test_own_disconnect_fires_the_callback_once_like_an_os_stack(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    calls: list[BleakClient] = []
    client = BleakClient(await find(radio), disconnected_callback=calls.append, backend=radio.client_backend)
    await client.connect()
    gone = asyncio.Event()
    peripheral.connection.on("disconnection", lambda _reason: gone.set())
    await client.disconnect()
    assert calls == [client]
    assert not client.is_connected
    async with asyncio.timeout(5):
        await gone.wait()  # the peripheral saw the link go


async def test_reconnect_after_the_peripheral_dropped_the_link(
    radio: VirtualRadio, peripheral: Peripheral
) -> None:
    lost = asyncio.Event()
    device = await find(radio)
    client = BleakClient(device, disconnected_callback=lambda _c: lost.set(), backend=radio.client_backend)
    await client.connect()
    await client.start_notify(NOTIFY, Received())
    await peripheral.connection.disconnect()
    async with asyncio.timeout(5):
        await lost.wait()
    await peripheral.advertise()
    await client.connect()  # the same client, again
    try:
        got = Received()
        await client.start_notify(NOTIFY, got)
        await peripheral.device.notify_subscribers(peripheral.notify, b"\x03")
        assert await got.wait_for(1) == [b"\x03"]
    finally:
        await client.disconnect()


@pytest.mark.parametrize("turns", range(4))
@pytest.mark.parametrize("sender", ["peripheral", "central"])
async def test_packets_in_flight_when_the_link_closes_are_dropped_without_a_warning(
    radio: VirtualRadio, peripheral: Peripheral, caplog: pytest.LogCaptureFixture, sender: str, turns: int
) -> None:
    """A notification (or a write) crossing the disconnect is normal: no WARNING, as on air.

    Bumble's controller forgets a link the moment it closes it: a packet the peer sent a moment
    before arrived for "no connection" (``treadwalk run --sim`` printed that at its end)."""
    client = BleakClient(await find(radio), backend=radio.client_backend)
    await client.connect()
    await client.start_notify(NOTIFY, Received())
    with caplog.at_level(logging.WARNING, logger="bumble"):
        closing = asyncio.create_task(client.disconnect(), name="disconnect")
        for _ in range(turns):
            await asyncio.sleep(0)
        if sender == "peripheral":
            await peripheral.device.notify_subscriber(peripheral.connection, peripheral.notify, b"\x01")
        else:
            with contextlib.suppress(BleakError):
                await client.write_gatt_char(WRITE_NR, b"\x01", response=False)
        await closing
        await asyncio.sleep(0.1)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_data_for_a_link_never_known_still_warns(caplog: pytest.LogCaptureFixture) -> None:
    from treadwalk.radio._quiet import QuietController

    controller = QuietController("lone")
    with caplog.at_level(logging.WARNING, logger="bumble"):
        controller.on_hci_acl_data_packet(hci.HCI_AclDataPacket(0x0042, 0, 0, 1, b"\x00"))
    assert "no connection for handle 0x0042" in caplog.text


async def test_leaving_the_radio_disconnects_its_clients() -> None:
    lost = asyncio.Event()
    async with VirtualRadio() as radio:
        await build_peripheral(await radio.new_device(NAME), NAME)
        client = BleakClient(
            await find(radio), disconnected_callback=lambda _c: lost.set(), backend=radio.client_backend
        )
        await client.connect()
    assert lost.is_set()
    assert not client.is_connected
    with pytest.raises(RuntimeError, match="not open"):
        _ = radio.client_backend


# ---- the bleak API this backend relies on (fails loudly on a bleak upgrade) --------------------


def test_canary_bleak_backend_interface() -> None:
    assert bleak.__name__ == "bleak"
    abstract_client = {
        n for n, v in vars(BaseBleakClient).items() if getattr(v, "__isabstractmethod__", False)
    }
    assert abstract_client == {
        "mtu_size",
        "connect",
        "disconnect",
        "pair",
        "unpair",
        "is_connected",
        "read_gatt_char",
        "read_gatt_descriptor",
        "write_gatt_char",
        "write_gatt_descriptor",
        "start_notify",
        "stop_notify",
    }
    assert not BumbleClient.__abstractmethods__
    abstract_scanner = {
        n for n, v in vars(BaseBleakScanner).items() if getattr(v, "__isabstractmethod__", False)
    }
    assert abstract_scanner == {"start", "stop"}
    assert not BumbleScanner.__abstractmethods__
    # How the facade builds a backend: positional/keyword names it passes.
    client_init = inspect.signature(BleakClient.__init__).parameters
    assert {"backend", "timeout", "disconnected_callback", "services"} <= set(client_init)
    scanner_init = inspect.signature(BaseBleakScanner.__init__).parameters
    assert list(scanner_init)[1:] == ["detection_callback", "service_uuids"]
    assert list(inspect.signature(BleakGATTCharacteristic.__init__).parameters)[1:] == [
        "obj",
        "handle",
        "uuid",
        "properties",
        "max_write_without_response_size",
        "service",
    ]
    assert set(AdvertisementData._fields) == {
        "local_name",
        "manufacturer_data",
        "service_data",
        "service_uuids",
        "tx_power",
        "rssi",
        "platform_data",
    }
    assert CHARACTERISTIC_PROPERTIES[0x20] == "indicate"
    assert BleakGATTProtocolError(0xFD).code == 0xFD
    assert BleakDeviceNotFoundError("x").identifier == "x"
    assert hci.HCI_LE_Create_Connection_Cancel_Command is not None


def test_canary_quiet_host_and_controller_dispatch_like_bumble() -> None:
    """The overrides in radio/_quiet.py copy Bumble's dispatch: fail if Bumble's changes."""
    import re

    from bumble.controller import Controller
    from bumble.host import Host

    from treadwalk.radio._quiet import QuietController, QuietHost

    def cases(fn: object) -> list[str]:
        return re.findall(r"case (hci\.\w+)\(\)", inspect.getsource(fn))  # type: ignore[arg-type]

    assert cases(QuietHost.on_hci_packet) == cases(Host.on_hci_packet)
    assert cases(QuietController.on_hci_packet) == cases(Controller.on_hci_packet)
    assert "call_soon(self.host.on_packet, bytes(packet))" in inspect.getsource(Controller.send_hci_packet)
    assert "self.hci_sink.on_packet(bytes(packet))" in inspect.getsource(Host.send_hci_packet)
