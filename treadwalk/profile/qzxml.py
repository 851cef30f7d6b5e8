"""QDomyos-Zwift (QZ) XML training programs: import and export. Stdlib and core only.

The format, as QZ reads and writes it (cagnulein/qdomyos-zwift: ``trainprogram::loadXML`` and
``saveXML`` in src/trainprogram.cpp, and train-programs-examples/README.md)::

    <rows>
      <row duration="00:05:00" speed="5.0" inclination="1" forcespeed="1"/>
      <row duration="00:02:00" speedfrom="5.0" speedto="6.5" forcespeed="1"/>   (a speed ramp)
      <row duration="00:06:00" distance="0.4" speed="6.5" forcespeed="1"/>       (distance in km)
      <repeat times="4"> <row .../> <row .../> </repeat>
      <row duration="00:10:00" speed="5" forcespeed="1">
        <textevent timeoffset="30" message="land under your hips"/>
      </row>
    </rows>

- ``duration`` is ``hh:mm:ss`` (whole seconds); a row with ``distance`` (km, > 0) ends on
  distance instead. ``speed`` is km/h, ``inclination`` percent; QZ only drives the belt's
  speed when ``forcespeed="1"``, so every exported row carries it.
- ``<repeat times="N">`` blocks came with QZ's training-program guide (the form the maintainer
  proposed in cagnulein/qdomyos-zwift#2915); older QZ versions ignore them.
- There is no incline ramp, and a speed ramp (``speedfrom``/``speedto``) is split by QZ into
  one-second rows, so it only fits time rows: other ramps are exported as steps (a note says so).
- Rows steered by heart rate (``zonehr`` 1-5, or ``hrmin``/``hrmax`` in bpm, with ``minspeed``/
  ``maxspeed`` in km/h) become segments that hold heart rate by speed (``hr``, ``min_speed``,
  ``max_speed``), starting at ``speed`` (else ``minspeed``, else 4 km/h); a lone ``hrmin`` or ``hrmax``
  gets a 15 bpm range. QZ steers incline by a global setting, not per row: a segment held by incline
  is written with our own ``hradjust="incline"``, ``mininclination``, ``maxinclination`` (which QZ
  ignores) so it reads back the same. Fan, power and GPS attributes are ignored.
- Resolution: whole seconds, distances to the metre, speed and incline to 0.01.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

from treadwalk.core.errors import ProfileError, ProfileProblem
from treadwalk.core.model import HrAdjust

from .loader import profile_from_data
from .model import Profile, Repeat, Segment
from .quantities import Distance, Speed, format_duration_text, format_number
from .source import Path

__all__ = ["read_qz_xml", "write_qz_xml"]

_HMS = re.compile(r"^\s*(\d{1,2}):(\d{2}):(\d{2})\s*$")
_RAMP_STEP_S = 30.0  # a ramp QZ cannot play is written as steps of about this length


def _hms(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _attr_num(el: ET.Element, name: str) -> float | None:
    value = el.get(name)
    if value is None or value.strip() == "":
        return None
    result = float(value)  # ValueError is reported by the caller
    if not math.isfinite(result):
        raise ValueError(f'{name}="{value}" is not a finite number')
    return result


def read_qz_xml(text: str, file: str) -> Profile:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ProfileError(
            ProfileProblem(file, line, f"this is not a readable QZ XML program ({exc}); check the XML")
        ) from exc
    if root.tag != "rows":
        raise ProfileError(
            ProfileProblem(file, 1, f"a QZ training program starts with <rows>, not <{root.tag}>")
        )
    # lines of <row and <repeat in document order (ElementTree keeps none)
    positions = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"<(?:row|repeat)\b", text)]
    order = iter(positions)
    problems: list[ProfileProblem] = []
    lines_by_path: dict[Path, int] = {}

    def rows(parent: ET.Element, path: Path) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for el in parent:
            if el.tag not in ("row", "repeat"):
                continue
            item_path = (*path, len(items))
            line = next(order, None)
            if line is not None:
                lines_by_path[item_path] = line
            if el.tag == "repeat":
                try:
                    times = int(el.get("times", "1"))
                except ValueError:
                    problems.append(
                        ProfileProblem(file, line, f'repeat times="{el.get("times")}" is not a whole number')
                    )
                    times = 1
                items.append({"repeat": times, "segment": rows(el, (*item_path, "segment"))})
                continue
            try:
                item = _row(el)
            except ValueError as exc:
                problems.append(ProfileProblem(file, line, str(exc)))
                continue
            items.append(item)
        return items

    items = rows(root, ("segment",))
    if problems:
        raise ProfileError(problems)
    if not items:
        raise ProfileError(ProfileProblem(file, None, "the program has no <row> elements; nothing to play"))
    stem = re.split(r"[\\/]", file)[-1].rsplit(".", 1)[0]
    data: dict[str, Any] = {"name": stem[:80] or "QZ program", "intent": "walking", "segment": items}

    def locate(path: Path) -> int | None:
        p = tuple(path)
        while p:
            if p in lines_by_path:
                return lines_by_path[p]
            p = p[:-1]
        return None

    return profile_from_data(data, file, locate=locate)


_HR_START_KMH = 4.0  # a QZ heart-rate row without speed or minspeed starts here
_HR_SPAN_BPM = 15  # a lone hrmin or hrmax: this wide a range


def _hr_fields(el: ET.Element) -> dict[str, Any]:
    """A QZ heart-rate row's ``hr``, ``adjust`` and bounds, as our TOML keys ({} for other rows)."""
    try:
        zone = _attr_num(el, "zonehr")
        low, high = _attr_num(el, "hrmin"), _attr_num(el, "hrmax")
        bounds = {k: _attr_num(el, k) for k in ("minspeed", "maxspeed", "mininclination", "maxinclination")}
    except ValueError as exc:
        raise ValueError(f"row has a heart-rate attribute that is not a number ({exc})") from None
    low = low if low else None  # QZ writes 0 for "not set"
    high = high if high else None
    if not zone and low is None and high is None:
        return {}
    out: dict[str, Any] = {}
    if zone:
        if zone != int(zone) or not 1 <= zone <= 5:
            raise ValueError(f'row zonehr="{el.get("zonehr")}" is not a zone from 1 to 5')
        out["hr"] = f"zone{int(zone)}"
    else:
        lo = low if low is not None else (high or 0) - _HR_SPAN_BPM
        hi = high if high is not None else (low or 0) + _HR_SPAN_BPM
        out["hr"] = f"{round(lo)}-{round(hi)}"
    by_incline = el.get("hradjust") == "incline"
    out["adjust"] = "incline" if by_incline else "speed"
    names = (
        {"mininclination": "min_incline", "maxinclination": "max_incline"}
        if by_incline
        else {"minspeed": "min_speed", "maxspeed": "max_speed"}
    )
    for attr, key in names.items():
        value = bounds[attr]
        if value is not None and (value > 0 or by_incline):
            out[key] = value
    return out


def _row(el: ET.Element) -> dict[str, Any]:
    try:
        speed = _attr_num(el, "speed")
        speed_from = _attr_num(el, "speedfrom")
        speed_to = _attr_num(el, "speedto")
        incline = _attr_num(el, "inclination")
        distance_km = _attr_num(el, "distance")
    except ValueError as exc:
        raise ValueError(f"row has an attribute that is not a number ({exc}); QZ rows hold numbers") from None
    item: dict[str, Any] = {"kind": "work"}
    if distance_km is not None and distance_km > 0:
        item["distance"] = f"{format_number(round(distance_km * 1000.0, 3))}m"
    else:
        m = _HMS.match(el.get("duration", ""))
        if not m:
            raise ValueError(
                f'row duration="{el.get("duration", "")}" is not hh:mm:ss and the row has no distance; '
                'write duration="00:05:00"'
            )
        item["duration"] = format_duration_text(int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]))
    if speed_from is not None and speed_to is not None:
        item["speed"], item["end_speed"] = speed_from, speed_to
    elif speed is not None:
        item["speed"] = speed
    hr = _hr_fields(el)
    if "speed" in item:
        pass
    elif hr:
        min_speed = hr.get("min_speed")
        item["speed"] = min_speed if isinstance(min_speed, float) else _HR_START_KMH
    else:
        raise ValueError('row has no speed (it has none); give it speed="5.0" (km/h)')
    item.update(hr)
    if incline is not None and incline > -100:  # QZ writes -200 (and < -50) for "no incline"
        item["incline"] = incline
    cues: list[dict[str, str]] = []
    mean_kmh = (float(item["speed"]) + float(item.get("end_speed", item["speed"]))) / 2
    for ev in el.iter("textevent"):
        message = (ev.get("message") or "").strip()
        if not message:
            continue
        try:
            offset = max(float(ev.get("timeoffset", "0")), 0.0)
        except ValueError:
            offset = 0.0
        if "distance" in item:  # QZ offsets are seconds; a distance segment places cues in metres
            metres = min(round(offset * mean_kmh / 3.6), max(round((distance_km or 0.0) * 1000) - 1, 0))
            cues.append({"at_distance": f"{metres}m", "text": message[:80]})
        else:
            cues.append({"at": format_duration_text(round(offset)), "text": message[:80]})
    item["cues"] = cues
    return item


# ---------------------------------------------------------------------------------------------
# Export


def _steps(seg: Segment) -> list[Segment]:
    """A ramp QZ cannot play, as steps each at the ramp's value in its middle; each cue goes
    to the step it falls in."""
    ps = seg.to_plan_segment()
    n = max(2, min(60, math.ceil(ps.estimated_duration_s / _RAMP_STEP_S)))
    out: list[Segment] = []
    for i in range(n):
        mid = (i + 0.5) / n
        if seg.distance is not None:
            step_m = seg.distance.metres / n
            cues = tuple(
                replace(c, at_distance=Distance(c.at_distance.metres - i * step_m, "m"))
                for c in seg.cues
                if c.at_distance is not None and i * step_m <= c.at_distance.metres < (i + 1) * step_m
            )
        else:
            assert seg.duration_s is not None
            step_s = seg.duration_s / n
            cues = tuple(
                replace(c, at_s=(c.at_s or 0.0) - i * step_s)
                for c in seg.cues
                if i * step_s <= (c.at_s or 0.0) < (i + 1) * step_s
            )
        out.append(
            Segment(
                speed=Speed(round(ps.speed_at(mid), 2)),
                incline_pct=round(ps.incline_at(mid), 2),
                duration_s=None if seg.duration_s is None else seg.duration_s / n,
                distance=None if seg.distance is None else Distance(seg.distance.metres / n, "m"),
                kind=seg.kind,
                name=seg.name,
                cues=cues,
            )
        )
    return out


def _write_hr(el: ET.Element, seg: Segment) -> None:
    assert seg.hr is not None
    if seg.hr.zone is not None:
        el.set("zonehr", str(seg.hr.zone))
    else:
        el.set("hrmin", str(seg.hr.low_bpm))
        el.set("hrmax", str(seg.hr.high_bpm))
    if seg.adjust is HrAdjust.SPEED:
        for attr, speed in (("minspeed", seg.min_speed), ("maxspeed", seg.max_speed)):
            if speed is not None:
                el.set(attr, format_number(round(speed.kmh, 2)))
        return
    el.set("hradjust", "incline")
    for attr, pct in (("mininclination", seg.min_incline_pct), ("maxinclination", seg.max_incline_pct)):
        if pct is not None:
            el.set(attr, format_number(round(pct, 2)))


def write_qz_xml(profile: Profile) -> tuple[str, list[str]]:
    """The profile as a QZ training program, and notes on what the format could not keep."""
    notes: set[str] = set()
    root = ET.Element("rows")

    def row(parent: ET.Element, seg: Segment) -> None:
        ps = seg.to_plan_segment()
        if seg.open:
            notes.add("QZ programs have no open rows (until n): open segments were written as 1 minute")
        el = ET.SubElement(parent, "row", duration=_hms(ps.estimated_duration_s))
        if seg.distance is not None:
            el.set("distance", format_number(round(seg.distance.metres / 1000.0, 6)))
        if seg.end_speed is not None:
            el.set("speedfrom", format_number(round(seg.speed.kmh, 2)))
            el.set("speedto", format_number(round(seg.end_speed.kmh, 2)))
        else:
            el.set("speed", format_number(round(seg.speed.kmh, 2)))
        el.set("inclination", format_number(round(seg.incline_pct, 2)))
        el.set("forcespeed", "1")
        if seg.hr is not None:
            _write_hr(el, seg)
        for cue in seg.cues:
            at = cue.at_s if cue.at_s is not None else 0.0
            if cue.at_distance is not None:
                notes.add(
                    "QZ places cues by time: cues on distance segments were placed at their estimated time"
                )
                at = cue.at_distance.metres / max(ps.mean_speed_kmh, 0.1) * 3.6
            ET.SubElement(el, "textevent", timeoffset=str(round(at)), message=cue.text)

    def items(parent: ET.Element, content: tuple[Segment | Repeat, ...]) -> None:
        for item in content:
            if isinstance(item, Repeat):
                block = ET.SubElement(parent, "repeat", times=str(item.times))
                items(block, item.items)
                continue
            if item.end_incline_pct is not None or (item.end_speed is not None and item.distance is not None):
                notes.add("QZ has no incline ramp nor distance ramp: such ramps were written as steps")
                for part in _steps(item):
                    row(parent, part)
            else:
                row(parent, item)

    items(root, profile.items)
    if any(seg.hr is not None and seg.adjust is HrAdjust.INCLINE for seg, _ in profile.segments()):
        notes.add(
            "QZ steers heart rate by speed row by row (incline only by its own setting): "
            'segments held by incline carry hradjust="incline", which QZ ignores'
        )
    if any(s.name for s, _ in profile.segments()) or profile.description:
        notes.add("QZ programs keep no names or descriptions")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n", sorted(
        notes
    )
