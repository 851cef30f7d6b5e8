"""One scan-or-connect at a time in this process, the treadmill first.

BlueZ refuses a second connect (and a second discovery) from a process while one is in progress
("Operation already in progress"), so the treadmill and the heart-rate strap take turns through
this gate. The treadmill never waits behind the strap: a strap's turn *yields*, and when the
treadmill asks while a strap holds the gate, the strap's turn is cut short with ``TimeoutError``
(which its reconnect loop retries with backoff). A dead strap retrying forever can therefore never
eat the treadmill's reconnect grace. Waiters are served by priority, then in arrival order.

One gate per event loop (tests run many loops; a lock bound to one loop would break the next).
Stdlib only: both ``treadwalk.treadmill`` and ``treadwalk.heartrate`` use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import heapq
import itertools
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

__all__ = ["RadioGate", "Turn", "gate"]


class Turn(enum.IntEnum):
    TREADMILL = 0  # goes first, never cut short
    STRAP = 1  # yields to the treadmill
    SCAN = 2  # a listening window (scan commands): yields too


@dataclass(order=True)
class _Waiter:
    turn: int
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class RadioGate:
    def __init__(self) -> None:
        self._held_by: Turn | None = None
        self._holder_timeout: asyncio.Timeout | None = None
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()
        self.preempted = 0  # turns cut short for the treadmill

    @property
    def busy(self) -> bool:
        return self._held_by is not None

    @contextlib.asynccontextmanager
    async def turn(self, who: Turn) -> AsyncIterator[None]:
        """Hold the gate for one scan or connect. A yielding turn (not the treadmill's) raises
        ``TimeoutError`` when the treadmill asks meanwhile."""
        await self._acquire(who)
        try:
            if who is Turn.TREADMILL:
                yield
            else:
                async with asyncio.timeout(None) as cm:
                    self._holder_timeout = cm
                    yield
        finally:
            self._holder_timeout = None
            self._release()

    async def _acquire(self, who: Turn) -> None:
        loop = asyncio.get_running_loop()
        if self._held_by is None and not self._waiters:
            self._held_by = who
            return
        waiter = _Waiter(int(who), next(self._seq), loop.create_future())
        heapq.heappush(self._waiters, waiter)
        if who is Turn.TREADMILL and self._held_by is not Turn.TREADMILL and self._holder_timeout is not None:
            self.preempted += 1
            self._holder_timeout.reschedule(loop.time())
        try:
            await waiter.future
        except BaseException:
            if waiter.future.done() and not waiter.future.cancelled():
                self._release()  # handed to us just as we were cancelled: pass it on
            else:
                self._waiters.remove(waiter)
                heapq.heapify(self._waiters)
            raise
        self._held_by = who

    def _release(self) -> None:
        self._held_by = None
        while self._waiters:
            waiter = heapq.heappop(self._waiters)
            if not waiter.future.done():
                self._held_by = Turn(waiter.turn)
                waiter.future.set_result(None)
                return


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RadioGate] = weakref.WeakKeyDictionary()


def gate() -> RadioGate:
    """This event loop's gate."""
    loop = asyncio.get_running_loop()
    found = _gates.get(loop)
    if found is None:
        found = _gates[loop] = RadioGate()
    return found
