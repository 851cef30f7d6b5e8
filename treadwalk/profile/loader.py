"""Loading and validating TOML profiles. Stdlib and ``treadwalk.core`` only.

``parse_profile(text, file)`` reads the whole file and reports every problem at once as a
``ProfileError`` (each ``FILE:LINE: what is wrong, and what is allowed``); it returns a
``Profile`` only when there is none, so a profile is never half-loaded.

Bounds (what home treadmills do; the walker's own caps and the machine's range apply later,
when playing):

- speed 0.5-25 km/h (``SPEED_MIN_KMH``/``SPEED_MAX_KMH``), incline -5..40 % (``INCLINE_*``);
- a segment lasts 1 s to 6 h, or runs 1 m to 100 km, or is open (``duration = "open"``: it
  plays until the walker presses n); a profile lasts at most 12 h (summed through the repeats,
  never by expanding them);
- a profile file is at most 1 MB (``PROFILE_MAX_BYTES``; the built-ins are a few kB);
- repeat 1-100 times, nested at most 4 deep, never empty;
- a cue is 1-80 characters, at an offset inside its segment (time for a time segment,
  ``at_distance`` for a distance segment).
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from treadwalk.core.errors import ProfileError, ProfileProblem
from treadwalk.core.model import HrAdjust, SegmentKind
from treadwalk.core.zones import HrTarget, parse_hr_target

from .model import KINDS, Item, Profile, ProfileCue, Repeat, Segment
from .quantities import (
    Distance,
    Speed,
    format_duration_text,
    parse_distance,
    parse_duration,
    parse_incline,
    parse_speed,
)
from .source import LineIndex, Path

__all__ = [
    "DISTANCE_MAX_M",
    "DURATION_MAX_S",
    "INCLINE_MAX_PCT",
    "INCLINE_MIN_PCT",
    "PROFILE_MAX_BYTES",
    "SPEED_MAX_KMH",
    "SPEED_MIN_KMH",
    "parse_profile",
    "profile_from_data",
]

SPEED_MIN_KMH = 0.5
SPEED_MAX_KMH = 25.0
INCLINE_MIN_PCT = -5.0
INCLINE_MAX_PCT = 40.0
DURATION_MIN_S = 1.0
DURATION_MAX_S = 6 * 3600.0
DISTANCE_MIN_M = 1.0
DISTANCE_MAX_M = 100_000.0
TOTAL_MAX_S = 12 * 3600.0
PROFILE_MAX_BYTES = 1_000_000
REPEAT_MAX = 100
NESTING_MAX = 4
CUE_MAX_CHARS = 80
NAME_MAX_CHARS = 80
INTENTS = ("walking", "running")
UNITS = ("metric", "imperial", "pace")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

TOP_KEYS = ("name", "description", "intent", "tags", "units", "segment")
SEGMENT_KEYS = (
    "name",
    "kind",
    "duration",
    "distance",
    "speed",
    "incline",
    "end_speed",
    "end_incline",
    "cues",
    "hr",
    "adjust",
    "min_speed",
    "max_speed",
    "min_incline",
    "max_incline",
    "speed_range",
)
ADJUSTS = tuple(a.value for a in HrAdjust)
REPEAT_KEYS = ("name", "repeat", "segment")
CUE_KEYS = ("at", "at_distance", "text")


@dataclass
class _Problems:
    """Collects problems by path; resolves lines only if there is something to report."""

    file: str
    text: str
    locate: Callable[[Path], int | None] | None = None
    found: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, path: Path, message: str) -> None:
        self.found.append((path, message))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        locate = self.locate or LineIndex(self.text).line_of
        raise ProfileError([ProfileProblem(self.file, locate(p), m) for p, m in self.found])


def _label(path: Path) -> str:
    """``("segment", 2, "segment", 0)`` -> ``segment 3.1``."""
    numbers = [str(p + 1) for p in path if isinstance(p, int)]
    return "segment " + ".".join(numbers) if numbers else "profile"


def _unknown_keys(
    table: Mapping[str, Any], allowed: tuple[str, ...], path: Path, where: str, out: _Problems
) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            out.add(
                (*path, key),
                f'{where}: unknown key "{key}"{hint}; allowed keys are {", ".join(allowed)}',
            )


def _check[T](
    parse: Callable[[object], T], value: object, path: Path, where: str, out: _Problems
) -> T | None:
    try:
        return parse(value)
    except ValueError as exc:
        out.add(path, f"{where}: {exc}")
        return None


def _check_speed(speed: Speed, path: Path, where: str, out: _Problems) -> None:
    kmh = speed.kmh
    if not math.isfinite(kmh) or kmh < SPEED_MIN_KMH:
        out.add(path, f"{where}: speed {speed} is below what treadmills do (min {SPEED_MIN_KMH} km/h)")
    elif kmh > SPEED_MAX_KMH:
        shown = f"{speed} ({kmh:.1f} km/h)" if speed.unit != "km/h" else str(speed)
        out.add(path, f"{where}: speed {shown} is above what treadmills do (max {SPEED_MAX_KMH:g} km/h)")


def _check_incline(pct: float, path: Path, where: str, out: _Problems) -> None:
    if not math.isfinite(pct) or not INCLINE_MIN_PCT <= pct <= INCLINE_MAX_PCT:
        out.add(
            path,
            f"{where}: incline {pct:g} % is outside what treadmills do "
            f"({INCLINE_MIN_PCT:g} to {INCLINE_MAX_PCT:g} %)",
        )


def _text(value: object, path: Path, what: str, max_chars: int, out: _Problems) -> str | None:
    if not isinstance(value, str):
        out.add(path, f"{what} must be text in quotes")
        return None
    if not value.strip():
        out.add(path, f"{what} is empty; write a few words")
        return None
    if len(value) > max_chars:
        out.add(path, f"{what} is {len(value)} characters long; keep it to {max_chars}")
        return None
    if _CONTROL.search(value):
        out.add(path, f"{what} holds a control character (a line break or tab); write one line")
        return None
    return value


def _parse_cue(
    raw: object, path: Path, seg_where: str, by_distance: bool, length: float | None, out: _Problems
) -> ProfileCue | None:
    where = f"{seg_where} cue {path[-1] + 1 if isinstance(path[-1], int) else ''}".rstrip()
    if isinstance(raw, str):
        raw = {"text": raw}
    if not isinstance(raw, dict):
        out.add(path, f'{where}: a cue is {{ at = "30s", text = "..." }}')
        return None
    _unknown_keys(raw, CUE_KEYS, path, where, out)
    text = (
        _text(raw.get("text"), (*path, "text"), f"{where}: text", CUE_MAX_CHARS, out)
        if "text" in raw
        else None
    )
    if "text" not in raw:
        out.add(path, f'{where}: missing text; write {{ at = "30s", text = "land under your hips" }}')
    if "at" in raw and "at_distance" in raw:
        out.add(path, f"{where}: give at (a time) or at_distance, not both")
        return None
    at_s: float | None = None
    at_d: Distance | None = None
    if by_distance:
        if "at" in raw:
            out.add(
                (*path, "at"),
                f'{where}: the segment is a distance, so place the cue with at_distance = "200m"',
            )
            return None
        if "at_distance" in raw:
            at_d = _check(parse_distance, raw["at_distance"], (*path, "at_distance"), where, out)
            if at_d is None:
                return None
            offset, unit_text = at_d.metres, f"{at_d}"
        else:
            at_d, offset, unit_text = Distance(0.0, "m"), 0.0, "0m"
    else:
        if "at_distance" in raw:
            out.add(
                (*path, "at_distance"),
                f'{where}: the segment is timed, so place the cue with at = "30s"',
            )
            return None
        at_s = _check(parse_duration, raw.get("at", "0s"), (*path, "at"), where, out)
        if at_s is None:
            return None
        offset, unit_text = at_s, f"{raw.get('at', '0s')}"
    if length is not None and offset >= length:
        seg_len = f"{length:g} m" if by_distance else format_duration_text(length)
        out.add(
            (*path, "at_distance" if by_distance else "at"),
            f"{where}: offset {unit_text} is beyond its segment, which lasts {seg_len}; "
            "place it earlier than the segment's end",
        )
        return None
    if text is None:
        return None
    return ProfileCue(text, at_s=at_s, at_distance=at_d)


def _parse_segment(raw: dict[str, Any], path: Path, out: _Problems) -> Segment | None:
    where = _label(path)
    before = len(out.found)
    _unknown_keys(raw, SEGMENT_KEYS, path, where, out)
    name = (
        _text(raw["name"], (*path, "name"), f"{where}: name", NAME_MAX_CHARS, out) if "name" in raw else None
    )
    kind = raw.get("kind", "work")
    if kind not in KINDS:
        out.add((*path, "kind"), f'{where}: kind "{kind}" is not one of {", ".join(KINDS)}')
    duration = distance = None
    is_open = raw.get("duration") == "open"
    if "duration" in raw and "distance" in raw:
        out.add(path, f"{where}: give a duration or a distance, not both")
    elif is_open:
        pass
    elif "duration" in raw:
        duration = _check(parse_duration, raw["duration"], (*path, "duration"), where, out)
        if duration is not None and not DURATION_MIN_S <= duration <= DURATION_MAX_S:
            out.add(
                (*path, "duration"),
                f"{where}: duration {raw['duration']} is outside 1s to 6h; split a longer block in segments",
            )
    elif "distance" in raw:
        distance = _check(parse_distance, raw["distance"], (*path, "distance"), where, out)
        if distance is not None and not DISTANCE_MIN_M <= distance.metres <= DISTANCE_MAX_M:
            out.add((*path, "distance"), f"{where}: distance {distance} is outside 1m to 100km")
    else:
        out.add(
            path,
            f'{where}: missing duration or distance; add duration = "5m", distance = "400m" or duration = "open" (until you press n)',
        )
    speed = end_speed = None
    if "speed" in raw:
        speed = _check(parse_speed, raw["speed"], (*path, "speed"), where, out)
        if speed is not None:
            _check_speed(speed, (*path, "speed"), where, out)
    else:
        out.add(path, f'{where}: missing speed; add speed = 5.0 (km/h) or speed = "12:00/km"')
    if "end_speed" in raw:
        end_speed = _check(parse_speed, raw["end_speed"], (*path, "end_speed"), where, out)
        if end_speed is not None:
            _check_speed(end_speed, (*path, "end_speed"), where, out)
    speed_range: tuple[Speed, Speed] | None = None
    if "speed_range" in raw:
        rng = raw["speed_range"]
        if not isinstance(rng, list) or len(rng) != 2:
            out.add((*path, "speed_range"), f"{where}: speed_range is two speeds: speed_range = [4.8, 5.2]")
        else:
            low = _check(parse_speed, rng[0], (*path, "speed_range"), where, out)
            high = _check(parse_speed, rng[1], (*path, "speed_range"), where, out)
            if low is not None and high is not None:
                if low.kmh > high.kmh:
                    out.add(
                        (*path, "speed_range"),
                        f"{where}: speed_range goes from the lower speed to the higher",
                    )
                else:
                    speed_range = (low, high)
    incline = 0.0
    end_incline = None
    if "incline" in raw:
        parsed = _check(parse_incline, raw["incline"], (*path, "incline"), where, out)
        if parsed is not None:
            incline = parsed
            _check_incline(incline, (*path, "incline"), where, out)
    if "end_incline" in raw:
        end_incline = _check(parse_incline, raw["end_incline"], (*path, "end_incline"), where, out)
        if end_incline is not None:
            _check_incline(end_incline, (*path, "end_incline"), where, out)
    if is_open and ("end_speed" in raw or "end_incline" in raw):
        out.add(path, f"{where}: an open segment has no end to ramp to; drop end_speed and end_incline")
    cues: list[ProfileCue] = []
    raw_cues = raw.get("cues", [])
    if not isinstance(raw_cues, list):
        out.add((*path, "cues"), f'{where}: cues is a list: cues = [{{ at = "30s", text = "..." }}]')
        raw_cues = []
    length = duration if distance is None else (distance.metres if distance is not None else None)
    for i, raw_cue in enumerate(raw_cues):
        cue = _parse_cue(raw_cue, (*path, "cues", i), where, distance is not None, length, out)
        if cue is not None:
            cues.append(cue)
    hr_fields = _parse_hr(raw, path, where, speed, incline, end_speed, end_incline, out)
    if len(out.found) != before or speed is None or (duration is None and distance is None and not is_open):
        return None
    return Segment(
        **hr_fields,
        speed=speed,
        duration_s=duration,
        distance=distance,
        incline_pct=incline,
        end_speed=end_speed,
        end_incline_pct=end_incline,
        kind=SegmentKind(kind),
        name=name,
        cues=tuple(cues),
        speed_range=speed_range,
        open=is_open,
    )


def _parse_hr(
    raw: dict[str, Any],
    path: Path,
    where: str,
    speed: Speed | None,
    incline: float,
    end_speed: Speed | None,
    end_incline: float | None,
    out: _Problems,
) -> dict[str, Any]:
    """``hr``, ``adjust`` and the adjusted axis' bounds: the segment's heart-rate fields."""
    bound_keys = ("min_speed", "max_speed", "min_incline", "max_incline", "adjust")
    if "hr" not in raw:
        for key in bound_keys:
            if key in raw:
                out.add(
                    (*path, key), f'{where}: {key} bounds a segment that holds heart rate; add hr = "zone2"'
                )
        return {}
    target: HrTarget | None = _check(parse_hr_target, raw["hr"], (*path, "hr"), where, out)
    adjust = raw.get("adjust", "speed")
    if adjust not in ADJUSTS:
        out.add((*path, "adjust"), f'{where}: adjust "{adjust}" is not one of {", ".join(ADJUSTS)}')
        return {}
    by = HrAdjust(adjust)
    fields: dict[str, Any] = {"hr": target, "adjust": by}
    own, other = ("speed", "incline") if by is HrAdjust.SPEED else ("incline", "speed")
    for key in (f"min_{other}", f"max_{other}"):
        if key in raw:
            out.add(
                (*path, key),
                f'{where}: {key} bounds a segment held by {other}; this one has adjust = "{adjust}", '
                f"so bound it with min_{own}/max_{own}",
            )
    if (by is HrAdjust.SPEED and end_speed is not None) or (
        by is HrAdjust.INCLINE and end_incline is not None
    ):
        out.add(
            (*path, f"end_{own}"),
            f"{where}: a segment that holds heart rate by {own} cannot also ramp its {own}; remove end_{own}",
        )
    low = high = None
    if by is HrAdjust.SPEED:
        if "min_speed" in raw:
            low = _check(parse_speed, raw["min_speed"], (*path, "min_speed"), where, out)
            if low is not None:
                _check_speed(low, (*path, "min_speed"), where, out)
                fields["min_speed"] = low
        if "max_speed" in raw:
            high = _check(parse_speed, raw["max_speed"], (*path, "max_speed"), where, out)
            if high is not None:
                _check_speed(high, (*path, "max_speed"), where, out)
                fields["max_speed"] = high
        start = speed.kmh if speed is not None else None
        lo_v = low.kmh if low is not None else None
        hi_v = high.kmh if high is not None else None
        unit = " km/h"
    else:
        for key, name in (("min_incline", "min_incline_pct"), ("max_incline", "max_incline_pct")):
            if key in raw:
                value = _check(parse_incline, raw[key], (*path, key), where, out)
                if value is not None:
                    _check_incline(value, (*path, key), where, out)
                    fields[name] = value
        start, lo_v, hi_v, unit = incline, fields.get("min_incline_pct"), fields.get("max_incline_pct"), " %"
    if start is not None:
        if lo_v is not None and lo_v > start + 1e-9:
            out.add(
                (*path, f"min_{own}"),
                f"{where}: min_{own} {lo_v:g}{unit} is above the start {start:g}{unit}; the segment starts inside its bounds",
            )
        if hi_v is not None and hi_v < start - 1e-9:
            out.add(
                (*path, f"max_{own}"),
                f"{where}: max_{own} {hi_v:g}{unit} is below the start {start:g}{unit}; the segment starts inside its bounds",
            )
    return fields


def _parse_items(raw: object, path: Path, depth: int, out: _Problems) -> tuple[Item, ...]:
    """``raw`` is the value of a ``segment`` key: a list of tables."""
    where = _label(path[:-1]) if len(path) > 1 else "profile"
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        out.add(path, f"{where}: segments are tables written [[segment]]")
        return ()
    items: list[Item] = []
    for i, table in enumerate(raw):
        item_path = (*path, i)
        if "repeat" in table:
            items_or_none = _parse_repeat(table, item_path, depth, out)
            if items_or_none is not None:
                items.append(items_or_none)
        elif "segment" in table:
            out.add(
                item_path,
                f"{_label(item_path)}: a block of segments needs repeat = N (how many times to play it)",
            )
        else:
            segment = _parse_segment(table, item_path, out)
            if segment is not None:
                items.append(segment)
    return tuple(items)


def _parse_repeat(raw: dict[str, Any], path: Path, depth: int, out: _Problems) -> Repeat | None:
    where = _label(path)
    before = len(out.found)
    _unknown_keys(raw, REPEAT_KEYS, path, f"{where} (a repeat)", out)
    times = raw["repeat"]
    if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= REPEAT_MAX:
        out.add((*path, "repeat"), f"{where}: repeat {times!r} must be a whole number from 1 to {REPEAT_MAX}")
    if depth >= NESTING_MAX:
        out.add(path, f"{where}: repeats are nested more than {NESTING_MAX} deep; flatten the inner ones")
        return None
    name = (
        _text(raw["name"], (*path, "name"), f"{where}: name", NAME_MAX_CHARS, out) if "name" in raw else None
    )
    children = raw.get("segment", [])
    if isinstance(children, list) and not children:
        out.add(path, f"{where}: the repeat is empty; add its segments as [[segment.segment]] tables")
        return None
    items = _parse_items(children, (*path, "segment"), depth + 1, out)
    if len(out.found) != before:
        return None
    return Repeat(times=times, items=items, name=name)


def _items_s(items: tuple[Item, ...]) -> float:
    """How long the items last, repeats multiplied out arithmetically (100x100x100x100 repeats
    cost four multiplications, not 10^8 segments)."""
    return sum(_duration_s(i) if isinstance(i, Segment) else i.times * _items_s(i.items) for i in items)


def _duration_s(seg: Segment) -> float:
    if seg.duration_s is not None:
        return seg.duration_s
    if seg.open:
        return seg.to_plan_segment().estimated_duration_s
    assert seg.distance is not None
    end = seg.end_speed.kmh if seg.end_speed is not None else seg.speed.kmh
    return seg.distance.metres / (max((seg.speed.kmh + end) / 2, 0.1) / 3.6)


def profile_from_data(
    data: dict[str, Any],
    file: str,
    text: str = "",
    *,
    locate: Callable[[Path], int | None] | None = None,
) -> Profile:
    """Validate already-parsed data shaped like the TOML format. ``text`` (the TOML source)
    or ``locate`` (path -> line, for importers) only serve to find line numbers."""
    out = _Problems(file, text, locate)
    _unknown_keys(data, TOP_KEYS, (), "profile", out)
    name = _text(data["name"], ("name",), "name", NAME_MAX_CHARS, out) if "name" in data else None
    if "name" not in data:
        out.add((), 'missing name; add name = "..." at the top')
    description = data.get("description", "")
    if not isinstance(description, str):
        out.add(("description",), "description must be text in quotes")
        description = ""
    intent = data.get("intent", "walking")
    if intent not in INTENTS:
        out.add(
            ("intent",), f'intent "{intent}" is not one of {", ".join(INTENTS)} (it picks the recorded sport)'
        )
    tags_raw = data.get("tags", [])
    tags: list[str] = []
    if not isinstance(tags_raw, list) or not all(isinstance(t, str) and t.strip() for t in tags_raw):
        out.add(("tags",), 'tags are a list of words: tags = ["recovery", "stride"]')
    else:
        tags = list(tags_raw)
    units = data.get("units")
    if units is not None and units not in UNITS:
        out.add(("units",), f'units "{units}" is not one of {", ".join(UNITS)}')
    items: tuple[Item, ...] = ()
    if "segment" not in data:
        out.add((), "the profile has no segments; add at least one [[segment]] table with duration and speed")
    else:
        items = _parse_items(data["segment"], ("segment",), 0, out)
    if not out.found:
        profile = Profile(
            name=name or "",
            items=items,
            description=description,
            intent=intent,
            tags=tuple(tags),
            units=units,
            source=file,
        )
        total = _items_s(profile.items)
        if total > TOTAL_MAX_S:
            out.add((), f"the profile lasts {total / 3600:.1f} h; keep it under {TOTAL_MAX_S / 3600:g} h")
        out.raise_if_any()
        return profile
    out.raise_if_any()
    raise AssertionError("unreachable")


def parse_profile(text: str, file: str) -> Profile:
    """A ``Profile`` from TOML text, or a ``ProfileError`` with every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column \d+\)|\(at end of document\)", str(exc))
        line = int(found.group(1)) if found and found.group(1) else (text.count("\n") + 1 if found else None)
        msg = str(exc)[: found.start()].strip() if found else str(exc)
        raise ProfileError(
            ProfileProblem(file, line, f"this is not valid TOML ({msg}); check quotes, brackets and = signs")
        ) from exc
    return profile_from_data(data, file, text)
