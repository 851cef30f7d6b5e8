"""What a machine is and can do: Feature (0x2ACC), the speed and inclination ranges (0x2AD4,
0x2AD5), Training Status (0x2AD3) and the FTMS advertisement service data.

Stdlib and ``treadwalk.core`` only; no I/O.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from treadwalk.core.errors import DecodeError
from treadwalk.core.units import Grid

from ._wire import to_raw

__all__ = [
    "MACHINE_FEATURE_NAMES",
    "MACHINE_TYPE_NAMES",
    "TARGET_FEATURE_NAMES",
    "Advertisement",
    "Features",
    "InclineRange",
    "SpeedRange",
    "TrainingStatus",
    "TrainingStatusCode",
    "decode_advertisement",
    "decode_features",
    "decode_incline_range",
    "decode_speed_range",
    "decode_training_status",
    "encode_advertisement",
    "encode_features",
    "encode_incline_range",
    "encode_speed_range",
    "encode_training_status",
]

# ---------------------------------------------------------------------------------------------
# Fitness Machine Feature 0x2ACC (REFERENCE.md §1.3)

MACHINE_FEATURE_NAMES: tuple[str, ...] = (
    "average_speed",
    "cadence",
    "total_distance",
    "inclination",
    "elevation_gain",
    "pace",
    "step_count",
    "resistance_level",
    "stride_count",
    "expended_energy",
    "heart_rate_measurement",
    "metabolic_equivalent",
    "elapsed_time",
    "remaining_time",
    "power_measurement",
    "force_on_belt_and_power_output",
    "user_data_retention",
)
TARGET_FEATURE_NAMES: tuple[str, ...] = (
    "speed_target",
    "inclination_target",
    "resistance_target",
    "power_target",
    "heart_rate_target",
    "targeted_expended_energy",
    "targeted_step_number",
    "targeted_stride_number",
    "targeted_distance",
    "targeted_training_time",
    "targeted_time_in_two_hr_zones",
    "targeted_time_in_three_hr_zones",
    "targeted_time_in_five_hr_zones",
    "indoor_bike_simulation",
    "wheel_circumference",
    "spin_down_control",
    "targeted_cadence",
)


def _names(bits: int, table: tuple[str, ...]) -> list[str]:
    """Names of the set bits; a set RFU bit shows as ``rfu_bit_N`` rather than vanishing."""
    return [table[i] if i < len(table) else f"rfu_bit_{i}" for i in range(32) if bits >> i & 1]


def _bits(names: Iterable[str], table: tuple[str, ...], what: str) -> int:
    bits = 0
    for name in names:
        if name in table:
            bits |= 1 << table.index(name)
        elif name.startswith("rfu_bit_") and name[8:].isdigit() and int(name[8:]) < 32:
            bits |= 1 << int(name[8:])
        else:
            raise ValueError(f"unknown {what} {name!r}; known: {', '.join(table)}")
    return bits


@dataclass(frozen=True, slots=True)
class Features:
    """The two feature words of 0x2ACC: what the machine reports and which targets it accepts."""

    machine: int
    target: int

    @classmethod
    def from_names(cls, features: Iterable[str] = (), targets: Iterable[str] = ()) -> Features:
        return cls(
            _bits(features, MACHINE_FEATURE_NAMES, "feature"), _bits(targets, TARGET_FEATURE_NAMES, "target")
        )

    @property
    def features(self) -> list[str]:
        return _names(self.machine, MACHINE_FEATURE_NAMES)

    @property
    def targets(self) -> list[str]:
        return _names(self.target, TARGET_FEATURE_NAMES)

    def supports(self, name: str) -> bool:
        """True when ``name`` (a feature or a target name) is set."""
        if name in MACHINE_FEATURE_NAMES:
            return bool(self.machine >> MACHINE_FEATURE_NAMES.index(name) & 1)
        if name in TARGET_FEATURE_NAMES:
            return bool(self.target >> TARGET_FEATURE_NAMES.index(name) & 1)
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"features": self.features, "targets": self.targets}


_FEATURES = struct.Struct("<II")


def decode_features(data: bytes | bytearray | memoryview) -> Features:
    if len(data) < 8:
        raise DecodeError(
            "2acc", bytes(data), f"{len(data)} byte(s) is shorter than the 8 bytes of the two feature words"
        )
    machine, target = _FEATURES.unpack_from(data)
    return Features(machine, target)


def encode_features(f: Features) -> bytes:
    if not (0 <= f.machine <= 0xFFFFFFFF and 0 <= f.target <= 0xFFFFFFFF):
        raise ValueError("feature words must fit in 32 bits")
    return _FEATURES.pack(f.machine, f.target)


# ---------------------------------------------------------------------------------------------
# Supported Speed Range 0x2AD4 / Supported Inclination Range 0x2AD5 (REFERENCE.md §1.6)

_SPEED_RANGE = struct.Struct("<HHH")
_INCLINE_RANGE = struct.Struct("<hhH")


@dataclass(frozen=True, slots=True)
class SpeedRange:
    min_kmh: float
    max_kmh: float
    step_kmh: float

    def to_grid(self) -> Grid:
        return Grid(self.min_kmh, self.max_kmh, self.step_kmh)

    def to_dict(self) -> dict[str, Any]:
        return {"min_kmh": self.min_kmh, "max_kmh": self.max_kmh, "step_kmh": self.step_kmh}


@dataclass(frozen=True, slots=True)
class InclineRange:
    min_pct: float
    max_pct: float
    step_pct: float

    def to_grid(self) -> Grid:
        return Grid(self.min_pct, self.max_pct, self.step_pct)

    def to_dict(self) -> dict[str, Any]:
        return {"min_pct": self.min_pct, "max_pct": self.max_pct, "step_pct": self.step_pct}


def _unpack_range(char: str, st: struct.Struct, data: bytes | bytearray | memoryview) -> tuple[int, ...]:
    if len(data) < st.size:
        raise DecodeError(
            char, bytes(data), f"{len(data)} byte(s) is shorter than the 6 bytes of minimum, maximum and step"
        )
    lo, hi, step = st.unpack_from(data)
    if lo > hi:
        raise DecodeError(char, bytes(data), f"the minimum {lo} is above the maximum {hi} (raw units)")
    return lo, hi, step


def decode_speed_range(data: bytes | bytearray | memoryview) -> SpeedRange:
    lo, hi, step = _unpack_range("2ad4", _SPEED_RANGE, data)
    return SpeedRange(lo / 100, hi / 100, step / 100)


def decode_incline_range(data: bytes | bytearray | memoryview) -> InclineRange:
    lo, hi, step = _unpack_range("2ad5", _INCLINE_RANGE, data)
    return InclineRange(lo / 10, hi / 10, step / 10)


def encode_speed_range(r: SpeedRange) -> bytes:
    return _SPEED_RANGE.pack(
        to_raw(r.min_kmh, 2, 0, 0xFFFF, "min_kmh"),
        to_raw(r.max_kmh, 2, 0, 0xFFFF, "max_kmh"),
        to_raw(r.step_kmh, 2, 0, 0xFFFF, "step_kmh"),
    )


def encode_incline_range(r: InclineRange) -> bytes:
    return _INCLINE_RANGE.pack(
        to_raw(r.min_pct, 1, -0x8000, 0x7FFF, "min_pct"),
        to_raw(r.max_pct, 1, -0x8000, 0x7FFF, "max_pct"),
        to_raw(r.step_pct, 1, 0, 0xFFFF, "step_pct"),
    )


# ---------------------------------------------------------------------------------------------
# Training Status 0x2AD3 (REFERENCE.md §1.5)


class TrainingStatusCode(enum.IntEnum):
    OTHER = 0x00
    IDLE = 0x01
    WARMING_UP = 0x02
    LOW_INTENSITY_INTERVAL = 0x03
    HIGH_INTENSITY_INTERVAL = 0x04
    RECOVERY_INTERVAL = 0x05
    ISOMETRIC = 0x06
    HEART_RATE_CONTROL = 0x07
    FITNESS_TEST = 0x08
    SPEED_OUTSIDE_CONTROL_REGION_LOW = 0x09
    SPEED_OUTSIDE_CONTROL_REGION_HIGH = 0x0A
    COOL_DOWN = 0x0B
    WATT_CONTROL = 0x0C
    MANUAL_MODE = 0x0D
    PRE_WORKOUT = 0x0E
    POST_WORKOUT = 0x0F


def _enum_name(enum_cls: type[enum.IntEnum], value: int) -> str:
    try:
        return enum_cls(value).name.lower()
    except ValueError:
        return f"rfu_0x{value:02x}"


@dataclass(frozen=True, slots=True)
class TrainingStatus:
    """``status`` is kept as a number even when reserved (UREVO sends 0x10/0x11, P10);
    ``status_name`` is then ``rfu_0x10``. ``string`` is None when the flags say there is none,
    and may be empty when they say there is one (CITYSPORTS, FitShow)."""

    status: int
    status_name: str
    string: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "status_name": self.status_name, "string": self.string}


def decode_training_status(data: bytes | bytearray | memoryview) -> TrainingStatus:
    if len(data) < 2:
        raise DecodeError(
            "2ad3", bytes(data), f"{len(data)} byte(s) is shorter than the flags and status bytes"
        )
    flags, status = data[0], data[1]
    string = None
    if flags & 0x01:
        # A display string: undecodable bytes are replaced rather than failing the status.
        string = bytes(data[2:]).decode("utf-8", errors="replace").rstrip("\x00")
    return TrainingStatus(status, _enum_name(TrainingStatusCode, status), string)


def encode_training_status(status: int, string: str | None = None, *, extended: bool = False) -> bytes:
    if not 0 <= status <= 0xFF:
        raise ValueError(f"training status {status} does not fit in one byte")
    flags = (0x01 if string is not None else 0) | (0x02 if extended else 0)
    return bytes((flags, status)) + (string.encode() if string is not None else b"")


# ---------------------------------------------------------------------------------------------
# Advertisement service data (REFERENCE.md §1.2, P13)

MACHINE_TYPE_NAMES: tuple[str, ...] = (
    "treadmill",
    "cross_trainer",
    "step_climber",
    "stair_climber",
    "rower",
    "indoor_bike",
)


@dataclass(frozen=True, slots=True)
class Advertisement:
    """The FTMS service data: ``available`` (flags bit 0) and the machine types.

    ``type_bits`` is the machine-type field as understood: a byte-swapped field (type in the
    high byte only, as some rowers send) or a one-byte field is read as the low byte.
    """

    available: bool
    machine_types: list[str]
    type_bits: int

    def to_dict(self) -> dict[str, Any]:
        return {"available": self.available, "machine_types": self.machine_types, "type_bits": self.type_bits}


def decode_advertisement(data: bytes | bytearray | memoryview) -> Advertisement:
    """Decode ``flags | machine type`` (e.g. ``01 01 00``). Also accepted: the value with its
    service UUID in front (``26 18 01 01 00``) or the whole AD structure (``06 16 26 18 …``)."""
    b = bytes(data)
    if len(b) >= 4 and b[1] == 0x16 and b[2:4] == b"\x26\x18" and b[0] == len(b) - 1:
        b = b[4:]
    elif len(b) >= 4 and b[:2] == b"\x26\x18":
        b = b[2:]
    if len(b) < 2:
        raise DecodeError(
            "adv", bytes(data), f"{len(b)} byte(s) is shorter than the flags byte and the machine type"
        )
    lo = b[1]
    hi = b[2] if len(b) >= 3 else 0
    bits = hi if lo == 0 and hi != 0 else lo | (hi << 8)
    return Advertisement(bool(b[0] & 1), _names(bits, MACHINE_TYPE_NAMES), bits)


def encode_advertisement(available: bool = True, types: Iterable[str] = ("treadmill",)) -> bytes:
    bits = _bits(types, MACHINE_TYPE_NAMES, "machine type")
    if bits > 0xFFFF:
        raise ValueError("the machine type field has 16 bits")
    return bytes((1 if available else 0,)) + bits.to_bytes(2, "little")
