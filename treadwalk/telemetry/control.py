"""Which remote commands may reach a session, and how far. Pure policy; stdlib only.

A person stands on the belt, so the gate is the narrow end:

- never a start from standstill: ``start`` is refused by the parser and ``resume`` here,
  always (a paused belt stands, with a person on it; the engine refuses a remote resume too,
  this gate only gives the remote a reason);
- speed, incline and skip only while the session is running (or cooling down) and the machine
  does not report its belt stopped or paused;
- targets clamped to the walker's caps (``Limits``) and changes rate-limited to the caps'
  change rates; commands in general rate-limited (a token bucket); ``stop`` always passes.
"""

from __future__ import annotations

from dataclasses import dataclass

from treadwalk.core.model import (
    BeltState,
    Command,
    CommandKind,
    CommandSource,
    Limits,
    Phase,
    SessionSnapshot,
)

from .payloads import RemoteRequest

__all__ = ["CommandGate", "Decision", "Refused"]

_MOVING = (Phase.RUNNING, Phase.COOLDOWN)
_OVER = (Phase.FINISHED, Phase.ABORTED)
_KINDS = {
    "pause": CommandKind.PAUSE,
    "resume": CommandKind.RESUME,
    "stop": CommandKind.STOP,
    "skip": CommandKind.SKIP,
    "speed": CommandKind.SPEED,
    "incline": CommandKind.INCLINE,
}


class Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class Decision:
    command: Command
    clamped: str | None = None  # why the value was reduced, if it was


class _Bucket:
    def __init__(self, rate_per_s: float, capacity: float, now: float) -> None:
        self.rate = rate_per_s
        self.capacity = capacity
        self.level = capacity
        self.t = now

    def refill(self, now: float) -> float:
        if now > self.t:
            self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
        self.t = max(self.t, now)
        return self.level


class CommandGate:
    """Decides one remote request against the latest snapshot. ``now`` is monotonic seconds."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        commands_per_s: float = 2.0,
        burst: int = 3,
        now: float = 0.0,
    ) -> None:
        self.limits = limits or Limits()
        self._commands = _Bucket(commands_per_s, float(burst), now)
        # Value budgets: a target may move at most one second's worth of the caps' rate per
        # command, and no faster than that rate over time.
        speed_rate = self.limits.max_speed_step_kmh_per_s
        incline_rate = self.limits.max_incline_step_pct_per_s
        self._budget = {
            "speed": _Bucket(speed_rate, speed_rate, now),
            "incline": _Bucket(incline_rate, incline_rate, now),
        }

    def decide(self, request: RemoteRequest, snapshot: SessionSnapshot | None, now: float) -> Decision:
        """The command to submit, or raise ``Refused`` with a reason a person can act on."""
        word = request.command
        kind = _KINDS.get(word)
        if kind is None:
            raise Refused("unknown command")
        if snapshot is None:
            raise Refused("no session is running yet")
        phase = snapshot.phase
        if phase in _OVER:
            raise Refused(f"the session is over ({phase.value})")
        if kind is CommandKind.STOP:
            return Decision(
                Command(kind, source=CommandSource.MQTT)
            )  # stopping is always allowed, never rate-limited

        belt = snapshot.machine.belt
        if kind is CommandKind.RESUME:
            # A paused belt stands, with a person on it: resuming it is a start from standstill.
            # The engine refuses a remote resume too; saying so here gives the remote a reason.
            raise Refused(
                f"the belt stands (session {phase.value}): MQTT never starts a belt from standstill; "
                "resume at the treadmill or on the treadwalk screen"
            )
        elif kind is CommandKind.PAUSE:
            if phase not in _MOVING:
                raise Refused(f"the session is {phase.value}, not running")
        else:  # speed, incline, skip: only on a moving belt
            if phase not in _MOVING:
                raise Refused(f"the belt stands (session {phase.value}): MQTT never starts a belt")
            if belt in (BeltState.STOPPED, BeltState.PAUSED):
                raise Refused(f"the treadmill reports its belt {belt.value}")

        if self._commands.refill(now) < 1.0:
            raise Refused("rate limited: too many commands, try again in a moment")

        value: float | None = None
        clamped: str | None = None
        if kind in (CommandKind.SPEED, CommandKind.INCLINE):
            value, clamped = self._adjust(word, request, snapshot, now)
        self._commands.level -= 1.0
        if value is not None:
            self._budget[word].level -= abs(value)
        return Decision(Command(kind, value, source=CommandSource.MQTT), clamped)

    def _adjust(
        self, word: str, request: RemoteRequest, snapshot: SessionSnapshot, now: float
    ) -> tuple[float, str | None]:
        if word == "speed":
            current, cap, unit = snapshot.target_speed_kmh, self.limits.max_speed_kmh, "km/h"
            floor: float | None = 0.0
        else:
            current, cap, unit = snapshot.target_incline_pct, self.limits.max_incline_pct, "%"
            floor = None  # the machine's own range bounds it below; the engine applies it
        if request.delta is not None:
            delta = request.delta
        else:
            assert request.target is not None
            if current is None:
                raise Refused(f"there is no {word} target to change yet")
            delta = request.target - current
        reasons: list[str] = []
        if current is not None:
            goal = current + delta
            if cap is not None and goal > cap:
                goal = cap
                reasons.append(f"capped at your maximum {cap:g} {unit}")
            if floor is not None and goal < floor:
                goal = floor
            delta = goal - current
        if abs(delta) < 1e-9:
            raise Refused(reasons[0] if reasons else f"the {word} target is already there")
        budget = self._budget[word].refill(now)
        if budget < 0.05:
            raise Refused(f"rate limited: {word} is changing as fast as allowed, try again in a moment")
        if abs(delta) > budget:
            delta = budget if delta > 0 else -budget
            reasons.append(f"limited to {budget:.1f} {unit} per command")
        return round(delta, 2), ("; ".join(reasons) or None)
