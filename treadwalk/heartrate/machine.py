"""The treadmill's own heart rate (FTMS Treadmill Data, flag bit 8) as a ``HeartRate``, and
``NoHeartRate`` for ``--hr none``. Stdlib and ``treadwalk.core`` only.

``MachineHeartRate`` reads ``state.heart_rate_bpm`` of anything with a ``TreadmillState`` (the
``Treadmill`` port) whenever that state is newer than the last look, and passes it through the
one rule: a treadmill's 0 (no strap paired) or 255 is no reading, never a heart rate.
``FtmsTreadmill`` keeps a field's last value when a frame leaves it out, so a machine that stops
sending heart rate shows as a frozen value: the rule's 30 s "same frame" limit ends it.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from treadwalk.core.clock import Clock
from treadwalk.core.heart import HrReading, HrReason, HrSourceKind, HrStatus, HrTracker
from treadwalk.core.model import ConnectionState, TreadmillState

__all__ = ["MachineHeartRate", "NoHeartRate"]


class _HasState(Protocol):
    @property
    def state(self) -> TreadmillState: ...

    @property
    def connection(self) -> ConnectionState: ...


class _NothingToConnect:
    """A source with no link of its own: entering and leaving do nothing."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def take_rr(self) -> tuple[float, ...]:
        return ()  # a treadmill's field and "no source" carry no beat-to-beat intervals


class MachineHeartRate(_NothingToConnect):
    """Heart rate from the treadmill's own field. Use inside the treadmill's ``async with``."""

    def __init__(self, treadmill: _HasState, clock: Clock) -> None:
        self._treadmill = treadmill
        self._clock = clock
        self._tracker = HrTracker(HrSourceKind.MACHINE)
        self._seen_at: float | None = None
        self._seen_any = False

    @property
    def kind(self) -> HrSourceKind:
        return HrSourceKind.MACHINE

    @property
    def name(self) -> str | None:
        return "treadmill"

    @property
    def connection(self) -> ConnectionState:
        return self._treadmill.connection

    @property
    def battery_pct(self) -> int | None:
        return None

    @property
    def latest(self) -> HrReading | None:
        self._look()
        return self._tracker.latest

    def reports_heart_rate(self) -> bool:
        """True once the machine has sent any heart-rate value (0 included)."""
        self._look()
        return self._seen_any

    def _look(self) -> None:
        state = self._treadmill.state
        if self._seen_at is not None and state.at <= self._seen_at:
            return
        if state.at == 0.0 and self._seen_at is None and state.speed_kmh is None:
            return  # nothing received yet
        self._seen_at = state.at
        if state.heart_rate_bpm is not None:
            self._seen_any = True
        self._tracker.feed(state.heart_rate_bpm, state.at)

    def status(self) -> HrStatus:
        self._look()
        if self._treadmill.connection is not ConnectionState.CONNECTED:
            self._tracker.lost()
        return self._tracker.status(self._clock.now())


class NoHeartRate(_NothingToConnect):
    """No heart-rate source (``--hr none``): always ``no_source``."""

    @property
    def kind(self) -> HrSourceKind:
        return HrSourceKind.NONE

    @property
    def name(self) -> str | None:
        return None

    @property
    def connection(self) -> ConnectionState:
        return ConnectionState.DISCONNECTED

    @property
    def battery_pct(self) -> int | None:
        return None

    @property
    def latest(self) -> HrReading | None:
        return None

    def status(self) -> HrStatus:
        return HrStatus(reading=None, reason=HrReason.NO_SOURCE, kind=HrSourceKind.NONE)
