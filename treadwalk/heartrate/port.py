"""The ``HeartRate`` port: all the engine knows of a heart-rate source. No third-party imports.

``status()`` is the one way to read it: an ``HrStatus`` with a fresh, real reading, or none and
the reason (``treadwalk.core.heart``). A source never raises from ``status()``; a strap that
drops reconnects by itself and meanwhile reads ``no_source``. Nothing here touches the belt.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from treadwalk.core.heart import HrReading, HrSourceKind, HrStatus
from treadwalk.core.model import ConnectionState

__all__ = ["HeartRate"]


class HeartRate(Protocol):
    async def __aenter__(self) -> Self:
        """Connect (a strap) and start listening. Raises ``HeartRateError`` if it cannot."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    @property
    def kind(self) -> HrSourceKind: ...

    @property
    def name(self) -> str | None:
        """The strap's name (or address) as found, "treadmill", or None for no source."""
        ...

    @property
    def connection(self) -> ConnectionState: ...

    @property
    def latest(self) -> HrReading | None:
        """The last real reading with the clock time it arrived, however old."""
        ...

    @property
    def battery_pct(self) -> int | None:
        """The strap's battery level, when it reports one."""
        ...

    def status(self) -> HrStatus:
        """Heart rate now: a fresh real reading, or None and the reason."""
        ...

    def take_rr(self) -> tuple[float, ...]:
        """The beat-to-beat (RR) intervals in ms that arrived with real readings since the last
        call, oldest first (empty for a source without them). For the record, never for control."""
        ...
