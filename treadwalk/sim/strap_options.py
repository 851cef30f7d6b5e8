"""Quirks and faults of the virtual heart-rate strap, as data. Stdlib only (no Bumble).

Quirks (composable names): ``uint16`` (the value as uint16, flag bit 0), ``no_contact_feature``
(the strap cannot tell skin contact: bit 2 clear), ``no_rr`` (no RR intervals), ``energy``
(energy expended in every 10th frame), ``no_battery`` (no Battery Service).

Faults (``KIND@T`` or ``KIND@T+D``: from T for D, or for good): ``drop`` (the link drops, and
comes back after D), ``contact_lost`` (contact bit clear; a strap without the contact feature
sends 0 instead), ``zero`` (value 0), ``invalid`` or ``255`` (value 255), ``frozen`` (the same
frame, RR intervals and all, over and over). Times count from the moment the strap starts
serving, in its clock's time.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from treadwalk.core.errors import UsageError

__all__ = ["STRAP_QUIRKS", "StrapFault", "StrapFaultKind", "parse_strap_fault", "parse_strap_quirks"]

STRAP_QUIRKS: dict[str, str] = {
    "uint16": "the heart rate goes as uint16 (flag bit 0), which parsers reading byte 1 get wrong",
    "no_contact_feature": "the strap cannot tell skin contact (flag bit 2 clear)",
    "no_rr": "no RR intervals",
    "energy": "energy expended (kJ) in every 10th frame",
    "no_battery": "no Battery Service",
}


class StrapFaultKind(enum.StrEnum):
    DROP = "drop"
    CONTACT_LOST = "contact_lost"
    ZERO = "zero"
    INVALID = "invalid"
    FROZEN = "frozen"


@dataclass(frozen=True, slots=True)
class StrapFault:
    kind: StrapFaultKind
    at_s: float
    for_s: float | None = None  # None: for good
    spec: str = ""

    def active(self, t: float) -> bool:
        return t >= self.at_s and (self.for_s is None or t < self.at_s + self.for_s)


_TIME = r"(\d+(?:\.\d+)?)(ms|s|m)?"
_FORMS = "KIND@T or KIND@T+D (e.g. drop@60s+20s, frozen@5m), KIND one of " + ", ".join(
    [*StrapFaultKind, "255"]
)


def _seconds(value: str, unit: str | None) -> float:
    v = float(value)
    return v / 1000 if unit == "ms" else v * 60 if unit == "m" else v


def parse_strap_fault(spec: str) -> StrapFault:
    """``"drop@30s+10s"`` -> a ``StrapFault``. Raises ``UsageError`` saying what is allowed."""
    s = spec.strip().lower().replace("-", "_")
    m = re.fullmatch(rf"([a-z_0-9]+)@{_TIME}(?:\+{_TIME})?", s)
    kind_name = m[1] if m else ""
    if kind_name == "255":
        kind_name = "invalid"
    if m is None or kind_name not in {k.value for k in StrapFaultKind}:
        raise UsageError(f"bad strap fault '{spec}': use {_FORMS}.")
    return StrapFault(
        StrapFaultKind(kind_name),
        at_s=_seconds(m[2], m[3]),
        for_s=_seconds(m[4], m[5]) if m[4] else None,
        spec=spec,
    )


def parse_strap_quirks(spec: str | Iterable[str]) -> frozenset[str]:
    """``"uint16,no_rr"`` (or a list) -> the set of quirk names. Unknown names raise ``UsageError``."""
    names = [spec] if isinstance(spec, str) else list(spec)
    out: set[str] = set()
    for chunk in names:
        for raw in chunk.split(","):
            name = raw.strip().lower().replace("-", "_")
            if not name:
                continue
            if name not in STRAP_QUIRKS:
                raise UsageError(
                    f"unknown strap quirk '{raw.strip()}': use a comma-separated list of {', '.join(STRAP_QUIRKS)}."
                )
            out.add(name)
    return frozenset(out)
