"""The FTMS and Heart Rate codec: bytes of the Fitness Machine, Heart Rate and Battery services <->
typed values. No I/O.

Imports only the standard library and ``treadwalk.core``. Every decode failure raises
``treadwalk.core.errors.DecodeError`` (characteristic, raw bytes, reason); nothing else escapes a
decoder. Encoders raise ``ValueError`` for values the wire cannot carry.

- ``treadmill_data``: 0x2ACD, with multi-packet split and reassembly;
- ``machine``: 0x2ACC features, 0x2AD4/0x2AD5 ranges, 0x2AD3 training status, advertisement;
- ``control``: 0x2AD9 control point requests/responses, 0x2ADA machine status;
- ``heart_rate``: 0x2A37 heart rate measurement, 0x2A38 body sensor location, 0x2A19 battery;
- ``uuids``: the UUID strings.

``decode(char, data)`` dispatches on a characteristic (``2acd``, ``0x2ACD``, the full UUID) or
``adv`` and returns an object with ``to_dict()`` (canonical field names of DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from treadwalk.core.errors import DecodeError

from .control import (
    ControlRequest,
    ControlResponse,
    MachineStatus,
    OpCode,
    ResultCode,
    StatusOp,
    StopControl,
    decode_control_request,
    decode_control_response,
    decode_machine_status,
    encode_control_request,
    encode_control_response,
    encode_machine_status,
    pause,
    request_control,
    reset,
    set_target_heart_rate,
    set_target_incline,
    set_target_speed,
    set_targeted_distance,
    set_targeted_energy,
    set_targeted_steps,
    set_targeted_time,
    start_or_resume,
    stop,
)
from .heart_rate import (
    RESET_ENERGY_EXPENDED,
    BatteryLevel,
    BodySensorLocation,
    HeartRateMeasurement,
    SensorLocation,
    decode_battery_level,
    decode_body_sensor_location,
    decode_heart_rate_measurement,
    encode_battery_level,
    encode_body_sensor_location,
    encode_heart_rate_measurement,
    max_rr_intervals,
)
from .machine import (
    MACHINE_FEATURE_NAMES,
    MACHINE_TYPE_NAMES,
    TARGET_FEATURE_NAMES,
    Advertisement,
    Features,
    InclineRange,
    SpeedRange,
    TrainingStatus,
    TrainingStatusCode,
    decode_advertisement,
    decode_features,
    decode_incline_range,
    decode_speed_range,
    decode_training_status,
    encode_advertisement,
    encode_features,
    encode_incline_range,
    encode_speed_range,
    encode_training_status,
)
from .treadmill_data import (
    TreadmillData,
    TreadmillDataAssembler,
    decode_treadmill_data,
    encode_treadmill_data,
    split_treadmill_record,
)
from .uuids import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    BODY_SENSOR_LOCATION_UUID,
    CONTROL_POINT_UUID,
    DEVICE_INFORMATION_SERVICE_UUID,
    FEATURE_UUID,
    FIRMWARE_REVISION_UUID,
    FTMS_SERVICE_UUID,
    HARDWARE_REVISION_UUID,
    HEART_RATE_CONTROL_POINT_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    INCLINE_RANGE_UUID,
    MACHINE_STATUS_UUID,
    MANUFACTURER_NAME_UUID,
    MODEL_NUMBER_UUID,
    SERIAL_NUMBER_UUID,
    SOFTWARE_REVISION_UUID,
    SPEED_RANGE_UUID,
    TRAINING_STATUS_UUID,
    TREADMILL_DATA_UUID,
    short,
    uuid16,
)

__all__ = [
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "BODY_SENSOR_LOCATION_UUID",
    "CHARACTERISTICS",
    "CONTROL_POINT_UUID",
    "DEVICE_INFORMATION_SERVICE_UUID",
    "FEATURE_UUID",
    "FIRMWARE_REVISION_UUID",
    "FTMS_SERVICE_UUID",
    "HARDWARE_REVISION_UUID",
    "HEART_RATE_CONTROL_POINT_UUID",
    "HEART_RATE_MEASUREMENT_UUID",
    "HEART_RATE_SERVICE_UUID",
    "INCLINE_RANGE_UUID",
    "MACHINE_FEATURE_NAMES",
    "MACHINE_STATUS_UUID",
    "MACHINE_TYPE_NAMES",
    "MANUFACTURER_NAME_UUID",
    "MODEL_NUMBER_UUID",
    "RESET_ENERGY_EXPENDED",
    "SERIAL_NUMBER_UUID",
    "SOFTWARE_REVISION_UUID",
    "SPEED_RANGE_UUID",
    "TARGET_FEATURE_NAMES",
    "TRAINING_STATUS_UUID",
    "TREADMILL_DATA_UUID",
    "Advertisement",
    "BatteryLevel",
    "BodySensorLocation",
    "ControlRequest",
    "ControlResponse",
    "Decoded",
    "Features",
    "HeartRateMeasurement",
    "InclineRange",
    "MachineStatus",
    "OpCode",
    "ResultCode",
    "SensorLocation",
    "SpeedRange",
    "StatusOp",
    "StopControl",
    "TrainingStatus",
    "TrainingStatusCode",
    "TreadmillData",
    "TreadmillDataAssembler",
    "decode",
    "decode_advertisement",
    "decode_battery_level",
    "decode_body_sensor_location",
    "decode_control_point",
    "decode_control_request",
    "decode_control_response",
    "decode_features",
    "decode_heart_rate_measurement",
    "decode_incline_range",
    "decode_machine_status",
    "decode_speed_range",
    "decode_training_status",
    "decode_treadmill_data",
    "encode_advertisement",
    "encode_battery_level",
    "encode_body_sensor_location",
    "encode_control_request",
    "encode_control_response",
    "encode_features",
    "encode_heart_rate_measurement",
    "encode_incline_range",
    "encode_machine_status",
    "encode_speed_range",
    "encode_training_status",
    "encode_treadmill_data",
    "max_rr_intervals",
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
    "short",
    "split_treadmill_record",
    "start_or_resume",
    "stop",
    "uuid16",
]


class Decoded(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def decode_control_point(data: bytes | bytearray | memoryview) -> ControlRequest | ControlResponse:
    """0x2AD9 either way: a frame starting 0x80 is the machine's response, else a request."""
    if len(data) >= 1 and data[0] == OpCode.RESPONSE_CODE:
        return decode_control_response(data)
    return decode_control_request(data)


_DECODERS: dict[str, Callable[[bytes], Decoded]] = {
    "2acc": decode_features,
    "2acd": decode_treadmill_data,
    "2ad3": decode_training_status,
    "2ad4": decode_speed_range,
    "2ad5": decode_incline_range,
    "2ad9": decode_control_point,
    "2ada": decode_machine_status,
    "2a37": decode_heart_rate_measurement,
    "2a38": decode_body_sensor_location,
    "2a19": decode_battery_level,
    "adv": decode_advertisement,
}

#: What ``decode`` accepts, as the short keys.
CHARACTERISTICS: tuple[str, ...] = tuple(_DECODERS)


def decode(char: str, data: bytes | bytearray | memoryview) -> Decoded:
    """Decode ``data`` as characteristic ``char``. Raises ``DecodeError`` for anything it cannot."""
    key = short(char)
    decoder = _DECODERS.get(key)
    if decoder is None:
        raise DecodeError(
            char, bytes(data), f"unknown characteristic; use one of {', '.join(CHARACTERISTICS)}"
        )
    return decoder(bytes(data))
