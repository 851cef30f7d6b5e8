"""Heart Rate Measurement (0x2A37), body sensor location (0x2A38), battery (0x2A19): spec vectors,
every flag combination round-tripping (hypothesis), any bytes decode or raise DecodeError, and the
``treadwalk decode`` command on them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from treadwalk.core.errors import DecodeError
from treadwalk.ftms import (
    CHARACTERISTICS,
    HeartRateMeasurement,
    decode,
    decode_battery_level,
    decode_body_sensor_location,
    decode_heart_rate_measurement,
    encode_battery_level,
    encode_body_sensor_location,
    encode_heart_rate_measurement,
    max_rr_intervals,
)


def test_uint8_without_contact_support() -> None:
    m = decode_heart_rate_measurement(bytes.fromhex("0048"))
    assert m.heart_rate_bpm == 72
    assert not m.wide
    assert m.contact is None
    assert m.energy_kj is None and m.rr_raw is None


def test_uint16_value_is_read_from_two_bytes_not_byte_one() -> None:
    # A parser that reads byte 1 and ignores the flags would see 0x2c = 44.
    m = decode_heart_rate_measurement(bytes.fromhex("012c01"))
    assert m.heart_rate_bpm == 300
    assert m.wide


def test_contact_bits() -> None:
    assert decode_heart_rate_measurement(bytes.fromhex("0648")).contact is True
    assert decode_heart_rate_measurement(bytes.fromhex("0448")).contact is False
    # bit 1 without bit 2 means nothing
    assert decode_heart_rate_measurement(bytes.fromhex("0248")).contact is None


def test_energy_and_rr_intervals_in_ms() -> None:
    # flags 0x1e: contact supported+detected, energy, RR; 80 bpm, 513 kJ, RR 1024 and 768 /1024 s
    m = decode_heart_rate_measurement(bytes.fromhex("1e50010200040003"))
    assert m.heart_rate_bpm == 80
    assert m.energy_kj == 0x0201
    assert m.rr_raw == (1024, 768)
    assert m.rr_ms == (1000.0, 750.0)
    assert m.to_dict() == {
        "heart_rate_bpm": 80,
        "value_format": "uint8",
        "contact_supported": True,
        "contact": True,
        "energy_expended_kj": 513,
        "rr_intervals_ms": [1000.0, 750.0],
    }


def test_rr_flag_with_no_intervals_and_padding() -> None:
    assert decode_heart_rate_measurement(bytes.fromhex("1048")).rr_raw == ()
    # padding after the last announced field is ignored
    assert decode_heart_rate_measurement(bytes.fromhex("004800")).heart_rate_bpm == 72


@pytest.mark.parametrize(
    ("hex_", "reason"),
    [
        ("", "empty"),
        ("01", "shorter"),
        ("0148", "shorter"),
        ("0848", "shorter"),
        ("104800", "RR intervals"),
    ],
)
def test_short_or_ragged_frames_raise_decode_error(hex_: str, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as info:
        decode_heart_rate_measurement(bytes.fromhex(hex_))
    assert info.value.char == "2a37"


def test_at_most_nine_rr_intervals_at_mtu_23() -> None:
    assert max_rr_intervals(wide=False, energy=False) == 9
    assert max_rr_intervals(wide=True, energy=True) == 7


def test_encode_refuses_what_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_heart_rate_measurement(HeartRateMeasurement(300))
    with pytest.raises(ValueError, match="RR interval"):
        encode_heart_rate_measurement(HeartRateMeasurement(70, rr_raw=(70000,)))
    with pytest.raises(ValueError, match="battery"):
        encode_battery_level(101)


def test_sensor_location_and_battery() -> None:
    assert decode_body_sensor_location(b"\x01").to_dict() == {"location": 1, "location_name": "chest"}
    assert decode_body_sensor_location(b"\x09").name == "reserved 0x09"
    assert decode_body_sensor_location(encode_body_sensor_location(5)).name == "ear lobe"
    assert decode_battery_level(encode_battery_level(87)).battery_pct == 87
    for bad in (b"", b"\x01\x02"):
        with pytest.raises(DecodeError):
            decode_body_sensor_location(bad)
        with pytest.raises(DecodeError):
            decode_battery_level(bad)
    with pytest.raises(DecodeError, match="reserved"):
        decode_battery_level(b"\x65")


@st.composite
def measurements(draw: st.DrawFn) -> HeartRateMeasurement:
    """Every combination of the five defined flag bits, with values that fit."""
    flags = draw(st.integers(0, 0x1F))
    wide = bool(flags & 0x01)
    energy = bool(flags & 0x08)
    rr = None
    if flags & 0x10:
        rr = tuple(
            draw(st.lists(st.integers(0, 0xFFFF), max_size=max_rr_intervals(wide=wide, energy=energy)))
        )
    return HeartRateMeasurement(
        heart_rate_bpm=draw(st.integers(0, 0xFFFF if wide else 0xFF)),
        wide=wide,
        contact_detected=bool(flags & 0x02),
        contact_supported=bool(flags & 0x04),
        energy_kj=draw(st.integers(0, 0xFFFF)) if energy else None,
        rr_raw=rr,
    )


@given(measurements())
def test_every_flag_combination_round_trips(m: HeartRateMeasurement) -> None:
    frame = encode_heart_rate_measurement(m)
    assert frame[0] == m.flags
    assert decode_heart_rate_measurement(frame) == m
    json.dumps(m.to_dict())


@given(st.binary(max_size=24), st.sampled_from(["2a37", "2a38", "2a19"]))
def test_any_bytes_decode_or_raise_decode_error(data: bytes, char: str) -> None:
    try:
        decoded = decode(char, data)
    except DecodeError:
        return
    json.dumps(decoded.to_dict())


def test_decode_dispatches_heart_rate_characteristics() -> None:
    assert {"2a37", "2a38", "2a19"} <= set(CHARACTERISTICS)
    assert decode("0x2A37", bytes.fromhex("0648")).to_dict()["heart_rate_bpm"] == 72
    assert decode("00002a19-0000-1000-8000-00805f9b34fb", b"\x50").to_dict() == {"battery_pct": 80}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treadwalk", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_decodes_a_strap_frame() -> None:
    out = _cli("decode", "--char", "2a37", "1e50010200040003", "0648")
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert "heart rate 80 bpm" in first
    assert "energy expended 513 kJ" in first
    assert "rr intervals 1000, 750 ms" in first
    assert "heart rate 72 bpm" in second
    js = _cli("decode", "--char", "2a37", "--json", "0148")
    assert js.returncode == 2
    assert "2a37" in js.stderr and "Traceback" not in js.stderr
