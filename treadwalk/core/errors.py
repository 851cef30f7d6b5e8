"""The one error tree of treadwalk. Stdlib only.

Every error a user can meet is a ``TreadwalkError``; its message is one sentence that ends
with what the user can do. Third-party exceptions are translated once, at the adapter that
calls the library, with ``raise ... from exc``.

::

    TreadwalkError
     ├── UsageError                 bad flags or arguments (exit 2)
     ├── ProfileError               a profile that does not load (exit 2); .problems, each FILE:LINE: ...
     ├── ConfigError                a bad config file or value (exit 2)
     ├── DecodeError                bytes that are not what the characteristic allows (exit 2 at the CLI)
     ├── TreadmillError             anything between us and the belt (exit 1)
     │    ├── DeviceNotFound
     │    ├── ConnectionLost
     │    ├── Timeout
     │    ├── CommandRejected       .op, .result (the FTMS result code)
     │    └── OutOfRange            .requested, .allowed
     ├── HeartRateError             a heart-rate strap that cannot be reached at the start (exit 1;
     │                              once running, a strap never stops a session)
     ├── RecordingError             the session store (exit 1)
     ├── TelemetryError             MQTT (exit 1; never stops a session)
     └── WebError                   the second screen's server (exit 1; never stops a session)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "CommandRejected",
    "ConfigError",
    "ConnectionLost",
    "DecodeError",
    "DeviceNotFound",
    "ExitCode",
    "HeartRateError",
    "OutOfRange",
    "ProfileError",
    "ProfileProblem",
    "RecordingError",
    "TelemetryError",
    "Timeout",
    "TreadmillError",
    "TreadwalkError",
    "UsageError",
    "WebError",
]


class ExitCode(enum.IntEnum):
    """What the CLI returns (DESIGN.md): 0 done, 1 runtime failure, 2 bad usage or bad input."""

    OK = 0
    FAILURE = 1
    USAGE = 2


class TreadwalkError(Exception):
    """Base of every error treadwalk raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code: int = ExitCode.FAILURE


class UsageError(TreadwalkError):
    """Bad flags, arguments or combinations of them."""

    exit_code = ExitCode.USAGE


class ConfigError(TreadwalkError):
    """A config file or value that cannot be used."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True, slots=True)
class ProfileProblem:
    """One thing wrong in a profile file: where, and what (ending with what is allowed)."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class ProfileError(TreadwalkError):
    """A profile that does not load. Carries every problem found, not only the first."""

    exit_code = 2

    def __init__(self, problems: list[ProfileProblem] | ProfileProblem) -> None:
        self.problems = [problems] if isinstance(problems, ProfileProblem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DecodeError(TreadwalkError):
    """Bytes that a characteristic does not allow. Names the characteristic and the raw hex."""

    exit_code = 2

    def __init__(self, char: str, data: bytes, reason: str) -> None:
        self.char = char
        self.data = bytes(data)
        self.reason = reason
        super().__init__(f"cannot decode {char} frame {self.data.hex() or '(empty)'}: {reason}")


class TreadmillError(TreadwalkError):
    """Anything that goes wrong between treadwalk and the belt."""


class DeviceNotFound(TreadmillError):
    """No treadmill answered under that address or name."""


class ConnectionLost(TreadmillError):
    """The link dropped and did not come back."""


class Timeout(TreadmillError):
    """The treadmill did not answer in time."""


class CommandRejected(TreadmillError):
    """The treadmill answered a control-point request with a result other than success."""

    def __init__(self, message: str, *, op: int, result: int) -> None:
        self.op = op
        self.result = result
        super().__init__(message)


class OutOfRange(TreadmillError):
    """A target outside what the machine or the user's caps allow, where clamping is not wanted."""

    def __init__(self, message: str, *, requested: float, allowed: tuple[float, float]) -> None:
        self.requested = requested
        self.allowed = allowed
        super().__init__(message)


class HeartRateError(TreadwalkError):
    """A heart-rate strap that cannot be found or connected when the session starts. Once the
    session runs, a strap that drops only reconnects in the background (never touches the belt)."""


class RecordingError(TreadwalkError):
    """The session store cannot be opened, written or read."""


class TelemetryError(TreadwalkError):
    """MQTT cannot be used as configured. Never stops a running session."""


class WebError(TreadwalkError):
    """The second screen's web server (a port in use, an address that is not this machine's)."""
