"""Walks recorded through the real stack for the history charts: Session -> FtmsTreadmill ->
bleak -> the Bumble radio -> the virtual treadmill, the Recorder observing, in virtual time.

``record_walks(folder)`` records two sessions of ``WALK_PLAN`` into ``folder``'s store and returns
their ids: the first with a console speed change, a skipped segment, a pause inside the distance
segment and a stop on the console; the second played to its end (for ``history compare``).
Wall times are ``WALL0`` plus the virtual clock, so the charts are the same on every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from treadwalk.core.clock import LoopClock
from treadwalk.core.model import Command, CommandKind, CommandSource, Limits, Phase, Plan, PlanSegment
from treadwalk.engine import Session, Settings
from treadwalk.radio import VirtualRadio
from treadwalk.recording import Recorder, SessionStore
from treadwalk.sim import VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill

WALL0 = 1_767_258_000.0  # 2026-01-01 09:00 UTC
NAME = "treadwalk-sim"

WALK_PLAN = Plan(
    name="History walk",
    segments=(
        PlanSegment("Warm-up", "warmup", 4.0, 0.0, duration_s=60.0),
        PlanSegment("Brisk", "work", 5.5, 4.0, duration_s=90.0),
        PlanSegment("Hill", "work", 5.0, 8.0, duration_s=60.0),
        PlanSegment("Steady 150 m", "work", 5.0, 2.0, distance_m=150.0),
        PlanSegment("Easy", "recovery", 4.5, 1.0, duration_s=120.0),
    ),
)


class _Clock(LoopClock):
    """The loop's (virtual) clock, with wall time fixed to WALL0 at its start."""

    def wall(self) -> float:
        return WALL0 + self.now()


async def _record(
    store: SessionStore, script: Callable[[Session, VirtualTreadmill], Awaitable[None]] | None
) -> int:
    clock = _Clock()
    async with VirtualRadio() as radio:
        device = await radio.new_device(NAME)
        async with VirtualTreadmill(device, clock, name=NAME) as sim:
            tm = FtmsTreadmill(NAME, clock=clock, radio=radio, backoff_s=(0.5, 1.0))
            rec = Recorder(store, WALK_PLAN, device="Virtual treadmill", clock_wall=clock.wall)
            session = Session(
                tm,
                WALK_PLAN,
                clock,
                limits=Limits(),
                observers=[rec],
                settings=Settings(auto_start=True, cooldown_s=20.0),
            )
            task = asyncio.create_task(session.run(), name="history-walk")
            if script is not None:
                await script(session, sim)
            result = await asyncio.wait_for(task, 900)
            rec.finish(result.stop_reason, {})
            return rec.session_id


async def _until(predicate: Callable[[], bool], timeout_s: float = 300.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.25)


async def _eventful(session: Session, sim: VirtualTreadmill) -> None:
    def seg() -> int | None:
        snap = session.snapshot
        return snap.segment_index if snap is not None else None

    def elapsed() -> float:
        snap = session.snapshot
        return snap.segment_elapsed_s if snap is not None else 0.0

    await _until(lambda: seg() == 1 and elapsed() >= 40)
    sim.console_set_speed(6.5)  # the walker speeds up on the console
    await _until(lambda: seg() == 2 and elapsed() >= 20)
    session.submit(Command(CommandKind.SKIP, source=CommandSource.KEYBOARD))  # the hill is skipped
    await _until(lambda: seg() == 3 and (session.snapshot is not None) and session.snapshot.distance_m > 0)
    await asyncio.sleep(40)
    sim.press_pause()  # a pause on the console, mid distance segment
    await _until(lambda: session.snapshot is not None and session.snapshot.phase is Phase.PAUSED)
    await asyncio.sleep(45)
    sim.press_start()
    await _until(lambda: seg() == 4 and elapsed() >= 50)
    sim.press_stop()  # ended on the console


async def record_walks(folder: Path) -> tuple[int, int]:
    with SessionStore(folder) as store:
        first = await _record(store, _eventful)
        second = await _record(store, None)
    return first, second
