"""The virtual treadmill in strict spec mode (REFERENCE §1.7/§1.9), driven by a real BleakClient
over the in-process radio. Every rule has its own test; values are checked as wire bytes."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from bleak.exc import BleakGATTProtocolError
from sim_wire import open_probe, open_sim

from treadwalk.ftms import (
    CONTROL_POINT_UUID,
    DEVICE_INFORMATION_SERVICE_UUID,
    FEATURE_UUID,
    INCLINE_RANGE_UUID,
    MANUFACTURER_NAME_UUID,
    SPEED_RANGE_UUID,
    TRAINING_STATUS_UUID,
    decode_features,
    decode_treadmill_data,
)

pytestmark = pytest.mark.virtual_time


def speed_hex(kmh: float) -> str:
    return "02" + round(kmh * 100).to_bytes(2, "little").hex()


def incline_hex(pct: float) -> str:
    return "03" + round(pct * 10).to_bytes(2, "little", signed=True).hex()


async def test_gatt_layout_ranges_features_and_device_information() -> None:
    async with open_sim(subscribe=False) as w:
        services = {s.uuid for s in w.client.services}
        assert DEVICE_INFORMATION_SERVICE_UUID in services
        cp = w.client.services.get_characteristic(CONTROL_POINT_UUID)
        assert cp is not None
        assert set(cp.properties) == {"write", "indicate"}
        assert bytes(await w.client.read_gatt_char(SPEED_RANGE_UUID)).hex() == "3200b0040a00"  # 0.5-12.0/0.1
        assert bytes(await w.client.read_gatt_char(INCLINE_RANGE_UUID)).hex() == "000078000500"
        features = decode_features(await w.client.read_gatt_char(FEATURE_UUID))
        assert {"total_distance", "inclination", "expended_energy", "elapsed_time"} <= set(features.features)
        assert {"speed_target", "inclination_target"} <= set(features.targets)
        assert bytes(await w.client.read_gatt_char(TRAINING_STATUS_UUID)).hex() == "0001"  # idle
        assert bytes(await w.client.read_gatt_char(MANUFACTURER_NAME_UUID)) == b"treadwalk"


async def test_request_control_start_speed_and_bounded_acceleration() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("07") == "800701"
        assert await w.cp(speed_hex(5.0)) == "800201"
        t0 = w.clock.now()
        await asyncio.sleep(8.0)
        records = [
            (t, decode_treadmill_data(bytes.fromhex(h))) for t, s, h in w.log if s == "2acd" and t > t0
        ]
        speeds = [(t, r.speed_kmh) for t, r in records if r.speed_kmh is not None]
        assert speeds[-1][1] == pytest.approx(5.0)
        for (ta, va), (tb, vb) in itertools.pairwise(speeds):
            assert vb - va <= 1.0 * (tb - ta) + 0.011  # accel 1.0 km/h/s (0.01 wire resolution)
        # distance accumulates from the actual belt speed, not the target
        last = records[-1][1]
        assert last.distance_m is not None
        assert 0 < last.distance_m < 5.0 / 3.6 * 8.0
        assert last.elapsed_s is not None
        assert last.elapsed_s >= 7


async def test_control_must_be_requested_first() -> None:
    async with open_sim() as w:
        assert await w.cp("07") == "800705"
        assert not w.sim.running


async def test_control_point_refuses_writes_while_indications_are_off() -> None:
    async with open_sim(subscribe=False) as w:
        with pytest.raises(BleakGATTProtocolError) as err:
            await w.client.write_gatt_char(CONTROL_POINT_UUID, b"\x00", response=True)
        assert err.value.code == 0xFD
        assert not w.sim.has_control


async def test_write_while_a_procedure_is_unconfirmed_gets_0xfe() -> None:
    async with open_sim() as w:
        # The second write goes out as soon as the first one's write response is in: its
        # indication is not confirmed yet.
        await w.client.write_gatt_char(CONTROL_POINT_UUID, b"\x00", response=True)
        with pytest.raises(BleakGATTProtocolError) as err:
            await w.client.write_gatt_char(CONTROL_POINT_UUID, b"\x07", response=True)
        assert err.value.code == 0xFE
        await asyncio.sleep(0.2)
        assert w.frames("2ad9") == ["800001"]
        assert not w.sim.running  # discarded, not queued
        assert await w.cp("07") == "800701"  # fine once the first procedure is complete


async def test_out_of_range_unsupported_and_malformed() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        assert await w.cp(speed_hex(20.0)) == "800203"
        assert await w.cp(incline_hex(-3.0)) == "800303"
        assert await w.cp("04" + "0a") == "800402"  # resistance: not a treadmill op
        assert await w.cp("15") == "801502"  # RFU
        assert await w.cp("02ff") == "800203"  # short parameter
        assert await w.cp("0803") == "800803"  # neither stop nor pause


async def test_start_while_running_and_stop_while_stopped_fail() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("0801") == "800804"
        assert await w.cp("07") == "800701"
        assert await w.cp("07") == "800704"
        assert w.sim.start_count == 1


async def test_reset_removes_control() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("01") == "800101"
        assert not w.sim.has_control
        assert await w.cp("07") == "800705"


async def test_indication_follows_the_write_response() -> None:
    async with open_sim() as w:
        before = len(w.frames("2ad9"))
        await w.client.write_gatt_char(CONTROL_POINT_UUID, b"\x00", response=True)
        assert len(w.frames("2ad9")) == before  # the write response came first
        assert await w.wait_for("2ad9", before + 1)


async def test_the_belt_never_starts_by_itself() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        assert await w.cp(speed_hex(6.0)) == "800201"  # remembered for the next start
        await asyncio.sleep(30.0)
        assert not w.sim.running
        assert w.sim.belt_speed_kmh == 0.0
        assert all(decode_treadmill_data(bytes.fromhex(h)).speed_kmh == 0 for h in w.frames("2acd"))


async def test_pause_resume_and_stop_with_training_status() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("07") == "800701"
        await asyncio.sleep(3.0)
        assert await w.cp("0802") == "800801"
        assert w.sim.paused
        await asyncio.sleep(3.0)
        elapsed = w.sim.elapsed_s
        assert w.sim.belt_speed_kmh == 0.0
        await asyncio.sleep(5.0)
        assert w.sim.elapsed_s == elapsed  # time fields stop while paused
        assert await w.cp("07") == "800701"
        assert await w.cp("0801") == "800801"
        await asyncio.sleep(0.5)
        assert w.frames("2ad3") == ["000d", "000f"]  # manual mode, post-workout
        assert w.frames("2ada") == []  # a client's own changes are not echoed to it
        assert w.sim.stop_count == 1


async def test_status_goes_to_the_other_clients_and_console_changes_to_all() -> None:
    async with open_sim(max_connections=2) as w, open_probe(w) as other:
        assert await w.cp("00") == "800001"
        assert await w.cp("07") == "800701"
        assert await w.cp(speed_hex(4.1)) == "800201"
        await asyncio.sleep(0.5)
        assert other.frames("2ada") == ["04", "059a01"]
        assert w.frames("2ada") == []
        w.sim.console_set_speed(5.0)
        w.sim.press_pause()
        w.sim.press_start()
        w.sim.press_stop()
        await asyncio.sleep(0.5)
        console = ["05f401", "0202", "04", "0201"]
        assert w.frames("2ada") == console
        assert other.frames("2ada")[2:] == console


async def test_safety_key_stops_the_belt_fast_and_blocks_start() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("07") == "800701"
        assert await w.cp(speed_hex(6.0)) == "800201"
        await asyncio.sleep(8.0)
        w.sim.pull_safety_key()
        await asyncio.sleep(1.5)
        assert w.sim.belt_speed_kmh == 0.0  # 6 km/h gone in 1.5 s (normal decel takes 4 s)
        assert "03" in w.frames("2ada")
        assert await w.cp("07") == "800704"


async def test_revoke_control_sends_0xff_to_the_controller() -> None:
    async with open_sim() as w:
        assert await w.cp("00") == "800001"
        w.sim.revoke_control()
        await asyncio.sleep(0.2)
        assert w.frames("2ada") == ["ff"]
        assert await w.cp("07") == "800705"


async def test_timed_console_stop_and_control_lost_faults() -> None:
    # control_lost@T and console_stop@T: what the BlueZ tier drives from outside the sim's process
    async with open_sim(faults=["control_lost@3s", "console_stop@6s"]) as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("07") == "800701"
        assert await w.cp(speed_hex(4.0)) == "800201"
        await asyncio.sleep(2.5)
        assert w.frames("2ada")[-1:] != ["ff"]
        await asyncio.sleep(1.0)
        assert w.frames("2ada")[-1] == "ff"
        assert w.sim.controller is None
        assert w.sim.belt_speed_kmh > 0  # losing control does not stop the belt
        await asyncio.sleep(8.0)
        assert w.sim.belt_speed_kmh == 0.0
        assert w.frames("2ada")[-1] == "0201"  # stopped by the walker on the console


async def test_another_client_taking_control_sends_0xff() -> None:
    async with open_sim(max_connections=2) as w, open_probe(w) as other:
        assert await w.cp("00") == "800001"
        cp = other.peer.get_characteristics_by_uuid(w.sim._cp_char.uuid)[0]
        await cp.write_value(b"\x00", with_response=True)
        await asyncio.sleep(0.2)
        assert other.frames("2ad9") == ["800001"]
        assert w.frames("2ada") == ["ff"]


async def test_advertises_ftms_treadmill_and_comes_back_after_a_disconnect() -> None:
    from bleak import BleakScanner

    async with open_sim(subscribe=False) as w:
        await w.client.disconnect()
        await asyncio.sleep(0.5)
        found = await BleakScanner.find_device_by_name(
            "treadwalk-sim", timeout=5.0, backend=w.radio.scanner_backend
        )
        assert found is not None
        seen = await BleakScanner.discover(timeout=1.0, return_adv=True, backend=w.radio.scanner_backend)
        _, adv = seen[found.address]
        assert adv.service_data["00001826-0000-1000-8000-00805f9b34fb"] == b"\x01\x01\x00"
