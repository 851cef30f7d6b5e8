"""The machine tracker: FTMS notifications in, ``TreadmillState`` and machine events out. Pure:
no bleak, no asyncio, no clock reads; tested with plain bytes and numbers.

It merges Treadmill Data records into one state (a field the machine stops sending keeps its
last value; 0 bpm is "no strap"), infers the belt (running once it moves; stopped on the console
when it stands ``STOPPED_AFTER_S`` after having moved, for machines whose status we miss), tells
our own echoes from the console's changes (a status op we caused, within its window, for a
target we sent), and follows what the Machine Status says (console buttons, safety key, reset,
control lost). The shell (``FtmsTreadmill``) feeds it and publishes what it returns.

Times: ``now`` is the session clock (state stamps, the stand-still inference); ``mono`` is the
monotonic loop time of echo windows (a machine echoes in real milliseconds at any speedup).

Imports: treadwalk.ftms, treadwalk.core, treadwalk.treadmill.quirks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from treadwalk import ftms
from treadwalk.core.axis import Quantity
from treadwalk.core.model import (
    BeltState,
    Capabilities,
    ControlLost,
    MachineEvent,
    MachineStarted,
    MachineStopped,
    StoppedBy,
    TargetChanged,
    TreadmillState,
)
from treadwalk.core.units import KM_PER_MILE, Grid

from .quirks import Quirks

__all__ = ["DEFAULT_SPEED", "ECHO_S", "STOPPED_AFTER_S", "MachineTracker", "StatusUpdate"]

# Used when a machine has no 0x2AD4 (it then cannot take speed targets anyway).
DEFAULT_SPEED = Grid(0.5, 20.0, 0.1)
# The belt counts as stopped by the machine when it reads 0 this long after having moved.
STOPPED_AFTER_S = 2.0
# A status op we caused counts as our echo this long after the command went out.
ECHO_S = 3.0
# How far a machine's echo of our target may be from what we sent, past half a grid step
# (mph machines snap our km/h onto their own grid): per axis, in its unit.
_ECHO_SLACK = {Quantity.SPEED: 0.011, Quantity.INCLINE: 0.051}

_S = ftms.StatusOp


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """What one Machine Status frame meant: events to publish, and whether control was revoked
    (0xFF control lost, or a reset), so the control point must ask again."""

    events: tuple[MachineEvent, ...] = ()
    control_revoked: bool = False
    regain: bool = False  # 0xFF: try once to take control back


@dataclass(slots=True)
class MachineTracker:
    quirks: Quirks = field(default_factory=Quirks)
    caps: Capabilities = field(default_factory=lambda: Capabilities(speed=DEFAULT_SPEED, incline=None))
    state: TreadmillState = field(default_factory=TreadmillState)
    frames: int = 0  # complete treadmill-data records received
    training_status: int | None = None
    last_target: dict[Quantity, float | None] = field(default_factory=lambda: dict.fromkeys(Quantity))
    _assembler: ftms.TreadmillDataAssembler = field(default_factory=ftms.TreadmillDataAssembler)
    _moved_since_start: bool = False
    _zero_since: float | None = None
    _echo_until: dict[int, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ what we did

    def new_link(self) -> None:
        """A fresh connection: a record split across the old one is gone."""
        self._assembler = ftms.TreadmillDataAssembler()

    def expect_echo(self, ops: tuple[int, ...], until: float) -> None:
        """Status ``ops`` seen up to ``until`` (mono) are the machine echoing our command."""
        for op in ops:
            self._echo_until[op] = until

    def is_echo(self, op: int, mono: float) -> bool:
        until = self._echo_until.get(op)
        return until is not None and mono <= until

    def started(self) -> None:
        self._moved_since_start = False
        self._zero_since = None
        self.state = replace(self.state, belt=BeltState.RUNNING)

    def paused(self) -> None:
        self.state = replace(self.state, belt=BeltState.PAUSED)

    def stopped(self) -> None:
        self.state = replace(self.state, belt=BeltState.STOPPED)

    def target_confirmed(self, q: Quantity, value: float) -> None:
        self.state = q.with_target(self.state, value)

    def found_standing(self, now: float) -> tuple[MachineEvent, ...]:
        """After a reconnect the belt stands (or is stopping): stopped, and said so once if it
        was thought to run."""
        was = self.state.belt
        self.state = replace(self.state, belt=BeltState.STOPPED)
        self._moved_since_start = False
        if was in (BeltState.RUNNING, BeltState.UNKNOWN):
            return (MachineStopped(at=now, paused=False, by=StoppedBy.UNKNOWN),)
        return ()

    # ------------------------------------------------------------------ notifications

    def on_training(self, raw: bytes) -> None:
        """0x2AD3. Raises ``DecodeError``."""
        self.training_status = ftms.decode_training_status(raw).status

    def on_data(self, raw: bytes, now: float, mono: float) -> tuple[MachineEvent, ...]:
        """0x2ACD (one frame; a record may take several). Raises ``DecodeError``."""
        record = self._assembler.feed(raw)
        if record is None:
            return ()
        self.frames += 1
        speed = record.speed_kmh
        avg_speed = record.avg_speed_kmh
        if self.quirks.data_in_mph:  # the console is set to miles and reports mph as km/h (P11)
            speed = None if speed is None else round(speed * KM_PER_MILE, 2)
            avg_speed = None if avg_speed is None else round(avg_speed * KM_PER_MILE, 2)
        changes: dict[str, Any] = {"at": now}
        if speed is not None:
            changes["speed_kmh"] = speed
        for name, value in (
            ("incline_pct", record.incline_pct),
            ("distance_m", record.distance_m),
            ("elapsed_s", record.elapsed_s),
            ("energy_kcal", record.energy_total_kcal),
            ("heart_rate_bpm", record.heart_rate_bpm),
            ("steps", record.steps),
            ("avg_speed_kmh", avg_speed),
            ("elevation_gain_m", record.elevation_gain_m),
            ("remaining_s", record.remaining_s),
            ("power_w", record.power_w),
        ):
            if value is not None:
                changes[name] = value
        if record.heart_rate_bpm == 0:
            changes["heart_rate_bpm"] = None  # no strap: 0 is "not measured"
        events: tuple[MachineEvent, ...] = ()
        belt = self.state.belt
        if speed is not None:
            if speed > 0:
                self._zero_since = None
                if belt is BeltState.RUNNING:
                    self._moved_since_start = True
                elif belt is BeltState.UNKNOWN:
                    belt = BeltState.RUNNING
                    self._moved_since_start = True
            elif belt is BeltState.RUNNING and self._moved_since_start:
                # No status from the machine, but the belt stands: it was stopped on the console.
                if self._zero_since is None:
                    self._zero_since = now
                elif now - self._zero_since >= STOPPED_AFTER_S:
                    belt = BeltState.STOPPED
                    self._moved_since_start = False
                    if not self.is_echo(_S.STOPPED_OR_PAUSED_BY_USER, mono):
                        events = (MachineStopped(at=now, paused=False, by=StoppedBy.UNKNOWN),)
            elif belt is BeltState.UNKNOWN:
                belt = BeltState.STOPPED
        changes["belt"] = belt
        self.state = replace(self.state, **changes)
        return events

    def on_status(self, raw: bytes, now: float, mono: float) -> StatusUpdate:
        """0x2ADA. Raises ``DecodeError``."""
        status = ftms.decode_machine_status(raw)
        op = status.op
        echo = self.is_echo(op, mono)
        if op == _S.STOPPED_OR_PAUSED_BY_USER:
            paused = status.params.get("control") == 2
            self.state = replace(self.state, belt=BeltState.PAUSED if paused else BeltState.STOPPED)
            self._moved_since_start = False
            if echo:
                return StatusUpdate()
            return StatusUpdate((MachineStopped(at=now, paused=paused, by=StoppedBy.USER),))
        if op == _S.STOPPED_BY_SAFETY_KEY:
            self.state = replace(self.state, belt=BeltState.STOPPED)
            self._moved_since_start = False
            return StatusUpdate((MachineStopped(at=now, paused=False, by=StoppedBy.SAFETY_KEY),))
        if op == _S.STARTED_OR_RESUMED_BY_USER:
            self.state = replace(self.state, belt=BeltState.RUNNING)
            return StatusUpdate(() if echo else (MachineStarted(at=now),))
        if op == _S.RESET:
            self.state = replace(self.state, belt=BeltState.STOPPED)
            return StatusUpdate(control_revoked=True)
        if op == _S.TARGET_SPEED_CHANGED:
            kmh = float(status.params.get("target_speed_kmh", 0.0))
            if self.quirks.targets_in_mph:
                kmh = round(kmh * KM_PER_MILE, 2)
            return self._target(Quantity.SPEED, kmh, now, echo)
        if op == _S.TARGET_INCLINE_CHANGED:
            return self._target(
                Quantity.INCLINE, float(status.params.get("target_incline_pct", 0.0)), now, echo
            )
        if op == _S.CONTROL_PERMISSION_LOST:
            return StatusUpdate((ControlLost(at=now),), control_revoked=True, regain=True)
        return StatusUpdate()

    def _target(self, q: Quantity, value: float, now: float, echo: bool) -> StatusUpdate:
        """A target the machine reports: ours (an echo of what we sent, within half a step of it)
        or the console's."""
        grid = q.grid(self.caps)
        step = grid.step if grid is not None else 0.1
        last = self.last_target[q]
        ours = echo and last is not None and abs(value - last) <= step / 2 + _ECHO_SLACK[q]
        self.state = q.with_target(self.state, value)
        if ours or self.state.belt is BeltState.STOPPED:
            return StatusUpdate()
        change = (
            TargetChanged(at=now, speed_kmh=value)
            if q is Quantity.SPEED
            else TargetChanged(at=now, incline_pct=value)
        )
        return StatusUpdate((change,))
