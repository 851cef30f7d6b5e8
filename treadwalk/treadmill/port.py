"""The ``Treadmill`` port: all the engine knows of a belt. No third-party imports.

``FtmsTreadmill`` (bleak) implements it; the engine and its tests see only this. Every target
goes through the machine's grid and the walker's ``Limits`` inside the implementation (safety
rule 3); the returned ``Applied`` says what was actually sent and whether it was clamped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from treadwalk.core.model import Capabilities, ConnectionState, MachineEvent, TreadmillState

__all__ = ["Applied", "Treadmill"]


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of a target request: what was asked, what went to the machine."""

    requested: float
    value: float
    clamped: bool
    reason: str | None = None  # e.g. "above your --max-speed 6.0 km/h"


class Treadmill(Protocol):
    """A treadmill the engine can drive. An async context manager: connected inside, disconnected
    after (the belt left stopped if this side started it). Not re-entrant.

    Every method that talks to the machine raises only ``TreadmillError`` subclasses
    (``treadwalk.core.errors``); ``Timeout`` and ``ConnectionLost`` leave the belt in whatever
    state the machine chose, so the caller must still stop it (or tell the walker to).
    """

    async def __aenter__(self) -> Self:
        """Connect, discover, subscribe. Does not request control or move the belt.

        Raises:
            DeviceNotFound: nothing answered under that name or address, or there is no
                Bluetooth adapter to look with.
            ConnectionLost: the machine was found but the link did not hold while setting up.
            TreadmillError: the device is not an FTMS treadmill.
        """
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leave the belt stopped if we ever started it, then disconnect.

        Raises nothing of its own: a stop that fails here is not retried (the engine's own stop,
        before this, is the one that is confirmed or reported).
        """
        ...

    @property
    def capabilities(self) -> Capabilities:
        """What the machine said about itself on connect: name, grids of speed and incline
        (``incline`` is None on a flat belt), features, device information."""
        ...

    @property
    def state(self) -> TreadmillState:
        """The latest merged values (an empty state before the first notification)."""
        ...

    @property
    def connection(self) -> ConnectionState:
        """Where the link is: disconnected, connecting, connected, reconnecting."""
        ...

    def events(self) -> AsyncIterator[MachineEvent]:
        """A new subscription to machine events (console, safety key, control, link). The
        iterator ends when the treadmill is closed."""
        ...

    async def start(self) -> None:
        """Start or resume the belt. Call only after an explicit action of the walker
        (safety rule 1): nothing in treadwalk calls it on its own.

        Raises:
            CommandRejected: the machine refused (``.result`` is the FTMS result code), e.g.
                its safety key is out or another app has control.
            Timeout: the machine did not answer, or did not start, in time.
            ConnectionLost: the link is down and did not come back within the grace period.
        """
        ...

    async def pause(self) -> None:
        """Pause the belt (FTMS stop-or-pause, pause).

        Raises:
            CommandRejected: the machine refused the pause.
            Timeout: no answer in time.
            ConnectionLost: the link is down.
        """
        ...

    async def stop(self) -> None:
        """Stop the belt, confirmed from the machine's own data where it reports it.

        Raises:
            CommandRejected: the machine refused the stop: the walker must press its stop button.
            Timeout: no answer, or the belt did not stop, in time: the same advice.
            ConnectionLost: the link is down: the same advice.
        """
        ...

    async def set_speed(self, speed_kmh: float) -> Applied:
        """Ask for a belt speed. The value is clamped to the machine's range and the walker's
        ``Limits`` and rounded onto the machine's grid (safety rule 3); the ``Applied`` says
        what was sent and why it differs.

        Raises:
            CommandRejected: the machine refused the target.
            Timeout: no answer in time.
            ConnectionLost: the link is down.
        """
        ...

    async def set_incline(self, incline_pct: float) -> Applied:
        """Ask for an incline, clamped and rounded like ``set_speed``. On a flat belt nothing is
        sent and the ``Applied`` says so.

        Raises:
            CommandRejected: the machine refused the target.
            Timeout: no answer in time.
            ConnectionLost: the link is down.
        """
        ...
