"""Machine quirks as data. Stdlib only.

Real treadmills bend FTMS (../shared/ftms/REFERENCE.md part 2). Each quirk is a field of
``Quirks``; ``quirks_for`` picks them from the advertised name or the Device Information
strings, and the user's config can override any field (``Quirks.with_overrides``).

Sources of the table: REFERENCE.md P11 and P17 (qdomyos-zwift's device table), S10 (KingSmith
notes: writes too close together "crash the BLE link").
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from treadwalk.core.errors import ConfigError

__all__ = ["KNOWN_MACHINES", "Quirks", "QuirksSource", "quirks_for"]


class QuirksSource(enum.StrEnum):
    """Where a connected machine's quirks came from."""

    SPEC = "spec"  # none known: the spec's behaviour
    KNOWN_MACHINE = "known machine"  # the table below, by name or Device Information
    GIVEN = "given"  # a ``Quirks`` passed in by the caller
    CONFIG = "config"  # the table's, with the walker's ``[quirks]`` overrides


@dataclass(frozen=True, slots=True)
class Quirks:
    """How one machine bends the spec. Defaults are the spec's behaviour."""

    # Set Target Speed takes mph (x0.01) although FTMS says km/h (TM4800, Merach MRK-T, ...).
    targets_in_mph: bool = False
    # Treadmill Data speed is in mph (x0.01) when the console is set to miles (Bowflex T9, 3G Elite,
    # TheRun T15): only the walker knows their console's setting, so this comes from config.
    data_in_mph: bool = False
    # Never send Start/Resume while the belt runs: on some pads it toggles pause. treadwalk never
    # sends it to a running belt anyway; with this set, a belt in an unknown state counts as running.
    no_start_while_running: bool = False
    # Request control again before every write (Technogym MyRun, qz's default pattern).
    control_before_every_write: bool = False
    # Minimum time between two control-point writes (KingSmith crashes when 07 and 02 are close).
    min_write_interval_s: float = 0.0
    # The incline target is ignored or absent although the feature bits claim it.
    no_incline: bool = False
    # How long to wait for a control-point response before confirming from data instead.
    response_timeout_s: float = 2.0

    def with_overrides(self, overrides: Mapping[str, object]) -> Quirks:
        """Apply the user's config (``[quirks]`` table). Unknown keys are a ConfigError."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, object] = {}
        for key, value in overrides.items():
            if key not in fields:
                allowed = ", ".join(sorted(fields))
                raise ConfigError(f"unknown quirk '{key}' in config; allowed: {allowed}.")
            current = getattr(self, key)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ConfigError(f"quirk '{key}' takes true or false, not {value!r}.")
            elif not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"quirk '{key}' takes a number of seconds >= 0, not {value!r}.")
            changes[key] = float(value) if isinstance(current, float) else value
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def active(self) -> list[str]:
        default = Quirks()
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(default, f.name)]


# Name prefix (as advertised) -> quirks. Checked in order; the first match wins.
KNOWN_MACHINES: tuple[tuple[str, Quirks], ...] = (
    ("TM4800-", Quirks(targets_in_mph=True)),
    ("TM6500-", Quirks(targets_in_mph=True)),
    ("MRK-T", Quirks(targets_in_mph=True)),
    ("JFTM T202", Quirks(targets_in_mph=True)),
    ("WT", Quirks(targets_in_mph=True)),
    ("SCHWINN 810", Quirks(no_incline=True)),
    ("FIT-TM-", Quirks(no_incline=True)),
    ("TUNTURI T60-", Quirks(no_incline=True)),
    ("TUNTURI T90-", Quirks(no_incline=True)),
    ("KS-", Quirks(min_write_interval_s=1.0, no_start_while_running=True, response_timeout_s=1.0)),
    ("MyRun", Quirks(control_before_every_write=True)),
)

# Device Information manufacturer name -> quirks (when the advertised name is generic).
KNOWN_MANUFACTURERS: tuple[tuple[str, Quirks], ...] = (
    ("KingSmith", Quirks(min_write_interval_s=1.0, no_start_while_running=True, response_timeout_s=1.0)),
    ("Technogym", Quirks(control_before_every_write=True)),
)


def quirks_for(name: str | None, manufacturer: str | None = None, model: str | None = None) -> Quirks:
    """The quirks of a machine from its advertised name, then its DIS manufacturer/model."""
    for prefix, quirks in KNOWN_MACHINES:
        if name and name.startswith(prefix):
            return quirks
        if model and model.startswith(prefix):
            return quirks
    for maker, quirks in KNOWN_MANUFACTURERS:
        if manufacturer and manufacturer.lower().startswith(maker.lower()):
            return quirks
    return Quirks()
