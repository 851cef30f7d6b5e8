"""The FIT activity messages, and ``export_fit(store, session_id) -> bytes``. Stdlib only; the
encoder itself (base types, definitions, CRC) is ``treadwalk.core.fit``, shared with the FIT
workout export of ``treadwalk.profile``.

Why our own encoder: Garmin's FIT SDK (``garmin-fit-sdk``) is under the "FIT Protocol License
Agreement", not an open-source licence: use limited to the licensee's internal business purposes,
no redistribution or sublicensing, the SDK treated as Garmin's confidential information, and no
use in safety-related applications. That cannot ship inside an MIT package driving a treadmill,
so it stays a test-only *reader* (an independent check of our files) and we write FIT ourselves.
The format is small: a 14-byte header, definition and data messages, a CRC-16 at the end.

Message and field numbers, base types, scales and enum values are those of the FIT profile
(Profile.xlsx; read here from ``garmin_fit_sdk/profile.py`` 21.218, which carries the same
numbers). Only the messages an activity needs are written: file_id, device_info, event, record,
lap, session, activity ("summary last" order: records, then laps, session, activity).
"""

from __future__ import annotations

import time
from typing import Any

from treadwalk import __version__
from treadwalk.core.fit import (
    ENUM,
    FIT_EPOCH,
    SINT16,
    STRING,
    UINT8,
    UINT16,
    UINT32,
    UINT32Z,
    Field,
    FitWriter,
    Message,
    crc16,
)

from .laps import Lap, activity_samples, cadence_spm_between, laps, totals
from .store import NothingToExport, SessionStore

__all__ = ["FIT_EPOCH", "FitWriter", "crc16", "export_fit"]


TIMESTAMP = Field(253, "timestamp", UINT32)
MESSAGE_INDEX = Field(254, "message_index", UINT16)

FILE_ID = Message(
    0,
    "file_id",
    (
        Field(0, "type", ENUM),
        Field(1, "manufacturer", UINT16),
        Field(2, "product", UINT16),
        Field(3, "serial_number", UINT32Z),
        Field(4, "time_created", UINT32),
        Field(8, "product_name", STRING, size=20),
    ),
)
DEVICE_INFO = Message(
    23,
    "device_info",
    (
        TIMESTAMP,
        Field(0, "device_index", UINT8),
        Field(2, "manufacturer", UINT16),
        Field(4, "product", UINT16),
        Field(5, "software_version", UINT16, scale=100),
        Field(25, "source_type", ENUM),
        Field(27, "product_name", STRING, size=32),
    ),
)
EVENT = Message(
    21,
    "event",
    (TIMESTAMP, Field(0, "event", ENUM), Field(1, "event_type", ENUM), Field(4, "event_group", UINT8)),
)
RECORD = Message(
    20,
    "record",
    (
        TIMESTAMP,
        Field(5, "distance", UINT32, scale=100),
        Field(6, "speed", UINT16, scale=1000),
        Field(73, "enhanced_speed", UINT32, scale=1000),
        Field(3, "heart_rate", UINT8),
        Field(4, "cadence", UINT8),
        Field(9, "grade", SINT16, scale=100),
    ),
)
HRV = Message(78, "hrv", (Field(0, "time", UINT16, scale=1000),))  # one RR interval, seconds
_TOTALS = (
    Field(7, "total_elapsed_time", UINT32, scale=1000),
    Field(8, "total_timer_time", UINT32, scale=1000),
    Field(9, "total_distance", UINT32, scale=100),
    Field(11, "total_calories", UINT16),
)
LAP = Message(
    19,
    "lap",
    (
        MESSAGE_INDEX,
        TIMESTAMP,
        Field(0, "event", ENUM),
        Field(1, "event_type", ENUM),
        Field(2, "start_time", UINT32),
        *_TOTALS,
        Field(13, "avg_speed", UINT16, scale=1000),
        Field(14, "max_speed", UINT16, scale=1000),
        Field(15, "avg_heart_rate", UINT8),
        Field(16, "max_heart_rate", UINT8),
        Field(17, "avg_cadence", UINT8),
        Field(21, "total_ascent", UINT16),
        Field(23, "intensity", ENUM),
        Field(24, "lap_trigger", ENUM),
        Field(25, "sport", ENUM),
        Field(39, "sub_sport", ENUM),
        Field(71, "wkt_step_index", UINT16),
    ),
)
SESSION = Message(
    18,
    "session",
    (
        MESSAGE_INDEX,
        TIMESTAMP,
        Field(0, "event", ENUM),
        Field(1, "event_type", ENUM),
        Field(2, "start_time", UINT32),
        Field(5, "sport", ENUM),
        Field(6, "sub_sport", ENUM),
        *_TOTALS,
        Field(14, "avg_speed", UINT16, scale=1000),
        Field(15, "max_speed", UINT16, scale=1000),
        Field(16, "avg_heart_rate", UINT8),
        Field(17, "max_heart_rate", UINT8),
        Field(18, "avg_cadence", UINT8),
        Field(22, "total_ascent", UINT16),
        Field(25, "first_lap_index", UINT16),
        Field(26, "num_laps", UINT16),
        Field(28, "trigger", ENUM),
        Field(110, "sport_profile_name", STRING, size=32),
    ),
)
ACTIVITY = Message(
    34,
    "activity",
    (
        TIMESTAMP,
        Field(0, "total_timer_time", UINT32, scale=1000),
        Field(1, "num_sessions", UINT16),
        Field(2, "type", ENUM),
        Field(3, "event", ENUM),
        Field(4, "event_type", ENUM),
        Field(5, "local_timestamp", UINT32),
    ),
)

# Enum values (FIT profile types).
FILE_ACTIVITY = 4
MANUFACTURER_DEVELOPMENT = 255
SPORT = {"walking": 11, "running": 1}
SUB_SPORT_TREADMILL = 1
EVENT_TIMER, EVENT_SESSION, EVENT_LAP, EVENT_ACTIVITY = 0, 8, 9, 26
EVENT_TYPE_START, EVENT_TYPE_STOP, EVENT_TYPE_STOP_ALL = 0, 1, 4
INTENSITY = {"work": 0, "warmup": 2, "cooldown": 3, "recovery": 4}  # 1 is "rest" (standing)
LAP_TRIGGER_TIME, LAP_TRIGGER_DISTANCE, LAP_TRIGGER_SESSION_END = 1, 2, 7
SESSION_TRIGGER_ACTIVITY_END = 0
ACTIVITY_MANUAL = 0
SOURCE_LOCAL, SOURCE_BLE = 5, 3


def fit_time(t: float) -> int:
    return max(0, int(t) - FIT_EPOCH)


# ---------------------------------------------------------------------------------------------
# The export


def _ms(kmh: float | None) -> float | None:
    return None if kmh is None else kmh / 3.6


def export_fit(store: SessionStore, session_id: int) -> bytes:
    """The session as a FIT activity file: sport from the plan's intent (walking unless the
    profile says running; never guessed from speed), sub-sport treadmill, a record per sample,
    a lap per segment, session totals. Raises ``NothingToExport`` when the belt never moved."""
    info = store.get_session(session_id)
    samples = activity_samples(store.samples(session_id))
    if not samples:
        raise NothingToExport(session_id)
    sport = SPORT.get(info.sport, SPORT["walking"])
    session_laps = laps(samples, info.plan)
    total = totals(samples)
    start, end = fit_time(total.start_t), fit_time(total.end_t)

    w = FitWriter()
    w.write(
        FILE_ID,
        {
            "type": FILE_ACTIVITY,
            "manufacturer": MANUFACTURER_DEVELOPMENT,
            "product": 0,
            "serial_number": session_id,
            "time_created": fit_time(info.started),
            "product_name": "treadwalk",
        },
    )
    w.write(DEVICE_INFO, _device(start, 0, "treadwalk", SOURCE_LOCAL, _version_number()))
    w.write(DEVICE_INFO, _device(start, 1, info.device, SOURCE_BLE, None))
    w.write(
        EVENT, {"timestamp": start, "event": EVENT_TIMER, "event_type": EVENT_TYPE_START, "event_group": 0}
    )

    paused = False
    for prev, s in zip([None, *samples[:-1]], samples, strict=True):
        now_paused = s.phase == "paused"
        if now_paused != paused:
            w.write(
                EVENT,
                {
                    "timestamp": fit_time(s.t),
                    "event": EVENT_TIMER,
                    "event_type": EVENT_TYPE_STOP_ALL if now_paused else EVENT_TYPE_START,
                    "event_group": 0,
                },
            )
            paused = now_paused
        spm = cadence_spm_between(prev, s) if prev is not None else None
        w.write(
            RECORD,
            {
                "timestamp": fit_time(s.t),
                "distance": s.distance_m,
                "speed": _ms(s.speed_kmh),
                "enhanced_speed": _ms(s.speed_kmh),
                "heart_rate": s.heart_rate_bpm or None,
                "cadence": None if spm is None else spm / 2,  # FIT running cadence: strides/min
                "grade": s.incline_pct,
            },
        )
        for rr in s.rr_ms:  # the strap's beat-to-beat intervals, as Garmin writes them (HRV)
            w.write(HRV, {"time": rr / 1000.0})
    w.write(
        EVENT, {"timestamp": end, "event": EVENT_TIMER, "event_type": EVENT_TYPE_STOP_ALL, "event_group": 0}
    )
    for lap in session_laps:
        w.write(LAP, _lap_values(lap, sport, last=lap is session_laps[-1]))
    w.write(
        SESSION,
        {
            "message_index": 0,
            "timestamp": end,
            "event": EVENT_SESSION,
            "event_type": EVENT_TYPE_STOP,
            "start_time": start,
            "sport": sport,
            "sub_sport": SUB_SPORT_TREADMILL,
            "total_elapsed_time": total.elapsed_s,
            "total_timer_time": total.timer_s,
            "total_distance": total.distance_m,
            "total_calories": total.energy_kcal,
            "avg_speed": _ms(total.avg_speed_kmh),
            "max_speed": _ms(total.max_speed_kmh),
            "avg_heart_rate": total.avg_heart_rate_bpm,
            "max_heart_rate": total.max_heart_rate_bpm,
            "avg_cadence": None if total.avg_cadence_spm is None else total.avg_cadence_spm / 2,
            "total_ascent": total.ascent_m,
            "first_lap_index": 0,
            "num_laps": len(session_laps),
            "trigger": SESSION_TRIGGER_ACTIVITY_END,
            "sport_profile_name": info.profile,
        },
    )
    w.write(
        ACTIVITY,
        {
            "timestamp": end,
            "total_timer_time": total.timer_s,
            "num_sessions": 1,
            "type": ACTIVITY_MANUAL,
            "event": EVENT_ACTIVITY,
            "event_type": EVENT_TYPE_STOP,
            "local_timestamp": end + time.localtime(total.end_t).tm_gmtoff,
        },
    )
    return w.getvalue()


def _device(ts: int, index: int, name: str, source: int, version: float | None) -> dict[str, Any]:
    return {
        "timestamp": ts,
        "device_index": index,
        "manufacturer": MANUFACTURER_DEVELOPMENT,
        "product": 0,
        "software_version": version,
        "source_type": source,
        "product_name": name,
    }


def _version_number() -> float | None:
    """``0.1.0`` -> 0.1 (FIT software_version is a number with two decimals)."""
    parts = __version__.split(".")
    try:
        return int(parts[0]) + int(parts[1]) / 100 if len(parts) >= 2 else float(parts[0])
    except ValueError:
        return None


def _lap_values(lap: Lap, sport: int, *, last: bool) -> dict[str, Any]:
    t = lap.totals
    trigger = LAP_TRIGGER_DISTANCE if lap.by_distance else LAP_TRIGGER_TIME
    return {
        "message_index": lap.index,
        "timestamp": fit_time(t.end_t),
        "event": EVENT_LAP,
        "event_type": EVENT_TYPE_STOP,
        "start_time": fit_time(t.start_t),
        "total_elapsed_time": t.elapsed_s,
        "total_timer_time": t.timer_s,
        "total_distance": t.distance_m,
        "total_calories": t.energy_kcal,
        "avg_speed": _ms(t.avg_speed_kmh),
        "max_speed": _ms(t.max_speed_kmh),
        "avg_heart_rate": t.avg_heart_rate_bpm,
        "max_heart_rate": t.max_heart_rate_bpm,
        "avg_cadence": None if t.avg_cadence_spm is None else t.avg_cadence_spm / 2,
        "total_ascent": t.ascent_m,
        "intensity": INTENSITY.get(lap.kind, 0),
        "lap_trigger": LAP_TRIGGER_SESSION_END if last else trigger,
        "sport": sport,
        "sub_sport": SUB_SPORT_TREADMILL,
        "wkt_step_index": lap.segment,
    }
