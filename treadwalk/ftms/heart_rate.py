"""Heart Rate Service (0x180D) and Battery Service (0x180F) bytes <-> typed values. No I/O.

Stdlib and ``treadwalk.core`` only. Decoders raise ``DecodeError`` and nothing else; encoders
raise ``ValueError`` for values the wire cannot carry. (shared/hr/REFERENCE.md)

- Heart Rate Measurement **0x2A37** (notify): flags, heart rate (uint8 or uint16 by flag bit 0),
  energy expended (uint16 kJ, bit 3), RR intervals (uint16 each in 1/1024 s, bit 4, to the end of
  the frame). Bit 1 is "contact detected", meaningful only when bit 2 ("contact supported") is
  set. Bits 5-7 are reserved and ignored, and so are padding bytes after the last announced
  field (an odd byte among RR intervals is a DecodeError).
- Body Sensor Location **0x2A38** (read): one byte, 0 other ... 6 foot.
- Heart Rate Control Point **0x2A39** (write): 0x01 resets energy expended.
- Battery Level **0x2A19** (read/notify): one byte, 0-100 %.

Nothing here judges whether a value is a real heart rate (0, 255, no contact): that is
``treadwalk.core.heart``'s one rule, applied by every source.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from treadwalk.core.errors import DecodeError

from ._wire import u16

__all__ = [
    "RESET_ENERGY_EXPENDED",
    "BatteryLevel",
    "BodySensorLocation",
    "HeartRateMeasurement",
    "SensorLocation",
    "decode_battery_level",
    "decode_body_sensor_location",
    "decode_heart_rate_measurement",
    "encode_battery_level",
    "encode_body_sensor_location",
    "encode_heart_rate_measurement",
    "max_rr_intervals",
]

# 0x2A37 flag bits
_WIDE = 0x01
_CONTACT_DETECTED = 0x02
_CONTACT_SUPPORTED = 0x04
_ENERGY = 0x08
_RR = 0x10

#: Heart Rate Control Point 0x2A39: reset the cumulative energy expended.
RESET_ENERGY_EXPENDED = bytes([0x01])

_RR_PER_SECOND = 1024


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One 0x2A37 frame, as sent.

    ``wide``: the value went as uint16 (flag bit 0). ``contact_detected`` is flag bit 1 as sent;
    ``contact`` is what it means (None when the strap does not support the contact bit).
    ``energy_kj``: None when absent. ``rr_raw``: RR intervals in 1/1024 s, None when the flag is
    clear (an empty tuple when it is set and no interval followed).
    """

    heart_rate_bpm: int
    wide: bool = False
    contact_supported: bool = False
    contact_detected: bool = False
    energy_kj: int | None = None
    rr_raw: tuple[int, ...] | None = None

    @property
    def contact(self) -> bool | None:
        """True/False when the strap reports skin contact, None when it cannot tell."""
        return self.contact_detected if self.contact_supported else None

    @property
    def rr_ms(self) -> tuple[float, ...]:
        """RR intervals in milliseconds (1/1024 s units converted), oldest first."""
        return tuple(r * 1000 / _RR_PER_SECOND for r in self.rr_raw or ())

    @property
    def flags(self) -> int:
        return (
            (_WIDE if self.wide else 0)
            | (_CONTACT_DETECTED if self.contact_detected else 0)
            | (_CONTACT_SUPPORTED if self.contact_supported else 0)
            | (_ENERGY if self.energy_kj is not None else 0)
            | (_RR if self.rr_raw is not None else 0)
        )

    def to_dict(self) -> dict[str, Any]:
        """Canonical names: heart_rate_bpm, value_format, contact_supported, contact (null when
        unsupported), energy_expended_kj, rr_intervals_ms (the last two absent when not sent)."""
        out: dict[str, Any] = {
            "heart_rate_bpm": self.heart_rate_bpm,
            "value_format": "uint16" if self.wide else "uint8",
            "contact_supported": self.contact_supported,
            "contact": self.contact,
        }
        if self.energy_kj is not None:
            out["energy_expended_kj"] = self.energy_kj
        if self.rr_raw is not None:
            out["rr_intervals_ms"] = [round(ms, 1) for ms in self.rr_ms]
        return out


def decode_heart_rate_measurement(data: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    raw = bytes(data)
    if not raw:
        raise DecodeError("2a37", raw, "an empty frame has no flags byte")
    flags = raw[0]
    wide = bool(flags & _WIDE)
    need = 1 + (2 if wide else 1) + (2 if flags & _ENERGY else 0)
    if len(raw) < need:
        raise DecodeError(
            "2a37",
            raw,
            f"{len(raw)} byte(s) is shorter than the {need} the flags 0x{flags:02x} promise",
        )
    offset = 1
    if wide:
        bpm = u16(raw, offset)
        offset += 2
    else:
        bpm = raw[offset]
        offset += 1
    energy: int | None = None
    if flags & _ENERGY:
        energy = u16(raw, offset)
        offset += 2
    rr: tuple[int, ...] | None = None
    if flags & _RR:
        rest = len(raw) - offset
        if rest % 2:
            raise DecodeError(
                "2a37", raw, f"the RR intervals take {rest} byte(s), not a whole number of uint16"
            )
        rr = tuple(u16(raw, i) for i in range(offset, len(raw), 2))
    # Without RR intervals, bytes after the last announced field are padding: ignored.
    return HeartRateMeasurement(
        heart_rate_bpm=bpm,
        wide=wide,
        contact_supported=bool(flags & _CONTACT_SUPPORTED),
        contact_detected=bool(flags & _CONTACT_DETECTED),
        energy_kj=energy,
        rr_raw=rr,
    )


def _check(value: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, not {type(value).__name__}")
    if not 0 <= value <= hi:
        raise ValueError(f"{what} {value} is outside what the wire carries (0 to {hi})")
    return value


def encode_heart_rate_measurement(m: HeartRateMeasurement) -> bytes:
    out = bytearray([m.flags])
    if m.wide:
        out += _check(m.heart_rate_bpm, 0xFFFF, "heart rate").to_bytes(2, "little")
    else:
        out.append(_check(m.heart_rate_bpm, 0xFF, "heart rate (uint8; use wide=True above 255)"))
    if m.energy_kj is not None:
        out += _check(m.energy_kj, 0xFFFF, "energy expended").to_bytes(2, "little")
    for r in m.rr_raw or ():
        out += _check(r, 0xFFFF, "RR interval").to_bytes(2, "little")
    return bytes(out)


def max_rr_intervals(*, wide: bool, energy: bool, max_payload: int = 20) -> int:
    """How many RR intervals fit in one frame of ``max_payload`` bytes (ATT_MTU - 3; 20 at 23)."""
    return max(0, (max_payload - 1 - (2 if wide else 1) - (2 if energy else 0)) // 2)


# ---------------------------------------------------------------------------------------------
# Body Sensor Location 0x2A38


class SensorLocation(enum.IntEnum):
    OTHER = 0
    CHEST = 1
    WRIST = 2
    FINGER = 3
    HAND = 4
    EAR_LOBE = 5
    FOOT = 6


@dataclass(frozen=True, slots=True)
class BodySensorLocation:
    code: int

    @property
    def name(self) -> str:
        try:
            return SensorLocation(self.code).name.lower().replace("_", " ")
        except ValueError:
            return f"reserved 0x{self.code:02x}"

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.code, "location_name": self.name}


def decode_body_sensor_location(data: bytes | bytearray | memoryview) -> BodySensorLocation:
    raw = bytes(data)
    if len(raw) != 1:
        raise DecodeError("2a38", raw, f"{len(raw)} byte(s); the body sensor location is one byte")
    return BodySensorLocation(raw[0])


def encode_body_sensor_location(location: int) -> bytes:
    return bytes([_check(int(location), 0xFF, "body sensor location")])


# ---------------------------------------------------------------------------------------------
# Battery Level 0x2A19


@dataclass(frozen=True, slots=True)
class BatteryLevel:
    battery_pct: int

    def to_dict(self) -> dict[str, Any]:
        return {"battery_pct": self.battery_pct}


def decode_battery_level(data: bytes | bytearray | memoryview) -> BatteryLevel:
    raw = bytes(data)
    if len(raw) != 1:
        raise DecodeError("2a19", raw, f"{len(raw)} byte(s); the battery level is one byte")
    if raw[0] > 100:
        raise DecodeError("2a19", raw, f"{raw[0]} % is above 100 (values 101-255 are reserved)")
    return BatteryLevel(raw[0])


def encode_battery_level(pct: int) -> bytes:
    return bytes([_check(pct, 100, "battery level %")])
