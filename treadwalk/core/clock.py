"""Time, injected. Stdlib only.

Everything that waits or measures time (engine, simulator physics, treadmill client timeouts
that model the machine) takes a ``Clock``. The same code then runs in real time, accelerated
(``--speedup N``: the clock runs N times faster than the wall) or in virtual time (tests run
the event loop under ``looptime``, so ``loop.time()`` itself is virtual and ``LoopClock``
follows it without any patching).

``now()`` is monotonic seconds in the clock's own time base; ``wall()`` is the matching
epoch time, for records. Deadlines are absolute ``now()`` values: never accumulate sleeps.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "LoopClock", "ManualClock"]


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds in this clock's time base."""
        ...

    def wall(self) -> float:
        """Epoch seconds matching ``now()`` (runs at the same rate)."""
        ...

    @property
    def speedup(self) -> float:
        """How many clock seconds pass per real second (1.0 in real time)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until ``now() >= deadline`` (returns at once if it already is)."""
        ...


class LoopClock:
    """The running event loop's clock, optionally scaled by ``speedup``.

    Create it inside a running loop (it anchors to ``loop.time()`` on first use).
    """

    def __init__(self, speedup: float = 1.0) -> None:
        if not speedup >= 1.0:
            raise ValueError("speedup must be at least 1")
        self._speedup = float(speedup)
        self._loop_t0: float | None = None
        self._wall_t0 = 0.0

    def _anchor(self) -> float:
        if self._loop_t0 is None:
            self._loop_t0 = asyncio.get_running_loop().time()
            self._wall_t0 = time.time()
        return self._loop_t0

    @property
    def speedup(self) -> float:
        return self._speedup

    def now(self) -> float:
        t0 = self._anchor()
        return t0 + (asyncio.get_running_loop().time() - t0) * self._speedup

    def wall(self) -> float:
        t0 = self._anchor()
        return self._wall_t0 + (self.now() - t0)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speedup)

    async def sleep_until(self, deadline: float) -> None:
        # Re-check after waking: the loop may wake a little early by its own resolution.
        while (remaining := deadline - self.now()) > 0:
            await asyncio.sleep(remaining / self._speedup)
            if deadline - self.now() < 1e-6:
                return


class ManualClock:
    """A clock that moves only when told: for pure, synchronous tests of the functional core.

    ``sleep`` and ``sleep_until`` advance the clock immediately (and yield to the loop once),
    so a loop driven by it runs as fast as the CPU allows with exact times.
    """

    def __init__(self, start: float = 0.0, wall_start: float = 1_767_225_600.0) -> None:
        self._now = float(start)
        self._start = float(start)
        self._wall_start = wall_start

    @property
    def speedup(self) -> float:
        return float("inf")

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall_start + (self._now - self._start)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    async def sleep_until(self, deadline: float) -> None:
        if deadline > self._now:
            self._now = deadline
        await asyncio.sleep(0)
