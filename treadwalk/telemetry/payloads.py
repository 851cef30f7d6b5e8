"""What goes over the wire: state, event and Home Assistant discovery payloads, and the
command payloads read back. Pure functions on core types; stdlib only.

The README section "MQTT" documents every payload here; keep the two in step.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from typing import Any

from treadwalk import __version__
from treadwalk.core.model import Limits, Phase, SessionEvent, SessionSnapshot

from .settings import Topics

__all__ = [
    "AVAILABLE",
    "MAX_COMMAND_BYTES",
    "NOT_AVAILABLE",
    "BadCommand",
    "CommandProblem",
    "RemoteRequest",
    "discovery_messages",
    "dumps",
    "event_payload",
    "parse_command",
    "refused_event_payload",
    "state_payload",
]

AVAILABLE = "online"
NOT_AVAILABLE = "offline"
MAX_COMMAND_BYTES = 512

# command word -> (CommandKind value, name of the delta field, name of the target field)
_VALUELESS = ("pause", "resume", "stop", "skip")
_ADJUST = {"speed": ("delta_kmh", "target_kmh"), "incline": ("delta_pct", "target_pct")}


def dumps(value: Any) -> bytes:
    """Compact JSON; a value json cannot write becomes its ``str`` rather than an error."""
    return json.dumps(value, separators=(",", ":"), default=str, allow_nan=False).encode()


def _num(value: float | None, ndigits: int = 2) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, ndigits)


def state_payload(snapshot: SessionSnapshot, treadmill_id: str, name: str | None = None) -> dict[str, Any]:
    """The ``state`` document: flat, so Home Assistant and Node-RED read it with one key."""
    m = snapshot.machine
    segment = snapshot.segment
    speed = m.speed_kmh
    return {
        "treadmill": treadmill_id,
        "name": name or treadmill_id,
        "wall": round(snapshot.wall, 3),
        "session_id": snapshot.session_id,
        "profile": snapshot.plan.name,
        "phase": snapshot.phase.value,
        "paused_by": snapshot.paused_by,
        "connection": snapshot.connection.value,
        "segment_index": snapshot.segment_index,
        "segment_count": len(snapshot.plan.segments),
        "segment_name": segment.name if segment else None,
        "segment_kind": segment.kind if segment else None,
        "segment_elapsed_s": _num(snapshot.segment_elapsed_s, 1),
        "segment_remaining_s": _num(snapshot.segment_remaining_s, 1),
        "segment_remaining_m": _num(snapshot.segment_remaining_m, 1),
        "target_speed_kmh": _num(snapshot.target_speed_kmh),
        "target_incline_pct": _num(snapshot.target_incline_pct),
        "speed_override_kmh": _num(snapshot.speed_override_kmh),
        "incline_override_pct": _num(snapshot.incline_override_pct),
        "speed_kmh": _num(speed),
        "incline_pct": _num(m.incline_pct),
        "pace_s_per_km": _num(3600.0 / speed, 0) if speed else None,
        "distance_m": _num(snapshot.distance_m, 1),
        "ascent_m": _num(snapshot.ascent_m, 1),
        "elapsed_s": _num(snapshot.session_elapsed_s, 1),
        "remaining_s": _num(snapshot.session_remaining_s, 1),
        "heart_rate_bpm": snapshot.heart_rate_bpm,
        "heart_rate_zone": snapshot.hr_zone,
        "heart_rate_reason": snapshot.hr_reason,
        "steps": m.steps,
        "energy_kcal": _num(snapshot.energy_kcal, 1),
        "cue": snapshot.cue,
        "stop_reason": snapshot.stop_reason.value if snapshot.stop_reason else None,
    }


def event_payload(event: SessionEvent, treadmill_id: str) -> dict[str, Any]:
    return {
        "treadmill": treadmill_id,
        "wall": round(event.wall, 3),
        "at": round(event.at, 3),
        "kind": event.kind,
        "message": event.message,
        "data": dict(event.data),
    }


def refused_event_payload(
    treadmill_id: str, wall: float, command: str, reason: str, *, kind: str = "command_refused"
) -> dict[str, Any]:
    """A remote command that was not passed on (or passed on changed: ``command_clamped``)."""
    verb = "refused" if kind == "command_refused" else "clamped"
    return {
        "treadmill": treadmill_id,
        "wall": round(wall, 3),
        "at": None,
        "kind": kind,
        "message": f"MQTT command {command!r} {verb}: {reason}",
        "data": {"command": command, "reason": reason, "source": "mqtt"},
    }


# ---------------------------------------------------------------------------------------------
# Commands


class CommandProblem(enum.StrEnum):
    """Why a command payload is refused before the gate sees it."""

    MALFORMED = "malformed"  # not a command we can read: oversized, not JSON, bad fields
    NEVER_ALLOWED = "never_allowed"  # well-formed, but MQTT may never do it (start a belt)


class BadCommand(ValueError):
    """A command payload that is malformed, oversized, or asks for something never allowed
    (``problem`` says which)."""

    def __init__(
        self, command: str, reason: str, *, problem: CommandProblem = CommandProblem.MALFORMED
    ) -> None:
        self.command = command
        self.reason = reason
        self.problem = problem
        super().__init__(f"{command}: {reason}")


@dataclass(frozen=True, slots=True)
class RemoteRequest:
    """One parsed command: ``command`` is pause|resume|stop|skip|speed|incline.

    For speed/incline exactly one of ``delta``/``target`` is set (km/h or percent).
    """

    command: str
    delta: float | None = None
    target: float | None = None


def parse_command(payload: bytes) -> RemoteRequest:
    """Parse a ``command`` payload, or raise ``BadCommand`` saying why it is dropped."""
    if len(payload) > MAX_COMMAND_BYTES:
        raise BadCommand("?", f"payload of {len(payload)} bytes is over the {MAX_COMMAND_BYTES}-byte limit")
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadCommand("?", "payload is not a JSON object") from None
    if not isinstance(doc, dict):
        raise BadCommand("?", "payload is not a JSON object")
    command = doc.get("command")
    if not isinstance(command, str):
        raise BadCommand("?", 'payload has no "command" string')
    command = command.strip().lower()[:32]
    if command in ("start", "toggle_pause", "emergency_start"):
        raise BadCommand(
            command,
            "MQTT never starts a belt; start on the treadmill or at the keyboard",
            problem=CommandProblem.NEVER_ALLOWED,
        )
    if command in _VALUELESS:
        extra = set(doc) - {"command"}
        if extra:
            raise BadCommand(command, f"unexpected field(s) {', '.join(sorted(extra))}")
        return RemoteRequest(command)
    if command in _ADJUST:
        delta_key, target_key = _ADJUST[command]
        extra = set(doc) - {"command", delta_key, target_key}
        if extra:
            raise BadCommand(command, f"unexpected field(s) {', '.join(sorted(extra))}")
        if (delta_key in doc) == (target_key in doc):
            raise BadCommand(command, f'give exactly one of "{delta_key}" or "{target_key}"')
        key = delta_key if delta_key in doc else target_key
        value = doc[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise BadCommand(command, f'"{key}" must be a number')
        if key == delta_key:
            return RemoteRequest(command, delta=float(value))
        return RemoteRequest(command, target=float(value))
    raise BadCommand(command, "unknown command; use pause, resume, stop, skip, speed or incline")


# ---------------------------------------------------------------------------------------------
# Home Assistant discovery


@dataclass(frozen=True, slots=True)
class _Entity:
    component: str  # sensor | number | button
    key: str
    config: dict[str, Any]


def _entities(topics: Topics, limits: Limits) -> list[_Entity]:
    def sensor(key: str, name: str, template: str, **extra: Any) -> _Entity:
        cfg = {"name": name, "state_topic": topics.state, "value_template": template, **extra}
        return _Entity("sensor", key, cfg)

    measurement = {"state_class": "measurement"}
    max_speed = limits.max_speed_kmh if limits.max_speed_kmh is not None else 20.0
    max_incline = limits.max_incline_pct if limits.max_incline_pct is not None else 15.0
    return [
        sensor(
            "speed",
            "Speed",
            "{{ value_json.speed_kmh }}",
            device_class="speed",
            unit_of_measurement="km/h",
            suggested_display_precision=1,
            **measurement,
        ),
        sensor(
            "incline",
            "Incline",
            "{{ value_json.incline_pct }}",
            unit_of_measurement="%",
            icon="mdi:slope-uphill",
            suggested_display_precision=1,
            **measurement,
        ),
        sensor(
            "distance",
            "Distance",
            "{{ value_json.distance_m }}",
            device_class="distance",
            unit_of_measurement="m",
            state_class="total_increasing",
            suggested_display_precision=0,
        ),
        sensor(
            "elapsed",
            "Elapsed",
            "{{ value_json.elapsed_s }}",
            device_class="duration",
            unit_of_measurement="s",
            **measurement,
        ),
        sensor(
            "pace",
            "Pace",
            "{{ (value_json.pace_s_per_km / 60) | round(2) if value_json.pace_s_per_km else None }}",
            unit_of_measurement="min/km",
            icon="mdi:timer-outline",
            **measurement,
        ),
        sensor(
            "heart_rate",
            "Heart rate",
            "{{ value_json.heart_rate_bpm }}",
            unit_of_measurement="bpm",
            icon="mdi:heart-pulse",
            **measurement,
        ),
        sensor(
            "phase",
            "Phase",
            "{{ value_json.phase }}",
            device_class="enum",
            options=[p.value for p in Phase],
            icon="mdi:walk",
        ),
        _Entity(
            "number",
            "target_speed",
            {
                "name": "Target speed",
                "state_topic": topics.state,
                "value_template": "{{ value_json.target_speed_kmh }}",
                "command_topic": topics.command,
                "command_template": '{"command": "speed", "target_kmh": {{ value }}}',
                "min": 0.5,
                "max": max_speed,
                "step": 0.1,
                "mode": "box",
                "device_class": "speed",
                "unit_of_measurement": "km/h",
            },
        ),
        _Entity(
            "number",
            "target_incline",
            {
                "name": "Target incline",
                "state_topic": topics.state,
                "value_template": "{{ value_json.target_incline_pct }}",
                "command_topic": topics.command,
                "command_template": '{"command": "incline", "target_pct": {{ value }}}',
                "min": 0.0,
                "max": max_incline,
                "step": 0.5,
                "mode": "box",
                "unit_of_measurement": "%",
                "icon": "mdi:slope-uphill",
            },
        ),
        *(
            _Entity(
                "button",
                word,
                {
                    "name": word.capitalize(),
                    "command_topic": topics.command,
                    "payload_press": dumps({"command": word}).decode(),
                    "icon": icon,
                },
            )
            for word, icon in (("pause", "mdi:pause"), ("stop", "mdi:stop"))
        ),
    ]


def discovery_messages(
    *,
    discovery_prefix: str,
    topics: Topics,
    treadmill_id: str,
    name: str | None,
    control: bool,
    limits: Limits,
) -> list[tuple[str, bytes]]:
    """Retained discovery configs: (topic, payload). With control off, the number and button
    configs are sent empty, which removes any left by an earlier run with control on."""
    node = f"treadwalk_{treadmill_id}"
    device = {
        "identifiers": [node],
        "name": name or f"Treadmill {treadmill_id}",
        "model": "FTMS treadmill",
        "sw_version": __version__,
    }
    origin = {"name": "treadwalk", "sw_version": __version__}
    out: list[tuple[str, bytes]] = []
    for entity in _entities(topics, limits):
        topic = f"{discovery_prefix}/{entity.component}/{node}/{entity.key}/config"
        if entity.component != "sensor" and not control:
            out.append((topic, b""))
            continue
        config = {
            **entity.config,
            "unique_id": f"{node}_{entity.key}",
            "availability_topic": topics.availability,
            "payload_available": AVAILABLE,
            "payload_not_available": NOT_AVAILABLE,
            "device": device,
            "origin": origin,
        }
        out.append((topic, dumps(config)))
    # No "resume" button: a remote never resumes a standing belt. Clear one an older version left.
    out.append((f"{discovery_prefix}/button/{node}/resume/config", b""))
    return out
