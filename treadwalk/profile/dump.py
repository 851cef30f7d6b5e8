"""Writing a ``Profile`` as TOML. Stdlib only.

A small writer for the one shape profiles have (no third-party TOML writer): top-level keys,
then ``[[segment]]`` tables, repeats as a table with ``repeat = N`` followed by its children as
``[[segment.segment]]`` (one more ``.segment`` per level), cues as an inline array. Reading the
output back gives an equal ``Profile`` (tested with hypothesis).
"""

from __future__ import annotations

import tomllib
from typing import Any

from .model import Item, Profile, ProfileCue, Repeat, Segment
from .quantities import format_duration_text, format_number

__all__ = ["dump_profile", "segment_data", "toml_string"]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(value: str) -> str:
    """A TOML basic string (one line; every control character escaped)."""
    out = []
    for c in value:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _cue(cue: ProfileCue) -> str:
    if cue.at_distance is not None:
        at = f"at_distance = {toml_string(str(cue.at_distance))}"
    else:
        at = f"at = {toml_string(format_duration_text(cue.at_s or 0.0))}"
    return f"{{ {at}, text = {toml_string(cue.text)} }}"


def _segment(seg: Segment, header: str) -> list[str]:
    lines = [f"[[{header}]]"]
    if seg.name is not None:
        lines.append(f"name = {toml_string(seg.name)}")
    lines.append(f"kind = {toml_string(seg.kind)}")
    if seg.open:
        lines.append('duration = "open"')
    if seg.duration_s is not None:
        lines.append(f"duration = {toml_string(format_duration_text(seg.duration_s))}")
    if seg.distance is not None:
        lines.append(f"distance = {toml_string(str(seg.distance))}")
    lines.append(f"speed = {seg.speed.toml()}")
    if seg.speed_range is not None:
        lines.append(f"speed_range = [{seg.speed_range[0].toml()}, {seg.speed_range[1].toml()}]")
    if seg.end_speed is not None:
        lines.append(f"end_speed = {seg.end_speed.toml()}")
    lines.append(f"incline = {format_number(seg.incline_pct)}")
    if seg.end_incline_pct is not None:
        lines.append(f"end_incline = {format_number(seg.end_incline_pct)}")
    if seg.hr is not None:
        lines.append(f"hr = {toml_string(str(seg.hr))}")
        lines.append(f"adjust = {toml_string(seg.adjust.value)}")
        if seg.min_speed is not None:
            lines.append(f"min_speed = {seg.min_speed.toml()}")
        if seg.max_speed is not None:
            lines.append(f"max_speed = {seg.max_speed.toml()}")
        if seg.min_incline_pct is not None:
            lines.append(f"min_incline = {format_number(seg.min_incline_pct)}")
        if seg.max_incline_pct is not None:
            lines.append(f"max_incline = {format_number(seg.max_incline_pct)}")
    if seg.cues:
        lines.append("cues = [")
        lines.extend(f"    {_cue(c)}," for c in seg.cues)
        lines.append("]")
    return lines


def segment_data(seg: Segment) -> dict[str, Any]:
    """The segment as the loader's data (what its TOML table holds): reads back equal."""
    data: dict[str, Any] = tomllib.loads("\n".join(_segment(seg, "segment")))["segment"][0]
    return data


def _items(items: tuple[Item, ...], header: str) -> list[str]:
    lines: list[str] = []
    for item in items:
        lines.append("")
        if isinstance(item, Repeat):
            lines.append(f"[[{header}]]")
            if item.name is not None:
                lines.append(f"name = {toml_string(item.name)}")
            lines.append(f"repeat = {item.times}")
            lines.extend(_items(item.items, header + ".segment"))
        else:
            lines.extend(_segment(item, header))
    return lines


def dump_profile(profile: Profile) -> str:
    """The profile as TOML text that ``load_profile`` reads back to an equal profile."""
    lines = [f"name = {toml_string(profile.name)}"]
    if profile.description:
        lines.append(f"description = {toml_string(profile.description)}")
    lines.append(f"intent = {toml_string(profile.intent)}")
    lines.append("tags = [" + ", ".join(toml_string(t) for t in profile.tags) + "]")
    if profile.units is not None:
        lines.append(f"units = {toml_string(profile.units)}")
    lines.extend(_items(profile.items, "segment"))
    return "\n".join(lines) + "\n"
