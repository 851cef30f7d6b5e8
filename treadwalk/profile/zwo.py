"""Zwift workout files (.zwo) for running: import and export. Stdlib and core only.

What a run .zwo holds (as QDomyos-Zwift reads it, src/zwiftworkout.cpp in
cagnulein/qdomyos-zwift, and Zwift's own run workouts):

- ``<workout_file>`` with ``name``, ``description``, ``sportType`` (``run``), optional
  ``durationType`` (``time``, or ``distance``: then every ``Duration`` is metres), ``tags``.
- ``<workout>`` children: ``SteadyState Duration Power``, ``Warmup``/``Cooldown``/``Ramp
  Duration PowerLow PowerHigh``, ``IntervalsT Repeat OnDuration OffDuration OnPower OffPower``,
  ``FreeRide`` (no target), each with an optional ``pace`` attribute and ``<textevent
  timeoffset="s" message="..."/>`` children (``distoffset`` in distance workouts).
- For running, ``Power`` is a fraction of the walker's pace for a reference distance, chosen
  by ``pace``: 0 = 1 mile, 1 = 5 km, 2 = 10 km, 3 = half marathon, 4 = marathon; without it the
  default zone. QZ's defaults are 4:10, 5:00, 5:20, 5:40 and 6:00 per km with the half
  marathon as default; treadwalk uses the same (``Paces``), configurable with
  ``TREADWALK_PACES`` or ``--paces`` (``"5k=5:00/km,10k=5:20/km,default=5k"``). A
  ``thresholdSecPerKm`` element, when present, is the reference for elements without ``pace``
  (as QZ does).

Zwift run workouts have no incline target. treadwalk writes ``Incline`` (steady),
``InclineLow``/``InclineHigh`` (ramps) and ``OnIncline``/``OffIncline`` (intervals) as extra
attributes, which Zwift and QZ ignore, and reads them back; segment names likewise (``name``,
and ``OnName``/``OffName`` on intervals). Resolution: whole seconds (or
metres), ``Power`` to 4 decimals (about 0.001 km/h), incline to 0.01 %.
"""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from treadwalk.core.errors import ProfileError, ProfileProblem, UsageError
from treadwalk.core.units import KM_PER_MILE

from .loader import profile_from_data
from .model import Profile, Repeat, Segment
from .quantities import format_duration_text, format_number
from .source import Path

__all__ = ["PACE_ZONES", "Paces", "read_zwo", "write_zwo"]

PACE_ZONES = ("1 mile", "5 km", "10 km", "half marathon", "marathon")
_ZONE_KEYS = {
    "1mi": 0,
    "mile": 0,
    "1mile": 0,
    "5k": 1,
    "5km": 1,
    "10k": 2,
    "10km": 2,
    "half": 3,
    "hm": 3,
    "halfmarathon": 3,
    "marathon": 4,
    "m": 4,
}
_PACE_VALUE = re.compile(r"^(\d+):(\d{2}(?:\.\d+)?)\s*(?:/\s*(km|mi))?$")
PACES_HELP = 'write it like "5k=5:00/km,10k=5:20/km,half=8:50/mi,default=5k"'


@dataclass(frozen=True, slots=True)
class Paces:
    """The walker's reference paces (seconds per km) for the five Zwift pace zones."""

    s_per_km: tuple[float, float, float, float, float] = (250.0, 300.0, 320.0, 340.0, 360.0)
    default_zone: int = 3

    def kmh(self, zone: int | None) -> float:
        z = self.default_zone if zone is None or not 0 <= zone < 5 else zone
        return 3600.0 / self.s_per_km[z]

    @classmethod
    def parse(cls, spec: str, base: Paces | None = None) -> Paces:
        """``"5k=5:00/km,10k=8:35/mi,default=10k"`` on top of ``base`` (or the defaults)."""
        base = base or cls()
        values = list(base.s_per_km)
        default = base.default_zone
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = (x.strip().lower().replace(" ", "") for x in part.partition("="))
            if not sep:
                raise UsageError(f'pace "{part}" has no "="; {PACES_HELP}')
            if key == "default":
                if value not in _ZONE_KEYS:
                    raise UsageError(f'default pace "{value}" is not one of {", ".join(_ZONE_KEYS)}')
                default = _ZONE_KEYS[value]
                continue
            if key not in _ZONE_KEYS:
                raise UsageError(f'pace zone "{key}" is not one of {", ".join(_ZONE_KEYS)}; {PACES_HELP}')
            m = _PACE_VALUE.match(value)
            if not m or int(m[1]) * 60 + float(m[2]) <= 0:
                raise UsageError(f'pace "{value}" for {key} is not a pace; {PACES_HELP}')
            seconds = int(m[1]) * 60 + float(m[2])
            values[_ZONE_KEYS[key]] = seconds / KM_PER_MILE if m[3] == "mi" else seconds
        return cls((values[0], values[1], values[2], values[3], values[4]), default)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Paces:
        spec = (os.environ if environ is None else environ).get("TREADWALK_PACES", "")
        return cls.parse(spec) if spec.strip() else cls()


# ---------------------------------------------------------------------------------------------
# Import


def _lines_of_elements(text: str, tags: list[str]) -> list[int | None]:
    """The line of each element in document order (ElementTree gives no positions)."""
    lines: list[int | None] = []
    pos = 0
    start = text.find("<workout>")
    pos = max(pos, start)
    for tag in tags:
        m = re.compile(rf"<{re.escape(tag)}\b").search(text, pos)
        if m is None:
            lines.append(None)
            continue
        lines.append(text.count("\n", 0, m.start()) + 1)
        pos = m.end()
    return lines


def _num(el: ET.Element, name: str, default: float | None = None) -> float | None:
    for key, value in el.attrib.items():
        if key.lower() == name.lower():
            try:
                result = float(value)
            except ValueError:
                raise ValueError(f'{el.tag} {name}="{value}" is not a number') from None
            if not math.isfinite(result):
                raise ValueError(f'{el.tag} {name}="{value}" is not a finite number')
            return result
    return default


def _events(el: ET.Element, by_distance: bool) -> list[tuple[float, str]]:
    """(offset, message) of the text events inside a step."""
    out: list[tuple[float, str]] = []
    for ev in el:
        if ev.tag.lower() != "textevent":
            continue
        message = (ev.get("message") or ev.get("Message") or "").strip()
        if not message:
            continue
        offset = _num(ev, "distoffset", None) if by_distance else None
        if offset is None:
            offset = _num(ev, "timeoffset", 0.0) or 0.0
        out.append((max(offset, 0.0), message[:80]))
    return out


def _cue(offset: float, text: str, by_distance: bool) -> dict[str, str]:
    if by_distance:
        return {"at_distance": f"{round(offset)}m", "text": text}
    return {"at": format_duration_text(round(offset)), "text": text}


def read_zwo(text: str, file: str, paces: Paces | None = None) -> Profile:
    """A profile from a run .zwo; pace-relative targets resolved with ``paces``."""
    paces = paces or Paces()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ProfileError(
            ProfileProblem(file, line, f"this is not a readable .zwo file ({exc}); check the XML")
        ) from exc
    if root.tag != "workout_file":
        raise ProfileError(
            ProfileProblem(file, 1, f"a .zwo file starts with <workout_file>, not <{root.tag}>")
        )

    def child_text(name: str) -> str:
        for el in root:
            if el.tag.lower() == name.lower():
                return (el.text or "").strip()
        return ""

    sport = child_text("sportType").lower()
    if "run" not in sport:
        raise ProfileError(
            ProfileProblem(
                file,
                None,
                f'sportType is "{sport or "missing"}"; treadwalk imports run workouts only '
                "(<sportType>run</sportType>), whose targets are paces",
            )
        )
    by_distance = child_text("durationType").lower() == "distance"
    threshold = child_text("thresholdSecPerKm")
    try:
        threshold_kmh = 3600.0 / float(threshold) if threshold and float(threshold) > 0 else None
    except ValueError:
        threshold_kmh = None
    workout = next((el for el in root if el.tag.lower() == "workout"), None)
    if workout is None or len(workout) == 0:
        raise ProfileError(ProfileProblem(file, None, "the .zwo has no <workout> steps; nothing to play"))
    elements = list(workout)
    lines = _lines_of_elements(text, [el.tag for el in elements])
    problems: list[ProfileProblem] = []

    def length(value: float | None) -> dict[str, str]:
        v = round(value or 0.0)
        return {"distance": f"{v}m"} if by_distance else {"duration": format_duration_text(v)}

    def speed(el: ET.Element, power: float | None) -> float:
        pace_attr = _num(el, "pace", None)
        if pace_attr is None and threshold_kmh is not None:
            ref = threshold_kmh
        else:
            ref = paces.kmh(None if pace_attr is None else int(pace_attr))
        return round((power if power is not None else 1.0) * ref, 2)

    items: list[dict[str, Any]] = []
    last_speed: Any = None
    for i, el in enumerate(elements):
        item: dict[str, Any]
        tag = el.tag.lower()
        try:
            if tag == "freeride" and last_speed is not None:
                # no target: an open segment (until the walker presses n) at the speed before
                item = {"kind": "work", "duration": "open", "speed": last_speed}
                item["incline"] = _num(el, "Incline", 0.0)
                item["cues"] = [_cue(o, t, False) for o, t in _events(el, False)]
            elif tag == "steadystate":
                item = {"kind": "work", **length(_num(el, "Duration"))}
                item["speed"] = speed(el, _num(el, "Power"))
                item["incline"] = _num(el, "Incline", 0.0)
                item["cues"] = [_cue(o, t, by_distance) for o, t in _events(el, by_distance)]
            elif tag in ("warmup", "cooldown", "ramp"):
                kind = {"warmup": "warmup", "cooldown": "cooldown"}.get(tag, "work")
                item = {"kind": kind, **length(_num(el, "Duration"))}
                item["speed"] = speed(el, _num(el, "PowerLow"))
                item["end_speed"] = speed(el, _num(el, "PowerHigh"))
                low = _num(el, "InclineLow", None)
                high = _num(el, "InclineHigh", None)
                item["incline"] = low if low is not None else _num(el, "Incline", 0.0)
                if high is not None:
                    item["end_incline"] = high
                item["cues"] = [_cue(o, t, by_distance) for o, t in _events(el, by_distance)]
            elif tag == "intervalst":
                on_len = round(_num(el, "OnDuration") or 0.0)
                off_len = round(_num(el, "OffDuration") or 0.0)
                on = {"kind": "work", **length(on_len), "speed": speed(el, _num(el, "OnPower"))}
                off = {"kind": "recovery", **length(off_len), "speed": speed(el, _num(el, "OffPower"))}
                on["incline"] = _num(el, "OnIncline", 0.0)
                off["incline"] = _num(el, "OffIncline", 0.0)
                on_cues: list[dict[str, str]] = []
                off_cues: list[dict[str, str]] = []
                period = on_len + off_len
                for offset, message in _events(el, by_distance):
                    # events repeat with every interval: place them in the first one
                    o = round(offset) % period if period else 0
                    if o < on_len:
                        on_cues.append(_cue(o, message, by_distance))
                    else:
                        off_cues.append(_cue(o - on_len, message, by_distance))
                on["cues"], off["cues"] = on_cues, off_cues
                for attr, part in (("OnName", on), ("OffName", off)):
                    if (el.get(attr) or "").strip():
                        part["name"] = el.get(attr)
                repeat = _num(el, "Repeat", 1.0) or 1.0
                item = {"repeat": int(repeat), "segment": [on, off]}
            else:
                what = (
                    "has no target speed and no step before it to keep the speed of"
                    if tag == "freeride"
                    else "is not a step treadwalk knows (SteadyState, Warmup, Cooldown, Ramp, IntervalsT)"
                )
                problems.append(
                    ProfileProblem(file, lines[i], f"<{el.tag}> {what}; replace it with a SteadyState step")
                )
                continue
        except ValueError as exc:
            problems.append(ProfileProblem(file, lines[i], f"{exc}; attributes are numbers"))
            continue
        if "segment" not in item and (el.get("name") or "").strip():
            item["name"] = el.get("name")
        items.append(item)
        last: dict[str, Any] = item["segment"][-1] if "segment" in item else item
        last_speed = last.get("end_speed", last.get("speed"))
    if problems:
        raise ProfileError(problems)
    tags = [t.get("name", "").strip().lower() for t in root.iter("tag") if t.get("name", "").strip()]
    data: dict[str, Any] = {
        "name": (child_text("name") or os.path.splitext(os.path.basename(file))[0])[:80],
        "description": child_text("description"),
        "intent": "running",
        "tags": tags,
        "segment": items,
    }

    def locate(path: Path) -> int | None:
        if len(path) >= 2 and path[0] == "segment" and isinstance(path[1], int) and path[1] < len(lines):
            return lines[path[1]]
        return None

    return profile_from_data(data, file, locate=locate)


# ---------------------------------------------------------------------------------------------
# Export


def _flatten(items: tuple[Segment | Repeat, ...]) -> list[Segment]:
    out: list[Segment] = []
    for item in items:
        if isinstance(item, Segment):
            out.append(item)
        else:
            for _ in range(item.times):
                out.extend(_flatten(item.items))
    return out


def write_zwo(profile: Profile, paces: Paces | None = None) -> tuple[str, list[str]]:
    """The profile as a run .zwo, and notes on what the format could not keep."""
    paces = paces or Paces()
    ref = paces.kmh(None)
    notes: list[str] = []
    plan_segments = [s for s, _ in profile.segments()]
    by_distance = all(s.distance is not None for s in plan_segments)
    if not by_distance and any(s.distance is not None for s in plan_segments):
        notes.append(
            "a .zwo is all time or all distance: distance segments were written as their estimated time"
        )
    if any(s.hr is not None for s in plan_segments):
        notes.append(
            "a run .zwo has no heart-rate targets: segments that hold heart rate were written at their start"
        )

    root = ET.Element("workout_file")
    ET.SubElement(root, "author").text = "treadwalk"
    ET.SubElement(root, "name").text = profile.name
    ET.SubElement(root, "description").text = profile.description
    ET.SubElement(root, "sportType").text = "run"
    ET.SubElement(root, "durationType").text = "distance" if by_distance else "time"
    tags = ET.SubElement(root, "tags")
    for t in profile.tags:
        ET.SubElement(tags, "tag", name=t)
    workout = ET.SubElement(root, "workout")

    def length(seg: Segment) -> int:
        if by_distance:
            assert seg.distance is not None
            return round(seg.distance.metres)
        return round(seg.to_plan_segment().estimated_duration_s)

    def power(kmh: float) -> str:
        return f"{kmh / ref:.4f}"

    def incline(pct: float) -> str:
        return format_number(round(pct, 2))

    def events(el: ET.Element, seg: Segment, base: float = 0.0) -> None:
        for cue in seg.cues:
            ev = ET.SubElement(el, "textevent")
            if by_distance:
                assert cue.at_distance is not None
                ev.set("distoffset", str(round(base + cue.at_distance.metres)))
            else:
                at = cue.at_s if cue.at_s is not None else 0.0
                if cue.at_distance is not None:  # a distance segment written as time
                    at = cue.at_distance.metres / max(seg.speed.kmh, 0.1) * 3.6
                ev.set("timeoffset", str(round(base + at)))
            ev.set("message", cue.text)

    def steady(seg: Segment) -> None:
        ramp = seg.end_speed is not None or seg.end_incline_pct is not None
        if seg.open:
            notes.append("a .zwo FreeRide has no speed: an open segment plays at the speed before it")
            el = ET.SubElement(workout, "FreeRide", Duration=str(length(seg)))
            el.set("Incline", incline(seg.incline_pct))
        elif not ramp:
            el = ET.SubElement(workout, "SteadyState", Duration=str(length(seg)), Power=power(seg.speed.kmh))
            el.set("pace", str(paces.default_zone))
            el.set("Incline", incline(seg.incline_pct))
        else:
            tag = {"warmup": "Warmup", "cooldown": "Cooldown"}.get(seg.kind, "Ramp")
            end = seg.end_speed.kmh if seg.end_speed is not None else seg.speed.kmh
            el = ET.SubElement(
                workout, tag, Duration=str(length(seg)), PowerLow=power(seg.speed.kmh), PowerHigh=power(end)
            )
            el.set("pace", str(paces.default_zone))
            el.set("InclineLow", incline(seg.incline_pct))
            end_inc = seg.end_incline_pct if seg.end_incline_pct is not None else seg.incline_pct
            el.set("InclineHigh", incline(end_inc))
        if seg.name:
            el.set("name", seg.name)  # an attribute Zwift ignores, read back by treadwalk
        events(el, seg)

    def intervals_ok(item: Repeat) -> bool:
        return (
            len(item.items) == 2
            and all(isinstance(s, Segment) for s in item.items)
            and all(
                isinstance(s, Segment) and s.end_speed is None and s.end_incline_pct is None and not s.open
                for s in item.items
            )
        )

    for item in profile.items:
        if isinstance(item, Repeat) and intervals_ok(item):
            on, off = item.items
            assert isinstance(on, Segment)
            assert isinstance(off, Segment)
            el = ET.SubElement(
                workout,
                "IntervalsT",
                Repeat=str(item.times),
                OnDuration=str(length(on)),
                OffDuration=str(length(off)),
                OnPower=power(on.speed.kmh),
                OffPower=power(off.speed.kmh),
            )
            el.set("pace", str(paces.default_zone))
            el.set("OnIncline", incline(on.incline_pct))
            el.set("OffIncline", incline(off.incline_pct))
            for attr, part in (("OnName", on), ("OffName", off)):
                if part.name:
                    el.set(attr, part.name)
            events(el, on)
            events(el, off, base=length(on))
        elif isinstance(item, Repeat):
            notes.append(
                "repeats other than 2-step intervals were written out in full (a .zwo has only IntervalsT)"
            )
            for seg in _flatten((item,)):
                steady(seg)
        else:
            steady(item)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n", sorted(set(notes))
