"""GATT UUIDs of the Fitness Machine, Heart Rate, Battery and Device Information services, as full
lower-case strings.

Stdlib only. ``short(uuid)`` turns any spelling (``2ACD``, ``0x2acd``, the full form) into the
four-hex-digit key the codec dispatches on.
"""

from __future__ import annotations

__all__ = [
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "BODY_SENSOR_LOCATION_UUID",
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
    "MACHINE_STATUS_UUID",
    "MANUFACTURER_NAME_UUID",
    "MODEL_NUMBER_UUID",
    "SERIAL_NUMBER_UUID",
    "SOFTWARE_REVISION_UUID",
    "SPEED_RANGE_UUID",
    "TRAINING_STATUS_UUID",
    "TREADMILL_DATA_UUID",
    "short",
    "uuid16",
]

_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def uuid16(value: int) -> str:
    """A 16-bit SIG UUID in its full 128-bit lower-case form."""
    return f"0000{value:04x}{_BASE_SUFFIX}"


FTMS_SERVICE_UUID = uuid16(0x1826)
FEATURE_UUID = uuid16(0x2ACC)
TREADMILL_DATA_UUID = uuid16(0x2ACD)
TRAINING_STATUS_UUID = uuid16(0x2AD3)
SPEED_RANGE_UUID = uuid16(0x2AD4)
INCLINE_RANGE_UUID = uuid16(0x2AD5)
CONTROL_POINT_UUID = uuid16(0x2AD9)
MACHINE_STATUS_UUID = uuid16(0x2ADA)

DEVICE_INFORMATION_SERVICE_UUID = uuid16(0x180A)
MODEL_NUMBER_UUID = uuid16(0x2A24)
SERIAL_NUMBER_UUID = uuid16(0x2A25)
FIRMWARE_REVISION_UUID = uuid16(0x2A26)
HARDWARE_REVISION_UUID = uuid16(0x2A27)
SOFTWARE_REVISION_UUID = uuid16(0x2A28)
MANUFACTURER_NAME_UUID = uuid16(0x2A29)

HEART_RATE_SERVICE_UUID = uuid16(0x180D)
HEART_RATE_MEASUREMENT_UUID = uuid16(0x2A37)
BODY_SENSOR_LOCATION_UUID = uuid16(0x2A38)
HEART_RATE_CONTROL_POINT_UUID = uuid16(0x2A39)
BATTERY_SERVICE_UUID = uuid16(0x180F)
BATTERY_LEVEL_UUID = uuid16(0x2A19)


def short(uuid: str) -> str:
    """``"2ACD"``, ``"0x2acd"`` or ``"00002acd-0000-1000-8000-00805f9b34fb"`` -> ``"2acd"``.

    Anything else (e.g. ``"adv"`` or a vendor 128-bit UUID) comes back stripped and lower-cased.
    """
    u = uuid.strip().lower()
    if u.startswith("0x"):
        u = u[2:]
    if len(u) == 36 and u.endswith(_BASE_SUFFIX) and u.startswith("0000"):
        return u[4:8]
    return u
