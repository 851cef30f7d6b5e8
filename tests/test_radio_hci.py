"""The radio on a real HCI transport: a Bumble virtual controller pair in another process.

``python -m bumble.apps.controllers tcp-server:_:P1 tcp-server:_:P2`` links two controllers;
the central (``HciRadio``) talks HCI over TCP to one, the peripheral (``open_hci_device``)
to the other, exactly as ``treadwalk sim --hci`` and ``treadwalk run --hci`` will. Real time:
sockets and a subprocess are involved.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble.device import Connection, Device
from bumble.hci import Address
from radio_peripheral import (
    CONTROL,
    FAILING,
    FAILING_CODE,
    NOTIFY,
    READ,
    READ_VALUE,
    SERVICE,
    SERVICE_DATA,
    Peripheral,
    build_peripheral,
)

from treadwalk.radio import HciRadio, RadioConnectTimeout, RadioDeviceDetails, open_hci_device

NAME = "TW HCI"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    """Whether some socket listens on ``port``, without connecting to it.

    A probe connection would not do: Bumble's tcp-server forgets its client when the probe's
    close arrives, and that may come after our real client connected.
    """
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not any(t.exists() for t in tables):  # not Linux: probe, then let the server see it close
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            return False
        time.sleep(0.5)
        return True
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                return True
    return False


def _wait_listening(port: int, proc: subprocess.Popen[bytes], within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the controllers exited: {proc.stderr.read() if proc.stderr else b''!r}")
        if _listening(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the controllers never listened on {port}")


@pytest.fixture
def controllers() -> Iterator[tuple[str, str]]:
    """Two linked virtual controllers in another process: (central spec, peripheral spec)."""
    ports = _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bumble.apps.controllers", *(f"tcp-server:_:{p}" for p in ports)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for port in ports:
            _wait_listening(port, proc)
        yield f"tcp-client:127.0.0.1:{ports[0]}", f"tcp-client:127.0.0.1:{ports[1]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


async def test_hci_radio_over_a_tcp_virtual_controller_pair(controllers: tuple[str, str]) -> None:
    central_spec, peripheral_spec = controllers
    async with open_hci_device(peripheral_spec, NAME) as device:
        peripheral = await build_peripheral(device, NAME)
        async with HciRadio(central_spec) as radio:
            found = await BleakScanner.find_device_by_name(NAME, timeout=10.0, backend=radio.scanner_backend)
            assert found is not None
            seen = await BleakScanner.discover(timeout=0.5, return_adv=True, backend=radio.scanner_backend)
            assert seen[found.address][1].service_data == {SERVICE: SERVICE_DATA}

            lost = asyncio.Event()
            client = BleakClient(
                found, disconnected_callback=lambda _c: lost.set(), backend=radio.client_backend
            )
            await client.connect()
            try:
                assert client.mtu_size == 517
                assert await client.read_gatt_char(READ) == READ_VALUE
                with pytest.raises(BleakGATTProtocolError) as caught:
                    await client.read_gatt_char(FAILING)
                assert caught.value.code == FAILING_CODE

                data: asyncio.Queue[bytes] = asyncio.Queue()

                def on_value(_c: BleakGATTCharacteristic, value: bytearray) -> None:
                    data.put_nowait(bytes(value))

                await client.start_notify(NOTIFY, on_value)
                await client.start_notify(CONTROL, on_value)
                await device.notify_subscribers(peripheral.notify, b"\x01\x02")
                await client.write_gatt_char(CONTROL, b"\x07", response=True)
                async with asyncio.timeout(5):
                    assert {await data.get(), await data.get()} == {b"\x01\x02", b"\x80\x07\x01"}

                await peripheral.connection.disconnect()  # the peripheral drops the link
                async with asyncio.timeout(5):
                    await lost.wait()
                assert not client.is_connected
            finally:
                with contextlib.suppress(Exception):
                    await client.disconnect()
                await peripheral.release()


# ---- a connect that times out, on a controller that ignores LE Create Connection Cancel ----------
#
# Bumble 0.0.236's controller answers the cancel with success and keeps the attempt: it refuses
# every other connect until the device it was trying to reach advertises, then completes that
# link. The radio must take that link for a connect to the same device, drop it otherwise.

SILENT_TIMEOUT_S = 1.0
# the client's timeout, then up to 1 s for the controller's verdict on the cancel, plus slack
SILENT_BOUND_S = SILENT_TIMEOUT_S + 1.0 + 1.0


async def _seen_then_silent(radio: HciRadio, peripheral: Peripheral) -> BLEDevice:
    found = await BleakScanner.find_device_by_name(NAME, timeout=10.0, backend=radio.scanner_backend)
    assert found is not None
    await peripheral.stop_advertising()
    return found


async def _times_out(radio: HciRadio, device: BLEDevice) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(RadioConnectTimeout):
        await BleakClient(device, timeout=SILENT_TIMEOUT_S, backend=radio.client_backend).connect()
    assert loop.time() - start < SILENT_BOUND_S


async def test_hci_connect_to_a_silent_device_times_out_then_connects_when_it_wakes(
    controllers: tuple[str, str],
) -> None:
    central_spec, peripheral_spec = controllers
    async with open_hci_device(peripheral_spec, NAME) as device:
        peripheral = await build_peripheral(device, NAME)
        try:
            async with HciRadio(central_spec) as radio:
                found = await _seen_then_silent(radio, peripheral)
                await _times_out(radio, found)

                # Retried while the device is still asleep; it wakes up during the attempt.
                client = BleakClient(found, timeout=10.0, backend=radio.client_backend)
                attempt = asyncio.create_task(client.connect())
                await asyncio.sleep(0.3)
                assert not attempt.done()
                await peripheral.advertise()
                async with asyncio.timeout(10):
                    await attempt
                try:
                    assert await client.read_gatt_char(READ) == READ_VALUE
                finally:
                    await client.disconnect()
        finally:
            await peripheral.release()


async def test_hci_a_cancelled_link_completed_later_is_dropped_and_the_radio_connects_again(
    controllers: tuple[str, str],
) -> None:
    central_spec, peripheral_spec = controllers
    async with open_hci_device(peripheral_spec, NAME) as device:
        peripheral = await build_peripheral(device, NAME)
        dropped = asyncio.Event()
        try:
            async with HciRadio(central_spec) as radio:
                found = await _seen_then_silent(radio, peripheral)
                await _times_out(radio, found)

                def on_connection(connection: Connection) -> None:
                    connection.on(Connection.EVENT_DISCONNECTION, lambda _reason: dropped.set())

                device.on(Device.EVENT_CONNECTION, on_connection)
                # The device advertises again with nobody connecting: the controller completes the
                # attempt it kept, and the radio drops that link nobody asked for any more.
                await peripheral.advertise()
                async with asyncio.timeout(10):
                    await dropped.wait()
                assert not radio.central.device.connections

                await peripheral.advertise()  # the test peripheral does not restart by itself
                again = await BleakScanner.find_device_by_name(
                    NAME, timeout=10.0, backend=radio.scanner_backend
                )
                assert again is not None
                async with BleakClient(again, timeout=10.0, backend=radio.client_backend) as client:
                    assert await client.read_gatt_char(READ) == READ_VALUE
        finally:
            await peripheral.release()


async def test_hci_connect_elsewhere_while_the_controller_keeps_an_attempt_fails_fast_and_clearly(
    controllers: tuple[str, str],
) -> None:
    central_spec, peripheral_spec = controllers
    async with open_hci_device(peripheral_spec, NAME) as device:
        peripheral = await build_peripheral(device, NAME)
        try:
            async with HciRadio(central_spec) as radio:
                silent = "D0:7D:00:00:00:77"  # nothing on the link has this address
                # (connect by an address string needs it seen: give it a scan-free BLEDevice)
                ghost = BLEDevice(silent, None, RadioDeviceDetails(Address(silent)))
                await _times_out(radio, ghost)

                found = await BleakScanner.find_device_by_name(
                    NAME, timeout=10.0, backend=radio.scanner_backend
                )
                assert found is not None
                loop = asyncio.get_running_loop()
                start = loop.time()
                with pytest.raises(BleakError, match="still connecting to D0:7D:00:00:00:77"):
                    await BleakClient(found, timeout=10.0, backend=radio.client_backend).connect()
                assert loop.time() - start < 3.0
        finally:
            await peripheral.release()
