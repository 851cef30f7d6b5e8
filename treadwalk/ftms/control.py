"""Fitness Machine Control Point (0x2AD9) requests and responses, and Fitness Machine Status
(0x2ADA): op codes, parameters by name, encoders that round onto the wire resolution.

Stdlib and ``treadwalk.core`` only; no I/O.

Parameters are parsed by op code; bytes after them are ignored (CS-WP8 and UREVO pad status
frames, REFERENCE.md P8). Reserved op codes decode with the name ``rfu_0xNN`` and no parameters,
so a simulator can answer "not supported" and a client can ignore them. Every target encoder
rounds half up (4.1 km/h goes out as 410, never 409) and raises ``ValueError`` for a value the
wire type cannot carry.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Any

from treadwalk.core.errors import DecodeError

from ._wire import to_raw

__all__ = [
    "ControlRequest",
    "ControlResponse",
    "MachineStatus",
    "OpCode",
    "ResultCode",
    "StatusOp",
    "StopControl",
    "decode_control_request",
    "decode_control_response",
    "decode_machine_status",
    "encode_control_request",
    "encode_control_response",
    "encode_machine_status",
    "pause",
    "request_control",
    "reset",
    "set_target_heart_rate",
    "set_target_incline",
    "set_target_speed",
    "set_targeted_distance",
    "set_targeted_energy",
    "set_targeted_steps",
    "set_targeted_time",
    "start_or_resume",
    "stop",
]


class OpCode(enum.IntEnum):
    REQUEST_CONTROL = 0x00
    RESET = 0x01
    SET_TARGET_SPEED = 0x02
    SET_TARGET_INCLINATION = 0x03
    SET_TARGET_RESISTANCE_LEVEL = 0x04
    SET_TARGET_POWER = 0x05
    SET_TARGET_HEART_RATE = 0x06
    START_OR_RESUME = 0x07
    STOP_OR_PAUSE = 0x08
    SET_TARGETED_EXPENDED_ENERGY = 0x09
    SET_TARGETED_NUMBER_OF_STEPS = 0x0A
    SET_TARGETED_NUMBER_OF_STRIDES = 0x0B
    SET_TARGETED_DISTANCE = 0x0C
    SET_TARGETED_TRAINING_TIME = 0x0D
    SET_TARGETED_TIME_IN_TWO_HR_ZONES = 0x0E
    SET_TARGETED_TIME_IN_THREE_HR_ZONES = 0x0F
    SET_TARGETED_TIME_IN_FIVE_HR_ZONES = 0x10
    SET_INDOOR_BIKE_SIMULATION = 0x11
    SET_WHEEL_CIRCUMFERENCE = 0x12
    SPIN_DOWN_CONTROL = 0x13
    SET_TARGETED_CADENCE = 0x14
    RESPONSE_CODE = 0x80


class ResultCode(enum.IntEnum):
    SUCCESS = 0x01
    NOT_SUPPORTED = 0x02
    INVALID_PARAMETER = 0x03
    OPERATION_FAILED = 0x04
    CONTROL_NOT_PERMITTED = 0x05


class StatusOp(enum.IntEnum):
    RESET = 0x01
    STOPPED_OR_PAUSED_BY_USER = 0x02
    STOPPED_BY_SAFETY_KEY = 0x03
    STARTED_OR_RESUMED_BY_USER = 0x04
    TARGET_SPEED_CHANGED = 0x05
    TARGET_INCLINE_CHANGED = 0x06
    TARGET_RESISTANCE_LEVEL_CHANGED = 0x07
    TARGET_POWER_CHANGED = 0x08
    TARGET_HEART_RATE_CHANGED = 0x09
    TARGETED_EXPENDED_ENERGY_CHANGED = 0x0A
    TARGETED_NUMBER_OF_STEPS_CHANGED = 0x0B
    TARGETED_NUMBER_OF_STRIDES_CHANGED = 0x0C
    TARGETED_DISTANCE_CHANGED = 0x0D
    TARGETED_TRAINING_TIME_CHANGED = 0x0E
    TARGETED_TIME_IN_TWO_HR_ZONES_CHANGED = 0x0F
    TARGETED_TIME_IN_THREE_HR_ZONES_CHANGED = 0x10
    TARGETED_TIME_IN_FIVE_HR_ZONES_CHANGED = 0x11
    INDOOR_BIKE_SIMULATION_PARAMETERS_CHANGED = 0x12
    WHEEL_CIRCUMFERENCE_CHANGED = 0x13
    SPIN_DOWN_STATUS = 0x14
    TARGETED_CADENCE_CHANGED = 0x15
    CONTROL_PERMISSION_LOST = 0xFF


class StopControl(enum.IntEnum):
    """The parameter of Stop or Pause (op 0x08) and of status 0x02."""

    STOP = 0x01
    PAUSE = 0x02


def _name(enum_cls: type[enum.IntEnum], value: int) -> str:
    try:
        return enum_cls(value).name.lower()
    except ValueError:
        return f"rfu_0x{value:02x}"


# ---------------------------------------------------------------------------------------------
# Parameter tables


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    code: str  # struct code; "T" = uint24
    divisor: int = 1  # value = raw / divisor

    @property
    def size(self) -> int:
        return {"B": 1, "b": 1, "H": 2, "h": 2, "T": 3}[self.code]

    def read(self, data: bytes | bytearray | memoryview, offset: int) -> int | float:
        if self.code == "T":
            raw = data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16)
        else:
            (raw,) = struct.unpack_from("<" + self.code, data, offset)
        return raw / self.divisor if self.divisor != 1 else raw

    def write(self, value: float) -> bytes:
        lo, hi = {"B": (0, 0xFF), "b": (-0x80, 0x7F), "H": (0, 0xFFFF), "h": (-0x8000, 0x7FFF)}.get(
            self.code, (0, 0xFFFFFF)
        )
        if self.divisor in (1, 10, 100, 1000, 10000):
            raw = to_raw(value, len(str(self.divisor)) - 1, lo, hi, self.name)
        else:  # e.g. cadence in 0.5/min
            raw = to_raw(value * self.divisor, 0, lo, hi, self.name)
        if self.code == "T":
            return raw.to_bytes(3, "little")
        return struct.pack("<" + self.code, raw)


_SPEED = _Param("target_speed_kmh", "H", 100)
_INCLINE = _Param("target_incline_pct", "h", 10)
_CONTROL = _Param("control", "B")
_ZONES2 = (_Param("fat_burn_s", "H"), _Param("fitness_s", "H"))
_ZONES3 = (_Param("light_s", "H"), _Param("moderate_s", "H"), _Param("hard_s", "H"))
_ZONES5 = (
    _Param("very_light_s", "H"),
    _Param("light_s", "H"),
    _Param("moderate_s", "H"),
    _Param("hard_s", "H"),
    _Param("maximum_s", "H"),
)
_BIKE = (
    _Param("wind_speed_mps", "h", 1000),
    _Param("grade_pct", "h", 100),
    _Param("crr", "B", 10000),
    _Param("cw_kg_per_m", "B", 100),
)

_REQUEST_PARAMS: dict[int, tuple[_Param, ...]] = {
    OpCode.SET_TARGET_SPEED: (_SPEED,),
    OpCode.SET_TARGET_INCLINATION: (_INCLINE,),
    OpCode.SET_TARGET_RESISTANCE_LEVEL: (_Param("target_resistance", "B", 10),),
    OpCode.SET_TARGET_POWER: (_Param("target_power_w", "h"),),
    OpCode.SET_TARGET_HEART_RATE: (_Param("target_heart_rate_bpm", "B"),),
    OpCode.STOP_OR_PAUSE: (_CONTROL,),
    OpCode.SET_TARGETED_EXPENDED_ENERGY: (_Param("targeted_energy_kcal", "H"),),
    OpCode.SET_TARGETED_NUMBER_OF_STEPS: (_Param("targeted_steps", "H"),),
    OpCode.SET_TARGETED_NUMBER_OF_STRIDES: (_Param("targeted_strides", "H"),),
    OpCode.SET_TARGETED_DISTANCE: (_Param("targeted_distance_m", "T"),),
    OpCode.SET_TARGETED_TRAINING_TIME: (_Param("targeted_time_s", "H"),),
    OpCode.SET_TARGETED_TIME_IN_TWO_HR_ZONES: _ZONES2,
    OpCode.SET_TARGETED_TIME_IN_THREE_HR_ZONES: _ZONES3,
    OpCode.SET_TARGETED_TIME_IN_FIVE_HR_ZONES: _ZONES5,
    OpCode.SET_INDOOR_BIKE_SIMULATION: _BIKE,
    OpCode.SET_WHEEL_CIRCUMFERENCE: (_Param("wheel_circumference_mm", "H", 10),),
    OpCode.SPIN_DOWN_CONTROL: (_Param("spin_down", "B"),),
    OpCode.SET_TARGETED_CADENCE: (_Param("targeted_cadence_per_min", "H", 2),),
}

_STATUS_PARAMS: dict[int, tuple[_Param, ...]] = {
    StatusOp.STOPPED_OR_PAUSED_BY_USER: (_CONTROL,),
    StatusOp.TARGET_SPEED_CHANGED: (_SPEED,),
    StatusOp.TARGET_INCLINE_CHANGED: (_INCLINE,),
    # 0x07 is uint8 in v1.0 and sint16 in v1.0.1: chosen by length in decode_machine_status.
    StatusOp.TARGET_RESISTANCE_LEVEL_CHANGED: (_Param("target_resistance", "B", 10),),
    StatusOp.TARGET_POWER_CHANGED: (_Param("target_power_w", "h"),),
    StatusOp.TARGET_HEART_RATE_CHANGED: (_Param("target_heart_rate_bpm", "B"),),
    StatusOp.TARGETED_EXPENDED_ENERGY_CHANGED: (_Param("targeted_energy_kcal", "H"),),
    StatusOp.TARGETED_NUMBER_OF_STEPS_CHANGED: (_Param("targeted_steps", "H"),),
    StatusOp.TARGETED_NUMBER_OF_STRIDES_CHANGED: (_Param("targeted_strides", "H"),),
    StatusOp.TARGETED_DISTANCE_CHANGED: (_Param("targeted_distance_m", "T"),),
    StatusOp.TARGETED_TRAINING_TIME_CHANGED: (_Param("targeted_time_s", "H"),),
    StatusOp.TARGETED_TIME_IN_TWO_HR_ZONES_CHANGED: _ZONES2,
    StatusOp.TARGETED_TIME_IN_THREE_HR_ZONES_CHANGED: _ZONES3,
    StatusOp.TARGETED_TIME_IN_FIVE_HR_ZONES_CHANGED: _ZONES5,
    StatusOp.INDOOR_BIKE_SIMULATION_PARAMETERS_CHANGED: _BIKE,
    StatusOp.WHEEL_CIRCUMFERENCE_CHANGED: (_Param("wheel_circumference_mm", "H", 10),),
    StatusOp.SPIN_DOWN_STATUS: (_Param("spin_down_status", "B"),),
    StatusOp.TARGETED_CADENCE_CHANGED: (_Param("targeted_cadence_per_min", "H", 2),),
}
_RESISTANCE_V101 = (_Param("target_resistance", "h", 10),)


def _read_params(
    char: str, data: bytes | bytearray | memoryview, offset: int, params: tuple[_Param, ...], what: str
) -> dict[str, Any]:
    need = offset + sum(p.size for p in params)
    if len(data) < need:
        raise DecodeError(
            char,
            bytes(data),
            f"{what} needs {need} bytes (op code and parameters) but {len(data)} arrived",
        )
    out: dict[str, Any] = {}
    for p in params:
        out[p.name] = p.read(data, offset)
        offset += p.size
    return out


def _write_params(op: int, table: dict[int, tuple[_Param, ...]], given: dict[str, Any], what: str) -> bytes:
    params = table.get(op, ())
    names = {p.name for p in params}
    unknown = set(given) - names
    missing = names - set(given)
    if unknown or missing:
        raise ValueError(
            f"{what} 0x{op:02x} takes parameters {sorted(names) or 'none'}; got {sorted(given) or 'none'}"
        )
    return bytes((op,)) + b"".join(p.write(given[p.name]) for p in params)


# ---------------------------------------------------------------------------------------------
# Control point requests


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """A control-point write: the op code and its parameters by name."""

    op: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return _name(OpCode, self.op)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "name": self.name, **self.params}


def decode_control_request(data: bytes | bytearray | memoryview) -> ControlRequest:
    if len(data) < 1:
        raise DecodeError("2ad9", bytes(data), "an empty write has no op code")
    op = data[0]
    if op == OpCode.RESPONSE_CODE:
        raise DecodeError("2ad9", bytes(data), "op code 0x80 is a response, which only the machine sends")
    return ControlRequest(op, _read_params("2ad9", data, 1, _REQUEST_PARAMS.get(op, ()), _name(OpCode, op)))


def encode_control_request(op: int, **params: Any) -> bytes:
    """Any request by op code and parameter names (as ``decode_control_request`` gives them)."""
    if not 0 <= op <= 0xFF or op == OpCode.RESPONSE_CODE:
        raise ValueError(f"0x{op:x} is not a request op code")
    return _write_params(op, _REQUEST_PARAMS, params, "op")


def request_control() -> bytes:
    return bytes((OpCode.REQUEST_CONTROL,))


def reset() -> bytes:
    return bytes((OpCode.RESET,))


def start_or_resume() -> bytes:
    return bytes((OpCode.START_OR_RESUME,))


def stop() -> bytes:
    return bytes((OpCode.STOP_OR_PAUSE, StopControl.STOP))


def pause() -> bytes:
    return bytes((OpCode.STOP_OR_PAUSE, StopControl.PAUSE))


def set_target_speed(kmh: float) -> bytes:
    """Set Target Speed, in 0.01 km/h, rounded half up (4.1 -> 410)."""
    return encode_control_request(OpCode.SET_TARGET_SPEED, target_speed_kmh=kmh)


def set_target_incline(pct: float) -> bytes:
    """Set Target Inclination, in 0.1 %, rounded half up (sint16: negative is downhill)."""
    return encode_control_request(OpCode.SET_TARGET_INCLINATION, target_incline_pct=pct)


def set_target_heart_rate(bpm: float) -> bytes:
    return encode_control_request(OpCode.SET_TARGET_HEART_RATE, target_heart_rate_bpm=bpm)


def set_targeted_energy(kcal: float) -> bytes:
    return encode_control_request(OpCode.SET_TARGETED_EXPENDED_ENERGY, targeted_energy_kcal=kcal)


def set_targeted_steps(n: float) -> bytes:
    return encode_control_request(OpCode.SET_TARGETED_NUMBER_OF_STEPS, targeted_steps=n)


def set_targeted_distance(m: float) -> bytes:
    """Set Targeted Distance, uint24 metres."""
    return encode_control_request(OpCode.SET_TARGETED_DISTANCE, targeted_distance_m=m)


def set_targeted_time(s: float) -> bytes:
    return encode_control_request(OpCode.SET_TARGETED_TRAINING_TIME, targeted_time_s=s)


# ---------------------------------------------------------------------------------------------
# Control point responses


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """The machine's answer ``80 <request op> <result> [parameter]``."""

    request_op: int
    result: int
    result_name: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result == ResultCode.SUCCESS

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_op": self.request_op,
            "request_name": _name(OpCode, self.request_op),
            "result": self.result,
            "result_name": self.result_name,
            **self.params,
        }


_SPIN_DOWN_RESPONSE = (_Param("target_speed_low_kmh", "H", 100), _Param("target_speed_high_kmh", "H", 100))


def decode_control_response(data: bytes | bytearray | memoryview) -> ControlResponse:
    if len(data) < 3:
        raise DecodeError(
            "2ad9",
            bytes(data),
            f"a response is 80, the request op code and a result code, but {len(data)} byte(s) arrived",
        )
    if data[0] != OpCode.RESPONSE_CODE:
        raise DecodeError("2ad9", bytes(data), f"a response starts with 80, not {data[0]:02x}")
    request_op, result = data[1], data[2]
    params: dict[str, Any] = {}
    if request_op == OpCode.SPIN_DOWN_CONTROL and result == ResultCode.SUCCESS and len(data) >= 7:
        params = _read_params("2ad9", data, 3, _SPIN_DOWN_RESPONSE, "spin_down_control response")
    return ControlResponse(request_op, result, _name(ResultCode, result), params)


def encode_control_response(request_op: int, result: int, param: bytes = b"") -> bytes:
    if not (0 <= request_op <= 0xFF and 0 <= result <= 0xFF):
        raise ValueError("request op and result code are one byte each")
    return bytes((OpCode.RESPONSE_CODE, request_op, result)) + bytes(param)


# ---------------------------------------------------------------------------------------------
# Fitness Machine Status 0x2ADA


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """A status notification: op code, its name (``event`` in ``to_dict``), parameters by name."""

    op: int
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "event": self.name, **self.params}


def decode_machine_status(data: bytes | bytearray | memoryview) -> MachineStatus:
    if len(data) < 1:
        raise DecodeError("2ada", bytes(data), "an empty status notification has no op code")
    op = data[0]
    params = _STATUS_PARAMS.get(op, ())
    if op == StatusOp.TARGET_RESISTANCE_LEVEL_CHANGED and len(data) >= 3:
        params = _RESISTANCE_V101
    name = _name(StatusOp, op)
    return MachineStatus(op, name, _read_params("2ada", data, 1, params, name))


def encode_machine_status(op: int, **params: Any) -> bytes:
    """e.g. ``encode_machine_status(StatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=4.1)``."""
    if not 0 <= op <= 0xFF:
        raise ValueError(f"0x{op:x} is not a status op code")
    return _write_params(op, _STATUS_PARAMS, params, "status op")
