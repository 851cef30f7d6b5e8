"""What the second screen's page receives and sends: the state and plan documents, the command
requests read back, and the ``--web [HOST:]PORT`` address. Pure functions on core types; stdlib
only (the server in ``server.py`` is the one aiohttp user).

Messages to the page (JSON text frames on the WebSocket):

- ``{"type": "hello", "plan": {...}, "control": bool, "units": str}`` once per connection;
- ``{"type": "plan", "plan": {...}}`` when the session's first snapshot comes (to pages already there);
- ``{"type": "state", ...}`` the live values (``state_payload``), at most 4 a second, only when
  something the page shows has changed;
- ``{"type": "event", "kind": str, "message": str}`` what the engine said (cues, warnings, ...);
- ``{"type": "reply", "ok": bool, "command": str, "reason": str}`` the answer to a command;
- ``{"type": "tick"}`` after 2 s with nothing else to say (the page marks its values stale after 5 s
  without a message).

Requests from the page (with ``--web-control``): ``{"type": "command", "command": NAME}`` where
NAME is one of ``COMMANDS``. A start or a resume is never taken from the page (safety rule 1).
"""

from __future__ import annotations

import json
import math
from typing import Any

from treadwalk.core.model import Command, CommandKind, CommandSource, Plan, SessionSnapshot

__all__ = [
    "COMMANDS",
    "INCLINE_STEP_PCT",
    "MAX_REQUEST_BYTES",
    "SPEED_STEP_KMH",
    "BadRequest",
    "dumps",
    "parse_request",
    "plan_payload",
    "state_payload",
]

MAX_REQUEST_BYTES = 512
SPEED_STEP_KMH = 0.5  # as the + and - keys
INCLINE_STEP_PCT = 0.5  # as the ] and [ keys

# what the page may ask for -> the command the engine gets (the same path as the keys)
COMMANDS: dict[str, tuple[CommandKind, float | None]] = {
    "pause": (CommandKind.PAUSE, None),
    "stop": (CommandKind.STOP, None),
    "emergency_stop": (CommandKind.EMERGENCY_STOP, None),
    "speed_up": (CommandKind.SPEED, SPEED_STEP_KMH),
    "speed_down": (CommandKind.SPEED, -SPEED_STEP_KMH),
    "incline_up": (CommandKind.INCLINE, INCLINE_STEP_PCT),
    "incline_down": (CommandKind.INCLINE, -INCLINE_STEP_PCT),
    "skip": (CommandKind.SKIP, None),
    "extend": (CommandKind.EXTEND, None),
}
_NEVER = ("start", "resume", "toggle_pause")


class BadRequest(ValueError):
    """A request from the page that is not applied; the message is the one reason sent back."""


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)


def _num(value: float | None, ndigits: int = 1) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    rounded = round(value, ndigits)
    return rounded if ndigits else float(int(rounded))


def plan_payload(plan: Plan) -> dict[str, Any]:
    """The plan chart: each segment's start and length in seconds, its speeds and inclines."""
    segments: list[dict[str, Any]] = []
    start = 0.0
    for seg in plan.segments:
        length = seg.estimated_duration_s
        segments.append(
            {
                "name": seg.name,
                "kind": seg.kind.value,
                "start_s": round(start, 1),
                "duration_s": round(length, 1),
                "by_distance": seg.distance_m is not None,
                "speed_kmh": round(seg.speed_kmh, 2),
                "end_speed_kmh": round(
                    seg.end_speed_kmh if seg.end_speed_kmh is not None else seg.speed_kmh, 2
                ),
                "incline_pct": round(seg.incline_pct, 1),
                "end_incline_pct": round(
                    seg.end_incline_pct if seg.end_incline_pct is not None else seg.incline_pct, 1
                ),
            }
        )
        start += length
    return {"name": plan.name, "duration_s": round(start, 1), "segments": segments}


def state_payload(snapshot: SessionSnapshot) -> dict[str, Any]:
    """The live values, rounded to what the page shows (so "changed" means a visible change)."""
    m = snapshot.machine
    seg = snapshot.segment
    nxt = snapshot.next_segment
    return {
        "type": "state",
        "phase": snapshot.phase.value,
        "connection": snapshot.connection.value,
        "paused_by": snapshot.paused_by,
        "stop_reason": snapshot.stop_reason.value if snapshot.stop_reason else None,
        "countdown_s": _num(snapshot.countdown_s, 0),
        "segment_index": snapshot.segment_index,
        "segment_count": len(snapshot.plan.segments),
        "segment_name": seg.name if seg else None,
        "segment_kind": seg.kind.value if seg else None,
        "segment_remaining_s": _num(snapshot.segment_remaining_s, 0),
        "segment_remaining_m": _num(snapshot.segment_remaining_m, 0),
        "segment_progress": _num(snapshot.segment_progress, 3),
        "next_name": nxt.name if nxt else None,
        "speed_kmh": _num(m.speed_kmh, 1),
        "incline_pct": _num(m.incline_pct, 1),
        "target_speed_kmh": _num(snapshot.target_speed_kmh, 1),
        "target_incline_pct": _num(snapshot.target_incline_pct, 1),
        "elapsed_s": _num(snapshot.session_elapsed_s, 0),
        "remaining_s": _num(snapshot.session_remaining_s, 0),
        "distance_m": _num(snapshot.distance_m, 0),
        "ascent_m": _num(snapshot.ascent_m, 0),
        "heart_rate_bpm": snapshot.heart_rate_bpm,  # a fresh, real reading only (safety rule 6)
        "hr_reason": snapshot.hr_reason,
        "hr_zone": snapshot.hr_zone,
        "hr_low_bpm": _num(snapshot.hr_low_bpm, 0),
        "hr_high_bpm": _num(snapshot.hr_high_bpm, 0),
        "energy_kcal": _num(snapshot.energy_kcal, 0),
        "cue": snapshot.cue,
        "message": snapshot.message,
        "units": snapshot.units,
    }


def parse_request(raw: str | bytes) -> Command:
    """A page's request as the engine's ``Command`` (source: web), or ``BadRequest`` with the
    one reason to send back. Nothing is applied for a bad request."""
    if len(raw) > MAX_REQUEST_BYTES:
        raise BadRequest(f"request too long (at most {MAX_REQUEST_BYTES} bytes)")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest('not JSON: send {"type": "command", "command": "pause"}') from None
    if not isinstance(doc, dict) or doc.get("type") != "command":
        raise BadRequest('not a command: send {"type": "command", "command": "pause"}')
    name = doc.get("command")
    if name in _NEVER:
        raise BadRequest("the belt starts and resumes only from the keys on the machine running treadwalk")
    if not isinstance(name, str) or name not in COMMANDS:
        raise BadRequest(f"unknown command {name!r}; one of: {', '.join(COMMANDS)}")
    kind, value = COMMANDS[name]
    return Command(kind, value, source=CommandSource.WEB)
