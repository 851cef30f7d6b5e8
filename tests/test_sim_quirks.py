"""Every quirk and fault of the virtual treadmill, seen on the wire (bleak over the radio, or a
plain Bumble central where bleak cannot tell the difference)."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakScanner
from sim_wire import Wire, open_probe, open_sim

from treadwalk.core.units import mph_to_kmh
from treadwalk.ftms import CONTROL_POINT_UUID, SPEED_RANGE_UUID, decode_treadmill_data
from treadwalk.sim import PRESETS

pytestmark = pytest.mark.virtual_time


async def start_walking(w: Wire, kmh_hex: str = "02f401") -> None:
    await w.cp("00")
    await w.cp("07")
    await w.cp(kmh_hex)


async def test_step_count_bit13() -> None:
    async with open_sim(quirks="step_count_bit13") as w:
        await start_walking(w)
        await asyncio.sleep(10.0)
        last = bytes.fromhex(w.frames("2acd")[-1])
        assert int.from_bytes(last[:2], "little") & 0x2000
        record = decode_treadmill_data(last)
        assert record.steps is not None
        assert record.steps > 5
    async with open_sim() as w:  # strict: no RFU bit
        await start_walking(w)
        await asyncio.sleep(3.0)
        assert not int.from_bytes(bytes.fromhex(w.frames("2acd")[-1])[:2], "little") & 0x2000


async def test_responses_as_notifications() -> None:
    async with open_sim(quirks="responses_as_notifications", max_connections=2) as w, open_probe(w) as p:
        cp = w.client.services.get_characteristic(CONTROL_POINT_UUID)
        assert cp is not None
        assert set(cp.properties) == {"indicate", "write-without-response"}
        assert await w.cp("00") == "800001"  # bleak's callback gets it either way
        cp_proxy = p.peer.get_characteristics_by_uuid(w.sim._cp_char.uuid)[0]
        await cp_proxy.write_value(b"\x00", with_response=True)
        await asyncio.sleep(0.2)
        assert p.frames("2ad9", "notification") == ["800001"]
        assert p.frames("2ad9", "indication") == []


async def test_strict_responses_are_indications() -> None:
    async with open_sim(max_connections=2) as w, open_probe(w) as p:
        cp_proxy = p.peer.get_characteristics_by_uuid(w.sim._cp_char.uuid)[0]
        await cp_proxy.write_value(b"\x00", with_response=True)
        await asyncio.sleep(0.2)
        assert p.frames("2ad9", "indication") == ["800001"]


async def test_padded_status() -> None:
    async with open_sim(quirks="padded_status") as w:
        w.sim.press_start()
        w.sim.press_stop()
        await asyncio.sleep(0.3)
        assert w.frames("2ada") == ["040000", "020100"]


async def test_no_control_enforcement() -> None:
    async with open_sim(quirks="no_control_enforcement") as w:
        assert await w.cp("07") == "800701"  # before any Request Control
        assert await w.cp("07") == "800701"  # a repeated start is not refused
        assert w.sim.running


async def test_echo_status() -> None:
    async with open_sim(quirks="echo_status") as w:
        await start_walking(w, "029600")
        await asyncio.sleep(0.3)
        assert w.frames("2ada") == ["04", "059600"]


async def test_reserved_training_status() -> None:
    async with open_sim(quirks="reserved_training_status") as w:
        await start_walking(w)
        await w.cp("0801")
        await asyncio.sleep(0.3)
        assert w.frames("2ad3") == ["0010", "0011"]


async def test_mph_ranges() -> None:
    grid = (mph_to_kmh(0.6), mph_to_kmh(4.0), mph_to_kmh(0.2))
    async with open_sim(quirks="mph_ranges", speed=grid) as w:
        assert bytes(await w.client.read_gatt_char(SPEED_RANGE_UUID)).hex() == "600083022000"  # UREVO E1L
        await start_walking(w, "029001")  # 4.00 km/h
        assert w.sim.target_speed_kmh == pytest.approx(mph_to_kmh(2.4), abs=1e-3)  # its 0.2 mph grid
    async with open_sim(speed=grid) as w:
        assert bytes(await w.client.read_gatt_char(SPEED_RANGE_UUID)).hex() == "610084022000"  # rounded


async def test_multi_packet_mtu23() -> None:
    async with open_sim(quirks="multi_packet_mtu23,step_count_bit13") as w:
        await start_walking(w)
        await asyncio.sleep(3.0)
        frames = [bytes.fromhex(h) for h in w.frames("2acd")[-6:]]
        assert all(len(f) <= 20 for f in frames)
        more = [f[0] & 1 for f in frames]
        assert 1 in more
        assert 0 in more
        last_part = next(f for f in reversed(frames) if not f[0] & 1)
        assert decode_treadmill_data(last_part).speed_kmh is not None  # speed only in the last part
    async with open_sim(quirks="step_count_bit13") as w:  # the radio's MTU fits a whole record
        await start_walking(w)
        await asyncio.sleep(1.0)
        assert all(not bytes.fromhex(h)[0] & 1 for h in w.frames("2acd"))


async def test_notify_before_subscribe() -> None:
    quirky = open_sim(quirks="notify_before_subscribe", subscribe=False, max_connections=2)
    async with quirky as w, open_probe(w, raw=True) as p:
        await asyncio.sleep(1.0)
        assert p.frames("2acd", "notification")  # no CCCD was ever written
        assert p.frames("2ad3", "notification") == ["0001"]
    async with open_sim(subscribe=False, max_connections=2) as w, open_probe(w, raw=True) as p:
        await asyncio.sleep(1.0)
        assert p.log == []


async def test_no_response() -> None:
    async with open_sim(quirks="no_response") as w:
        assert await w.cp("00", within_s=2.0) is None
        assert await w.cp("07", within_s=2.0) is None
        await asyncio.sleep(2.0)
        assert w.sim.running  # the state shows only in 2ACD
        assert decode_treadmill_data(bytes.fromhex(w.frames("2acd")[-1])).speed_kmh


async def test_presets_are_sets_of_quirks() -> None:
    async with open_sim(quirks="urevo") as w:
        assert w.sim.quirks == PRESETS["urevo"]
        cp = w.client.services.get_characteristic(CONTROL_POINT_UUID)
        assert cp is not None
        assert "write" not in cp.properties
    async with open_sim(quirks="kingsmith") as w:
        assert await w.cp("07", within_s=1.0) is None
        await asyncio.sleep(0.2)
        assert w.frames("2ada") == ["04"]  # success only shows in the status


# -- faults ---------------------------------------------------------------------------------------


async def test_fault_drop_stays_away() -> None:
    async with open_sim(faults=["drop@5s"]) as w:
        await asyncio.wait_for(w.disconnected.wait(), 10.0)
        assert 5.0 <= w.clock.now() - w.sim._t0 < 6.0
        assert (
            await BleakScanner.find_device_by_name(
                "treadwalk-sim", timeout=20.0, backend=w.radio.scanner_backend
            )
            is None
        )


async def test_fault_drop_and_come_back() -> None:
    async with open_sim(faults=["drop@5s+10s"]) as w:
        await asyncio.sleep(6.0)
        assert not w.client.is_connected
        assert (
            await BleakScanner.find_device_by_name(
                "treadwalk-sim", timeout=8.0, backend=w.radio.scanner_backend
            )
            is None
        )
        found = await BleakScanner.find_device_by_name(
            "treadwalk-sim", timeout=5.0, backend=w.radio.scanner_backend
        )
        assert found is not None
        assert w.sim.sim_time() >= 15.0


async def test_fault_refuse_control() -> None:
    async with open_sim(faults=["refuse_control"]) as w:
        assert await w.cp("00") == "800005"
    async with open_sim(faults=["refuse_control:04"]) as w:
        assert await w.cp("00") == "800004"
        assert not w.sim.has_control


async def test_fault_reject_op() -> None:
    async with open_sim(faults=["reject:start"]) as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("07") == "800704"
        assert not w.sim.running
        assert await w.cp("0203") == "800203"  # other ops as usual (bad parameter)


async def test_fault_no_answer() -> None:
    async with open_sim(faults=["no_answer:02"]) as w:
        assert await w.cp("00") == "800001"
        assert await w.cp("02f401", within_s=3.0) is None
        assert w.sim.target_speed_kmh == 0.0
        assert await w.cp("07") == "800701"  # the machine is not wedged


async def test_fault_malformed_frame() -> None:
    async with open_sim(faults=["malformed@3s"]) as w:
        await asyncio.sleep(4.0)
        short = [h for h in w.frames("2acd") if decode_treadmill_data(bytes.fromhex(h)).truncated]
        assert len(short) == 1
