"""Conformance: pyftms 0.4.15, a client this project did not write, drives the sim unmodified.

pyftms cannot take a bleak backend: ``get_client(..., backend=...)`` and
``discover_ftms_devices(backend=...)`` wrap the keyword into ``kwargs={...}`` and bleak never
sees it (there is no environment switch either). So discovery is bleak's scanner on the radio
plus pyftms's own ``get_machine_type_from_service_data``, and the connection is a
``BleakClient`` on the radio handed to the machine, followed by exactly what pyftms's
``FitnessMachine._connect`` does after ``establish_connection`` (read device info and features,
subscribe). Every command, callback and decoder after that is pyftms's own, unpatched.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pyftms
import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from pyftms.client.properties import read_device_info, read_features

from treadwalk.core.clock import LoopClock
from treadwalk.ftms import DEVICE_INFORMATION_SERVICE_UUID, FTMS_SERVICE_UUID
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill

pytestmark = pytest.mark.virtual_time


async def connect(machine: pyftms.FitnessMachine, device: BLEDevice, backend: Any) -> None:
    """pyftms's ``_connect`` with the radio's BleakClient in place of ``establish_connection``."""
    cli = BleakClient(
        device,
        disconnected_callback=machine._on_disconnect,
        services=[FTMS_SERVICE_UUID, DEVICE_INFORMATION_SERVICE_UUID],
        backend=backend,
    )
    await cli.connect()
    machine._cli = cli
    machine.need_connect = True
    machine._device_info = await read_device_info(cli)
    machine._m_features, machine._m_settings, machine._settings_ranges = await read_features(
        cli, machine.machine_type
    )
    await machine._controller.subscribe(cli)
    await machine._updater.subscribe(cli, machine._data_uuid)


async def test_pyftms_drives_the_sim() -> None:
    events: list[Any] = []
    async with VirtualRadio() as radio:
        device = await radio.new_device("treadwalk-sim")
        async with VirtualTreadmill(device, LoopClock(), max_connections=2) as sim:
            found: dict[str, tuple[BLEDevice, pyftms.MachineType]] = {}
            scanning = BleakScanner(service_uuids=[FTMS_SERVICE_UUID], backend=radio.scanner_backend)
            async with scanning as scanner, asyncio.timeout(5.0):
                async for dev, adv in scanner.advertisement_data():
                    found[dev.address] = (dev, pyftms.get_machine_type_from_service_data(adv))
                    break
            [(ble_device, machine_type)] = found.values()
            assert machine_type == pyftms.MachineType.TREADMILL

            machine = pyftms.get_client(ble_device, machine_type, on_ftms_event=events.append)
            assert isinstance(machine, pyftms.Treadmill)
            await connect(machine, ble_device, radio.client_backend)
            try:
                assert machine.device_info["manufacturer"] == "treadwalk"
                speed = machine.supported_ranges["target_speed"]
                assert (speed.min_value, speed.max_value, speed.step) == (0.5, 12.0, 0.1)
                incline = machine.supported_ranges["target_inclination"]
                assert (incline.min_value, incline.max_value, incline.step) == (0.0, 12.0, 0.5)

                ok = pyftms.ResultCode.SUCCESS
                assert await machine.start_resume() == ok
                assert await machine.set_target_speed(5.0) == ok
                assert await machine.set_target_inclination(2.0) == ok
                await asyncio.sleep(2.0)
                assert 1.5 < machine.speed_instant < 3.5  # still accelerating at 1 km/h/s
                await asyncio.sleep(6.0)
                assert machine.speed_instant == pytest.approx(5.0)
                assert machine.inclination == pytest.approx(2.0)
                assert machine.distance_total > 0
                assert machine.time_elapsed >= 7

                assert await machine.pause() == ok
                await asyncio.sleep(5.0)
                assert machine.speed_instant == 0
                assert await machine.start_resume() == ok
                assert await machine.stop() == ok
                await asyncio.sleep(5.0)
                assert machine.speed_instant == 0
                assert sim.stop_count == 1

                sim.press_start()  # the walker's own buttons, seen as pyftms status events
                await asyncio.sleep(0.5)
                sim.press_stop()
                await asyncio.sleep(0.5)
            finally:
                await machine.disconnect()
    controls = [(e.event_id, e.event_source) for e in events if e.event_id in ("start", "stop", "pause")]
    assert controls == [
        ("start", "callback"),
        ("pause", "callback"),
        ("start", "callback"),
        ("stop", "callback"),
        ("start", "user"),
        ("stop", "user"),
    ]
    setups = [e.event_data for e in events if e.event_id == "setup"]
    assert {"target_speed": 5.0} in setups
    assert {"target_inclination": 2.0} in setups
    statuses = [
        e.event_data["training_status"]
        for e in events
        if e.event_id == "update" and "training_status" in e.event_data
    ]
    code = pyftms.TrainingStatusCode
    assert statuses[:3] == [code.IDLE, code.MANUAL_MODE, code.POST_WORKOUT]
