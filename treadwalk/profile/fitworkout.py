"""Garmin FIT workout files (``.fit``) in and out: what a watch plays, as a treadwalk profile.

Reading uses fitdecode (MIT), imported here and only when a ``.fit`` is read, so
``import treadwalk`` never pays for it. Writing uses treadwalk's own FIT encoder
(``treadwalk.core.fit``, shared with the activity export). Stdlib, ``treadwalk.core`` and,
lazily, fitdecode.

Import (``read_fit_workout``): ``workout`` (name, sport walking/running -> intent),
``workout_step`` with time, distance or open durations; speed targets as a custom range in m/s
(the middle is played, the range kept as ``speed_range``); an open target keeps the step
before's speed (said once, in ``Profile.notes``); ``repeat_until_steps_cmplt`` as repeats,
nested where the file nests them; step names as segment names, ``notes`` as a cue at the
step's start, ``intensity`` as the kind. Refused, each as ``FILE: step N: what and why``:
speed zones (the zone table is on the watch), heart-rate targets (not played yet), power,
cadence and other targets, repeats until a time, distance, calorie or heart-rate goal, and
durations other than time, distance and open. A FIT file that is not a workout is refused
in one sentence.

Export (``write_fit_workout``): file type workout, sport by intent, sub-sport treadmill; a
step per segment (a ramp as a few steps), speed as a narrow custom range, repeats as repeat
steps, the incline and the first cue in the notes for the watch. Incline has no standard FIT
target, so every step also carries developer fields: ``incline`` (percent) and ``treadwalk``
(the segment as treadwalk wrote it, JSON, in chunks of at most 240 bytes), which make
TOML -> FIT -> TOML give back the same profile. A file edited elsewhere (Garmin Connect) is
read by its standard fields wherever they disagree with what treadwalk wrote.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import time
from collections.abc import Iterator
from typing import Any

from treadwalk.core.errors import ProfileError, ProfileProblem
from treadwalk.core.fit import (
    ENUM,
    FIT_EPOCH,
    SINT16,
    STRING,
    UINT16,
    UINT32,
    UINT32Z,
    DevField,
    Field,
    FitWriter,
    Message,
    crc16,
)
from treadwalk.core.model import SegmentKind

from .dump import segment_data
from .loader import profile_from_data
from .model import Item, Profile, Segment
from .quantities import format_duration_text, format_number, parse_distance

__all__ = ["read_fit_workout", "write_fit_workout"]

# FIT profile values (Profile.xlsx; the same numbers as garmin_fit_sdk/profile.py 21.218)
FILE_WORKOUT, FILE_ACTIVITY = 5, 4
FILE_TYPES = {
    1: "device",
    4: "activity",
    5: "workout",
    6: "course",
    7: "schedules",
    9: "weight",
    10: "totals",
}
SPORT = {"walking": 11, "running": 1}
SPORT_NAMES = {11: "walking", 1: "running", 0: "generic", 2: "cycling", 5: "swimming"}
SUB_SPORT_TREADMILL = 1
DUR_TIME, DUR_DISTANCE, DUR_OPEN, DUR_REPEAT_STEPS = 0, 1, 5, 6
DURATION_NAMES = {
    2: "until the heart rate is below a value",
    3: "until the heart rate is above a value",
    4: "until a number of calories",
    7: "repeat until a time has passed",
    8: "repeat until a distance is covered",
    9: "repeat until a number of calories",
    10: "repeat until the heart rate is below a value",
    11: "repeat until the heart rate is above a value",
    12: "repeat until the power is below a value",
    13: "repeat until the power is above a value",
    14: "until the power is below a value",
    15: "until the power is above a value",
    16: "until a TSS",
    29: "a number of repetitions",
}
TGT_SPEED, TGT_HR, TGT_OPEN = 0, 1, 2
TARGET_NAMES = {3: "cadence", 4: "power", 5: "grade", 6: "resistance", 7: "power (3 s)", 8: "power (10 s)"}
TARGET_NAMES |= {
    9: "power (30 s)",
    10: "power (lap)",
    11: "swim stroke",
    12: "lap speed",
    13: "lap heart rate",
}
INTENSITY_KIND = {
    0: SegmentKind.WORK,  # active
    1: SegmentKind.RECOVERY,  # rest
    2: SegmentKind.WARMUP,
    3: SegmentKind.COOLDOWN,
    4: SegmentKind.RECOVERY,
    5: SegmentKind.WORK,  # interval
    6: SegmentKind.WORK,  # other
}
KIND_INTENSITY = {
    SegmentKind.WORK: 0,
    SegmentKind.WARMUP: 2,
    SegmentKind.COOLDOWN: 3,
    SegmentKind.RECOVERY: 4,
}

# message and field numbers
MSG_FILE_ID, MSG_WORKOUT, MSG_STEP, MSG_DEVELOPER_DATA_ID = 0, 26, 27, 207
F_STEP_NAME, F_DURATION_TYPE, F_DURATION_VALUE, F_TARGET_TYPE, F_TARGET_VALUE = 0, 1, 2, 3, 4
F_LOW, F_HIGH, F_INTENSITY, F_NOTES, F_INDEX = 5, 6, 7, 8, 254

WKT_NAME_BYTES = 64  # wkt_step_name's size, its NUL included
FILE_ID = Message(
    0,
    "file_id",
    (
        Field(0, "type", ENUM),
        Field(1, "manufacturer", UINT16),
        Field(2, "product", UINT16),
        Field(3, "serial_number", UINT32Z),
        Field(4, "time_created", UINT32),
    ),
)
WORKOUT = Message(
    26,
    "workout",
    (
        Field(4, "sport", ENUM),
        Field(11, "sub_sport", ENUM),
        Field(6, "num_valid_steps", UINT16),
        Field(8, "wkt_name", STRING, size=64),
        Field(17, "wkt_description", STRING, size=128),
    ),
)
WORKOUT_STEP = Message(
    27,
    "workout_step",
    (
        Field(254, "message_index", UINT16),
        Field(0, "wkt_step_name", STRING, size=WKT_NAME_BYTES),
        Field(1, "duration_type", ENUM),
        Field(2, "duration_value", UINT32),
        Field(3, "target_type", ENUM),
        Field(4, "target_value", UINT32),
        Field(5, "custom_target_value_low", UINT32),
        Field(6, "custom_target_value_high", UINT32),
        Field(7, "intensity", ENUM),
        Field(8, "notes", STRING, size=96),
    ),
)
APPLICATION_ID = b"treadwalk-fitwkt"  # 16 bytes: the developer application id
DEV_INCLINE = DevField(0, "incline", SINT16, scale=100, units="%")
CHUNK_BYTES = 240
CHUNKS = 8
DEV_CHUNKS = tuple(DevField(1 + i, f"treadwalk_{i}", STRING, units="json") for i in range(CHUNKS))
SPEED_HALF_WIDTH_KMH = 0.1  # the written range: target +- this
RAMP_STEPS = 4


# ---------------------------------------------------------------------------------------------
# Import


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Step:
    """One workout_step: standard fields by number (raw values), developer fields by name."""

    __slots__ = ("dev", "number", "std")

    def __init__(self, number: int, std: dict[int, Any], dev: dict[str, Any]) -> None:
        self.number, self.std, self.dev = number, std, dev

    def text(self, num: int) -> str | None:
        value = self.std.get(num)
        if not isinstance(value, str):
            return None
        value = _CONTROL.sub(" ", value)  # one line, as the loader wants; otherwise as written
        return value if value.strip() else None

    def json(self) -> dict[str, Any] | None:
        parts = [self.dev.get(f"treadwalk_{i}") for i in range(CHUNKS)]
        raw = "".join(p for p in parts if isinstance(p, str))
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


def _frames(data: bytes, file: str) -> Iterator[tuple[int, dict[int, Any], dict[str, Any]]]:
    import fitdecode  # the one FIT reader; imported only when a .fit is read

    ours: set[int] = set()  # developer data indexes whose application id is treadwalk's
    # fitdecode checks the CRC in pure Python on every read (a quarter of its time): the file's
    # own CRC, over every byte, is checked once here instead, with the same CRC-16
    if len(data) < 16 or crc16(data) != 0:
        raise ProfileError(
            ProfileProblem(
                file, None, "this is not a readable FIT file (it is cut or damaged); export the workout again"
            )
        )
    try:
        with fitdecode.FitReader(
            io.BytesIO(data),
            check_crc=fitdecode.CrcCheck.DISABLED,
            keep_raw_chunks=False,
            processor=fitdecode.DataProcessorBase(),  # raw values: no datetime or unit conversions
        ) as reader:
            for frame in reader:
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                std: dict[int, Any] = {}
                dev: dict[str, Any] = {}
                for fd in frame.fields:
                    if fd.field_def is not None and fd.field_def.is_dev:
                        if fd.field_def.dev_data_index in ours:  # treadwalk's own fields only
                            dev[fd.name] = fd.value
                        continue
                    base = fd.parent_field if fd.parent_field is not None else fd.field
                    num = getattr(base, "def_num", None)
                    if num is not None and fd.raw_value is not None:
                        std[num] = fd.value if isinstance(fd.raw_value, str) else fd.raw_value
                if frame.global_mesg_num == MSG_DEVELOPER_DATA_ID:
                    app = std.get(1)
                    if isinstance(app, tuple | list | bytes) and bytes(app) == APPLICATION_ID:
                        ours.add(std.get(3, 0))
                yield frame.global_mesg_num, std, dev
    except (fitdecode.FitError, EOFError, ValueError, struct.error) as exc:
        raise ProfileError(
            ProfileProblem(file, None, f"this is not a readable FIT file ({exc}); export the workout again")
        ) from exc


def _ms_to_kmh(raw: float) -> float:
    return raw / 1000.0 * 3.6


def read_fit_workout(data: bytes, file: str) -> Profile:
    """A profile from the bytes of a FIT workout file, or a ``ProfileError`` naming each step
    treadwalk cannot play, and why."""
    file_type: int | None = None
    workout: dict[int, Any] = {}
    workout_dev: dict[str, Any] = {}
    steps: list[_Step] = []
    for num, std, dev in _frames(data, file):
        if num == MSG_FILE_ID and file_type is None:
            file_type = std.get(0)
        elif num == MSG_WORKOUT:
            workout, workout_dev = std, dev
        elif num == MSG_STEP:
            steps.append(_Step(len(steps) + 1, std, dev))
    if file_type == FILE_ACTIVITY:
        raise ProfileError(
            ProfileProblem(
                file,
                None,
                "this is a recorded activity, not a workout; export the workout itself as a FIT file",
            )
        )
    if file_type != FILE_WORKOUT:
        what = (
            f"is {_a(FILE_TYPES.get(file_type, f'file of type {file_type}'))}"
            if file_type is not None
            else "has no file type"
        )
        raise ProfileError(
            ProfileProblem(
                file, None, f"this FIT file {what}, not a workout; export the workout as a FIT file"
            )
        )
    if not steps:
        raise ProfileError(ProfileProblem(file, None, "the FIT workout has no steps; nothing to play"))
    sport = workout.get(4)
    problems: list[ProfileProblem] = []
    intent = "running" if sport == SPORT["running"] else "walking"
    if sport is not None and sport not in (SPORT["walking"], SPORT["running"], 0):
        problems.append(
            ProfileProblem(
                file,
                None,
                f"the workout is for {SPORT_NAMES.get(sport, f'sport {sport}')}; "
                "treadwalk plays walking and running workouts",
            )
        )
    extra = _Step(0, workout, workout_dev).json() or {}
    notes: list[str] = []
    items = _items(steps, file, problems, notes)
    if problems:
        raise ProfileError(problems)
    name = _Step(0, workout, {}).text(8) or extra.get("name")
    if isinstance(extra.get("name"), str) and name and extra["name"].startswith(name):
        name = extra["name"]  # the full name, where the watch's field cut it
    stem = file.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    profile_data: dict[str, Any] = {"name": (name or stem)[:80], "intent": intent, "segment": items}
    for key in ("description", "tags", "units"):
        if key in extra:
            profile_data[key] = extra[key]
    if "description" not in profile_data and _Step(0, workout, {}).text(17):
        profile_data["description"] = _Step(0, workout, {}).text(17)
    profile = profile_from_data(profile_data, file, locate=lambda _path: None)
    return _with_notes(profile, notes)


def _with_notes(profile: Profile, notes: list[str]) -> Profile:
    from dataclasses import replace

    return replace(profile, notes=tuple(notes)) if notes else profile


def _a(what: str) -> str:
    return ("an " if what[:1] in "aeiou" else "a ") + what


def _items(steps: list[_Step], file: str, problems: list[ProfileProblem], notes: list[str]) -> list[Any]:
    """Steps -> the TOML-shaped items ``profile_from_data`` validates. A repeat step closes a
    block that starts at the step it points back to."""

    def refuse(step: _Step, what: str) -> None:
        problems.append(ProfileProblem(file, None, f"step {step.number}: {what}"))

    out: list[tuple[int, dict[str, Any]]] = []  # (first step index, item)
    last_speed: Any = None
    open_target_steps: list[int] = []
    skip = 0
    for i, step in enumerate(steps):
        if skip:
            skip -= 1
            continue
        duration_type = step.std.get(F_DURATION_TYPE)
        if duration_type == DUR_REPEAT_STEPS:
            back = step.std.get(F_DURATION_VALUE)
            times = step.std.get(F_TARGET_VALUE)
            starts = [s for s, _ in out]
            if not isinstance(back, int) or back >= i or back not in starts:
                refuse(
                    step,
                    f"the repeat goes back to step {(back or 0) + 1}, which does not start a block before it",
                )
                continue
            if not isinstance(times, int) or not 1 <= times <= 100:
                refuse(step, f"the repeat count {times} is not 1 to 100")
                continue
            at = starts.index(back)
            block = [item for _, item in out[at:]]
            del out[at:]
            repeat: dict[str, Any] = {"repeat": times, "segment": block}
            name = (step.json() or {}).get("name", step.text(F_STEP_NAME))  # the full name, if cut
            if name:
                repeat["name"] = name
            out.append((back, repeat))
            continue
        if duration_type not in (DUR_TIME, DUR_DISTANCE, DUR_OPEN):
            what = DURATION_NAMES.get(int(duration_type or 0), f"duration type {duration_type}")
            if what.startswith("repeat"):
                refuse(step, f"a {what} cannot be planned on a treadmill; repeat a number of times instead")
            else:
                refuse(step, f"a step that lasts {what} cannot be played; give it a time or a distance")
            continue
        written = step.json()
        if written is not None and _agrees(written, step):
            item = {k: v for k, v in written.items() if k not in _WRITTEN_ONLY}
            skip = max(0, int(written.get("ramp", 1)) - 1)
            item["kind"] = INTENSITY_KIND.get(step.std.get(F_INTENSITY, 0), SegmentKind.WORK).value
            if "name" not in item and skip == 0 and step.text(F_STEP_NAME):
                item["name"] = step.text(F_STEP_NAME)
            if written.get("open"):
                item["duration"] = "open"
            elif isinstance(written.get("_s"), int | float):
                item["duration"] = format_duration_text(written["_s"])
            last_speed = item.get("end_speed", item.get("speed"))
            out.append((i, item))
            continue
        item = {}
        name = step.text(F_STEP_NAME)
        if name:
            item["name"] = name[:80]
        kind = INTENSITY_KIND.get(step.std.get(F_INTENSITY, 0), SegmentKind.WORK)
        item["kind"] = kind.value
        value = step.std.get(F_DURATION_VALUE)
        if duration_type == DUR_TIME:
            item["duration"] = format_duration_text(round((value or 0) / 1000.0, 3))
        elif duration_type == DUR_DISTANCE:
            item["distance"] = f"{format_number(round((value or 0) / 100.0, 2))}m"
        else:
            item["duration"] = "open"  # the lap-button step: until the walker presses n
        target = step.std.get(F_TARGET_TYPE, TGT_OPEN)
        if target == TGT_SPEED:
            zone = step.std.get(F_TARGET_VALUE) or 0
            low, high = step.std.get(F_LOW), step.std.get(F_HIGH)
            if zone:
                refuse(
                    step,
                    f"the target is speed zone {zone}, and the zone table is on the watch; "
                    "give the step a custom speed range",
                )
                continue
            if not isinstance(low, int) or not isinstance(high, int) or low <= 0 or high <= 0:
                refuse(step, "the speed target has no range; give the step a custom speed range")
                continue
            low, high = min(low, high), max(low, high)
            item["speed"] = round(_ms_to_kmh((low + high) / 2), 2)
            if high != low:
                item["speed_range"] = [round(_ms_to_kmh(low), 2), round(_ms_to_kmh(high), 2)]
            last_speed = item["speed"]
        elif target == TGT_OPEN:
            if last_speed is None:
                refuse(step, "the first step has no speed target (open); give it a custom speed range")
                continue
            item["speed"] = last_speed
            open_target_steps.append(step.number)
        elif target == TGT_HR:
            zone = step.std.get(F_TARGET_VALUE) or 0
            low, high = step.std.get(F_LOW), step.std.get(F_HIGH)
            what = f"heart-rate zone {zone}" if zone else f"heart rate {_bpm(low)} to {_bpm(high)}"
            refuse(
                step,
                f"the target is {what}, and this treadwalk does not steer by heart rate yet; "
                "give the step a custom speed range",
            )
            continue
        else:
            refuse(
                step,
                f"the target is {TARGET_NAMES.get(target, f'target type {target}')}, which a treadmill "
                "cannot set; give the step a custom speed range",
            )
            continue
        incline = step.dev.get("incline")
        if isinstance(incline, int | float) and math.isfinite(incline):
            item["incline"] = round(incline / DEV_INCLINE.scale, 2)  # readers give the raw value
        cue = step.text(F_NOTES)
        if cue:
            at_key, at_value = ("at_distance", "0m") if "distance" in item else ("at", "0s")
            item["cues"] = [{at_key: at_value, "text": cue[:80]}]
        out.append((i, item))
    if open_target_steps:
        listed = ", ".join(str(n) for n in open_target_steps)
        notes.append(
            f"step{'s' if len(open_target_steps) > 1 else ''} {listed} "
            "had no target (open): each keeps the speed of the step before"
        )
    return [item for _, item in out]


_WRITTEN_ONLY = ("_s", "_m", "ramp", "ramp_part_length", "ramp_part", "open")


def _bpm(raw: object) -> str:
    if not isinstance(raw, int):
        return "?"
    return f"{raw - 100} bpm" if raw > 100 else f"{raw} % of max"


def _agrees(written: dict[str, Any], step: _Step) -> bool:
    """Whether what treadwalk wrote still matches the step's standard fields (the file was
    not edited elsewhere): the same length, and the speed inside the written range."""
    value = step.std.get(F_DURATION_VALUE)
    if step.std.get(F_DURATION_TYPE) == DUR_OPEN:
        return bool(written.get("open"))
    if not isinstance(value, int):
        return False
    part = written.get("ramp_part_length")
    if isinstance(part, int) and int(written.get("ramp", 1)) > 1:
        return abs(value - part) <= 1
    if step.std.get(F_DURATION_TYPE) == DUR_TIME:
        want = written.get("_s")
        return isinstance(want, int | float) and abs(value - want * 1000) <= 1
    try:
        metres = parse_distance(written.get("distance")).metres
    except ValueError:
        return False
    return abs(value - metres * 100) <= 1


# ---------------------------------------------------------------------------------------------
# Export


def _chunks(text: str) -> list[str]:
    """``text`` cut on character boundaries into pieces of at most CHUNK_BYTES bytes."""
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        if size + n > CHUNK_BYTES:
            out.append("".join(cur))
            cur, size = [], 0
        cur.append(ch)
        size += n
    if cur:
        out.append("".join(cur))
    return out


def _dev_json(value: dict[str, Any], notes: list[str], where: str) -> list[tuple[Field, Any]]:
    chunks = _chunks(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if len(chunks) > CHUNKS:
        notes.append(f"{where} is too long to carry exactly in a FIT file: its standard fields were written")
        return []
    return [(DEV_CHUNKS[i].as_field(len(c.encode("utf-8")) + 1), c) for i, c in enumerate(chunks)]


def write_fit_workout(profile: Profile, *, created: float | None = None) -> tuple[bytes, list[str]]:
    """The profile as a FIT workout file, and notes on what the format could not keep."""
    notes: list[str] = []
    rows: list[tuple[dict[str, Any], list[tuple[Field, Any]]]] = []

    def add_segment(seg: Segment) -> None:
        data = segment_data(seg)
        plan = seg.to_plan_segment()
        ramp = seg.end_speed is not None or seg.end_incline_pct is not None
        parts = RAMP_STEPS if ramp else 1
        # what the standard fields already say exactly is left out of the developer fields:
        # the kind (intensity), the name when it fits wkt_step_name, a duration (duration_s)
        written = {k: v for k, v in data.items() if k not in ("kind", "duration")}
        if not ramp and seg.name is not None and len(seg.name.encode("utf-8")) < WKT_NAME_BYTES:
            written.pop("name", None)
        if seg.open:
            written["open"] = True
            rows.append(
                (
                    {
                        "wkt_step_name": seg.name or "",
                        "duration_type": DUR_OPEN,
                        "duration_value": None,
                        "target_type": TGT_SPEED,
                        "target_value": 0,
                        "custom_target_value_low": _ms_raw(seg, -1),
                        "custom_target_value_high": _ms_raw(seg, 1),
                        "intensity": KIND_INTENSITY.get(seg.kind, 0),
                        "notes": _watch_note(seg.incline_pct, seg.cues[0].text if seg.cues else ""),
                    },
                    [
                        (DEV_INCLINE.as_field(), seg.incline_pct),
                        *_dev_json(written, notes, f"segment {seg.title}"),
                    ],
                )
            )
            return
        if seg.duration_s is not None:
            written["_s"] = seg.duration_s
            total = round(seg.duration_s * 1000)
        else:
            assert seg.distance is not None
            total = round(seg.distance.metres * 100)
        bounds = [round(total * k / parts) for k in range(parts + 1)]
        if parts > 1:
            written["ramp"] = parts
            written["ramp_part_length"] = bounds[1] - bounds[0]
        for k in range(parts):
            mid = (k + 0.5) / parts
            kmh = plan.speed_at(mid)
            incline = plan.incline_at(mid)
            rng = (kmh - SPEED_HALF_WIDTH_KMH, kmh + SPEED_HALF_WIDTH_KMH)
            if seg.speed_range is not None and parts == 1:
                rng = (seg.speed_range[0].kmh, seg.speed_range[1].kmh)
            cue = seg.cues[0].text if seg.cues and k == 0 else ""
            watch_note = _watch_note(incline, cue)
            name = seg.name or ""
            if parts > 1:
                name = f"{seg.title} {k + 1}/{parts}"
            values = {
                "wkt_step_name": name,
                "duration_type": DUR_TIME if seg.duration_s is not None else DUR_DISTANCE,
                "duration_value": bounds[k + 1] - bounds[k],
                "target_type": TGT_SPEED,
                "target_value": 0,
                "custom_target_value_low": round(max(rng[0], 0.1) / 3.6 * 1000),
                "custom_target_value_high": round(rng[1] / 3.6 * 1000),
                "intensity": KIND_INTENSITY.get(seg.kind, 0),
                "notes": watch_note,
            }
            dev: list[tuple[Field, Any]] = [(DEV_INCLINE.as_field(), incline)]
            if k == 0:
                dev += _dev_json(written, notes, f"segment {seg.title}")
            else:
                dev += _dev_json({"ramp_part": k}, notes, f"segment {seg.title}")
            rows.append((values, dev))
        if len(seg.cues) > 1 or (seg.cues and _cue_offset(seg) > 0):
            notes.append(
                "a watch shows a step's notes at its start: cues later in a step are kept for treadwalk only"
            )

    def add_items(items: tuple[Item, ...]) -> None:
        for item in items:
            if isinstance(item, Segment):
                add_segment(item)
                continue
            first = len(rows)
            add_items(item.items)
            rows.append(
                (
                    {
                        "wkt_step_name": item.name or "",
                        "duration_type": DUR_REPEAT_STEPS,
                        "duration_value": first,
                        "target_type": TGT_OPEN,
                        "target_value": item.times,
                        "intensity": None,
                    },
                    _dev_json({"name": item.name}, notes, "a repeat name") if item.name else [],
                )
            )

    add_items(profile.items)
    w = FitWriter()
    w.write(
        FILE_ID,
        {
            "type": FILE_WORKOUT,
            "manufacturer": 255,  # development
            "product": 0,
            "serial_number": 1,
            "time_created": max(0, int(time.time() if created is None else created) - FIT_EPOCH),
        },
    )
    w.developer_fields(APPLICATION_ID, (DEV_INCLINE, *DEV_CHUNKS))
    extra: dict[str, Any] = {"name": profile.name, "tags": list(profile.tags)}
    if profile.description:
        extra["description"] = profile.description
    if profile.units is not None:
        extra["units"] = profile.units
    w.write(
        WORKOUT,
        {
            "sport": SPORT.get(profile.intent, SPORT["walking"]),
            "sub_sport": SUB_SPORT_TREADMILL,
            "num_valid_steps": len(rows),
            "wkt_name": profile.name,
            "wkt_description": profile.description,
        },
        _dev_json(extra, notes, "the description"),
    )
    for index, (values, dev) in enumerate(rows):
        sizes = {k: _string_size(values.get(k), f.size) for k, f in _STEP_STRINGS.items()}
        w.write(WORKOUT_STEP, {"message_index": index, **values}, dev, sizes)
    return w.getvalue(), sorted(set(notes))


_STEP_STRINGS = {f.name: f for f in WORKOUT_STEP.fields if f.base is STRING}


def _string_size(value: object, most: int) -> int:
    """A string field's size: the text and its NUL, rounded up to 16 bytes (so steps share
    a few layouts), at most ``most``. An empty text takes one byte."""
    n = len(str(value or "").encode("utf-8")) + 1
    return 1 if n == 1 else min(most, -(-n // 16) * 16)


def _watch_note(incline: float, cue: str) -> str:
    """What the watch shows at the step's start: the incline (no standard FIT target) and a cue."""
    return " · ".join(
        x for x in (f"incline {format_number(round(incline, 1))} %" if incline else "", cue) if x
    )


def _ms_raw(seg: Segment, side: int) -> int:
    """One end of the written speed range, in mm/s (FIT's custom_target_speed)."""
    if seg.speed_range is not None:
        kmh = seg.speed_range[0 if side < 0 else 1].kmh
    else:
        kmh = max(seg.speed.kmh + side * SPEED_HALF_WIDTH_KMH, 0.1)
    return round(kmh / 3.6 * 1000)


def _cue_offset(seg: Segment) -> float:
    cue = seg.cues[0]
    if cue.at_distance is not None:
        return cue.at_distance.metres
    return cue.at_s or 0.0
