"""The ``watch`` board: what every treadmill under a prefix last said. Pure; stdlib only.

Fed ``(topic, payload, retained, now)`` from ``<prefix>/+/state`` and
``<prefix>/+/availability``; ``rows()`` is what the table shows.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["STALE_AFTER_S", "Board", "TreadmillRow"]

STALE_AFTER_S = 10.0  # an "online" treadmill with no state for this long is shown as stale


@dataclass(frozen=True, slots=True)
class TreadmillRow:
    treadmill_id: str
    name: str
    online: bool | None = None  # None: no availability seen
    phase: str | None = None
    segment: str | None = None  # "3/10 Brisk"
    speed_kmh: float | None = None
    incline_pct: float | None = None
    distance_m: float | None = None
    heart_rate_bpm: int | None = None
    last_seen: float | None = None  # epoch seconds of the newest state

    def status(self, now: float) -> str:
        """online | offline | stale | unknown."""
        if self.online is False:
            return "offline"
        if self.last_seen is not None and now - self.last_seen > STALE_AFTER_S and self.online:
            return "stale"
        return "online" if self.online else "unknown"


def _f(doc: dict[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _s(doc: dict[str, Any], key: str, limit: int = 40) -> str | None:
    value = doc.get(key)
    return value[:limit] if isinstance(value, str) else None


@dataclass
class Board:
    prefix: str
    _rows: dict[str, TreadmillRow] = field(default_factory=dict)

    def feed(self, topic: str, payload: bytes, *, retained: bool, now: float) -> bool:
        """Take one message; True if the board changed. Anything unexpected is ignored."""
        head = self.prefix + "/"
        if not topic.startswith(head):
            return False
        parts = topic[len(head) :].split("/")
        if len(parts) != 2 or not parts[0]:
            return False
        tid, leaf = parts
        row = self._rows.get(tid) or TreadmillRow(tid, tid)
        if leaf == "availability":
            text = payload.decode("utf-8", "replace").strip()
            if text not in ("online", "offline"):
                return False
            row = replace(row, online=text == "online")
        elif leaf == "state":
            try:
                doc = json.loads(payload)
            except ValueError:
                return False
            if not isinstance(doc, dict):
                return False
            wall = _f(doc, "wall")
            # a retained state is as old as it says; a live one is as old as now
            seen = min(wall, now) if retained and wall is not None else now
            index, count = doc.get("segment_index"), doc.get("segment_count")
            segment = None
            if isinstance(index, int) and not isinstance(index, bool):
                segment = f"{index + 1}/{count}" if isinstance(count, int) else str(index + 1)
                if name := _s(doc, "segment_name", 24):
                    segment += f" {name}"
            hr = doc.get("heart_rate_bpm")
            row = replace(
                row,
                name=_s(doc, "name") or row.name,
                phase=_s(doc, "phase", 16),
                segment=segment,
                speed_kmh=_f(doc, "speed_kmh"),
                incline_pct=_f(doc, "incline_pct"),
                distance_m=_f(doc, "distance_m"),
                heart_rate_bpm=hr if isinstance(hr, int) and not isinstance(hr, bool) else None,
                last_seen=seen,
            )
        else:
            return False
        self._rows[tid] = row
        return True

    def rows(self) -> list[TreadmillRow]:
        return [self._rows[k] for k in sorted(self._rows)]
