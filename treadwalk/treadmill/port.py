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

from treadwalk.core.model import Capabilities, ConnectionState, Limits, MachineEvent, TreadmillState

__all__ = ["Applied", "Treadmill"]


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of a target request: what was asked, what went to the machine."""

    requested: float
    value: float
    clamped: bool
    reason: str | None = None  # e.g. "speed held at your --max-speed 6 km/h" (core.axis.Range.why)


class Treadmill(Protocol):
    # The walker's caps, enforced on every target here as well as in the engine. A ``Session``
    # owns them and sets them on its treadmill: one source for both.
    limits: Limits

    async def __aenter__(self) -> Self:
        """Connect, discover, subscribe. Does not request control or move the belt."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leave the belt stopped if we ever started it, then disconnect."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def state(self) -> TreadmillState:
        """The latest merged values (an empty state before the first notification)."""
        ...

    @property
    def connection(self) -> ConnectionState: ...

    def events(self) -> AsyncIterator[MachineEvent]:
        """A new subscription to machine events (console, safety key, control, link)."""
        ...

    async def start(self) -> None:
        """Start or resume the belt. Call only after an explicit action of the walker."""
        ...

    async def pause(self) -> None: ...

    async def stop(self) -> None: ...

    async def set_speed(self, speed_kmh: float) -> Applied: ...

    async def set_incline(self, incline_pct: float) -> Applied: ...
