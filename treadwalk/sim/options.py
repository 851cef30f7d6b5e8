"""Quirks and faults of the virtual treadmill, as data. Stdlib only (no Bumble).

Quirks are composable names taken from real treadmills (shared/ftms/REFERENCE.md part 2);
presets are named sets of them. Faults are small spec strings (``drop@30s+10s``,
``reject:start``) parsed into ``Fault`` values. The CLI validates flags with these functions
before it imports Bumble.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from treadwalk.core.errors import UsageError

__all__ = [
    "OP_NAMES",
    "PRESETS",
    "QUIRKS",
    "Fault",
    "FaultKind",
    "Quirk",
    "parse_fault",
    "parse_op",
    "parse_quirks",
]


class Quirk(enum.StrEnum):
    """One behaviour of a real treadmill the sim can copy (REFERENCE.md part 2)."""

    STEP_COUNT_BIT13 = "step_count_bit13"
    RESPONSES_AS_NOTIFICATIONS = "responses_as_notifications"
    PADDED_STATUS = "padded_status"
    NO_CONTROL_ENFORCEMENT = "no_control_enforcement"
    ECHO_STATUS = "echo_status"
    RESERVED_TRAINING_STATUS = "reserved_training_status"
    MPH_RANGES = "mph_ranges"
    MULTI_PACKET_MTU23 = "multi_packet_mtu23"
    NOTIFY_BEFORE_SUBSCRIBE = "notify_before_subscribe"
    NO_RESPONSE = "no_response"


# quirk -> what it does (REFERENCE.md part 2 pitfall)
QUIRKS: dict[Quirk, str] = {
    Quirk.STEP_COUNT_BIT13: "2ACD carries a uint24 step count behind RFU flag bit 13 (P1)",
    Quirk.RESPONSES_AS_NOTIFICATIONS: "control-point responses are notified, not indicated; declared Indicate + WriteWithoutResponse (P6)",
    Quirk.PADDED_STATUS: "2ADA frames are padded with zero bytes: 04 00 00 (P8)",
    Quirk.NO_CONTROL_ENFORCEMENT: "ops work without Request Control; repeated Start/Stop answer success (P5)",
    Quirk.ECHO_STATUS: "2ADA is also sent to the client that made the change (P9)",
    Quirk.RESERVED_TRAINING_STATUS: "2AD3 uses RFU codes 00 10 (running) / 00 11 (stopped) (P10)",
    Quirk.MPH_RANGES: "the speed grid is in mph; 2AD4 holds it converted to km/h and truncated (P12)",
    Quirk.MULTI_PACKET_MTU23: "2ACD records are split for an ATT_MTU of 23 whatever the MTU (§1.4, §2.5)",
    Quirk.NOTIFY_BEFORE_SUBSCRIBE: "2ACD/2AD3/2ADA are notified to every connection without a CCCD write (P18)",
    Quirk.NO_RESPONSE: "the control point never answers; state shows only in 2ADA/2ACD (P7)",
}

PRESETS: dict[str, frozenset[Quirk]] = {
    "strict": frozenset(),
    "citysports": frozenset({Quirk.STEP_COUNT_BIT13, Quirk.NO_CONTROL_ENFORCEMENT, Quirk.ECHO_STATUS}),
    "urevo": frozenset(
        {
            Quirk.STEP_COUNT_BIT13,
            Quirk.NO_CONTROL_ENFORCEMENT,
            Quirk.RESPONSES_AS_NOTIFICATIONS,
            Quirk.PADDED_STATUS,
            Quirk.ECHO_STATUS,
            Quirk.RESERVED_TRAINING_STATUS,
            Quirk.MPH_RANGES,
            Quirk.NOTIFY_BEFORE_SUBSCRIBE,
        }
    ),
    "kingsmith": frozenset(
        {Quirk.STEP_COUNT_BIT13, Quirk.NO_RESPONSE, Quirk.NO_CONTROL_ENFORCEMENT, Quirk.ECHO_STATUS}
    ),
}

# FTMS control-point op codes by name (REFERENCE §1.7), with short aliases.
OP_NAMES: dict[str, int] = {
    "request_control": 0x00,
    "reset": 0x01,
    "set_target_speed": 0x02,
    "set_target_inclination": 0x03,
    "set_target_resistance_level": 0x04,
    "set_target_power": 0x05,
    "set_target_heart_rate": 0x06,
    "start_or_resume": 0x07,
    "stop_or_pause": 0x08,
    "set_targeted_expended_energy": 0x09,
    "set_targeted_number_of_steps": 0x0A,
    "set_targeted_number_of_strides": 0x0B,
    "set_targeted_distance": 0x0C,
    "set_targeted_training_time": 0x0D,
    "control": 0x00,
    "speed": 0x02,
    "incline": 0x03,
    "set_target_incline": 0x03,
    "start": 0x07,
    "resume": 0x07,
    "stop": 0x08,
    "pause": 0x08,
}

_TIME = r"(\d+(?:\.\d+)?)(ms|s|m)?"
_FAULT_FORMS = (
    "drop@T (e.g. drop@30s), drop@T+T (come back after a while), refuse_control[:04|:05], "
    "reject:OP, no_answer:OP (OP a hex code like 07 or a name like start), malformed@T, "
    "console_stop@T (the walker presses Stop), control_lost@T (control taken away: status 0xFF)"
)


def parse_quirks(spec: str | Iterable[str]) -> frozenset[Quirk]:
    """``"urevo,echo_status"`` (or a list of names) -> the set of quirk names.

    Presets expand to their quirks. Unknown names raise ``UsageError``.
    """
    names = [spec] if isinstance(spec, str) else list(spec)
    out: set[Quirk] = set()
    for chunk in names:
        for raw in chunk.split(","):
            name = raw.strip().lower().replace("-", "_")
            if not name:
                continue
            if name in PRESETS:
                out |= PRESETS[name]
            elif name in QUIRKS:
                out.add(Quirk(name))
            else:
                allowed = ", ".join([*sorted(PRESETS), *sorted(QUIRKS)])
                raise UsageError(f"unknown quirk '{raw.strip()}': use a comma-separated list of {allowed}.")
    return frozenset(out)


def parse_op(text: str) -> int:
    """``"07"``, ``"0x07"`` or ``"start"`` -> 7. Raises ``UsageError``."""
    t = text.strip().lower()
    if t in OP_NAMES:
        return OP_NAMES[t]
    try:
        op = int(t, 16)
    except ValueError:
        op = -1
    if not 0 <= op <= 0xFF:
        names = ", ".join(sorted(OP_NAMES))
        raise UsageError(f"unknown control-point op '{text}': use a hex code (00-ff) or one of {names}.")
    return op


def _seconds(value: str, unit: str | None) -> float:
    v = float(value)
    return v / 1000 if unit == "ms" else v * 60 if unit == "m" else v


class FaultKind(enum.StrEnum):
    DROP = "drop"  # the link goes away at ``at_s`` (and comes back after ``back_after_s``)
    MALFORMED = "malformed"  # one bad frame at ``at_s``
    REFUSE_CONTROL = "refuse_control"  # Request Control answered with ``result``
    REJECT = "reject"  # ``op`` answered "operation failed"
    NO_ANSWER = "no_answer"  # ``op`` never answered
    CONSOLE_STOP = "console_stop"  # the walker presses Stop on the console at ``at_s``
    CONTROL_LOST = "control_lost"  # control is taken away at ``at_s`` (status 0xFF to the controller)


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault.

    kind: ``drop`` (at_s, back_after_s or None = stay away), ``refuse_control`` (result),
    ``reject`` (op), ``no_answer`` (op), ``malformed``, ``console_stop``, ``control_lost``
    (at_s). Times count from the moment
    the sim starts serving, in its clock's time.
    """

    kind: FaultKind
    at_s: float | None = None
    back_after_s: float | None = None
    op: int | None = None
    result: int | None = None
    spec: str = ""


def parse_fault(spec: str) -> Fault:
    """Parse one fault spec (see ``_FAULT_FORMS``). Raises ``UsageError`` with what is allowed."""
    s = spec.strip().lower()
    if m := re.fullmatch(rf"drop@{_TIME}(?:\+{_TIME})?", s):
        at = _seconds(m[1], m[2])
        back = _seconds(m[3], m[4]) if m[3] else None
        return Fault(FaultKind.DROP, at_s=at, back_after_s=back, spec=spec)
    if m := re.fullmatch(rf"(malformed|console_stop|control_lost)@{_TIME}", s):
        return Fault(FaultKind(m[1]), at_s=_seconds(m[2], m[3]), spec=spec)
    if m := re.fullmatch(r"refuse_control(?::(?:0x)?(0?4|0?5))?", s):
        return Fault(FaultKind.REFUSE_CONTROL, result=int(m[1] or "5", 16), spec=spec)
    if m := re.fullmatch(r"(reject|no_answer):(.+)", s):
        try:
            op = parse_op(m[2])
        except UsageError:
            op = -1
        if op >= 0:
            return Fault(FaultKind(m[1]), op=op, spec=spec)
    raise UsageError(f"bad fault '{spec}': use {_FAULT_FORMS}.")
