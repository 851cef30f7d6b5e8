"""Engine timing, in real time, through the real stack: 60 one-second segments played by the
Session (absolute deadlines) next to a naive loop (set speed, sleep 1 s, repeat), in one run,
each driving FtmsTreadmill over the in-process radio to the virtual treadmill.

Measured: the lateness of each segment's first command after its deadline (p50, p99, max), and
the drift of the last boundary (its first command's lateness after 60 segments). Plus the
throughput of a 60-minute profile at maximum speedup through the same stack.

    .venv/bin/python scripts/bench_engine.py [--segments 60] [--skip-throughput]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from typing import Any

from treadwalk.core.clock import LoopClock
from treadwalk.core.model import Plan, PlanSegment
from treadwalk.engine import Session, Settings
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill

NAME = "bench-sim"


class Timed(FtmsTreadmill):
    """FtmsTreadmill, noting the loop time at which each target is asked for."""

    calls: list[tuple[float, float]]

    async def set_speed(self, speed_kmh: float) -> Any:
        self.calls.append((asyncio.get_running_loop().time(), speed_kmh))
        return await super().set_speed(speed_kmh)


def _speeds(n: int) -> list[float]:
    return [4.0 if i % 2 == 0 else 4.5 for i in range(n)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _report(name: str, lateness_s: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in lateness_s]
    out = {"p50": statistics.median(ms), "p99": _pct(ms, 0.99), "max": max(ms), "drift": ms[-1]}
    print(
        f"{name:<28} p50 {out['p50']:7.2f} ms   p99 {out['p99']:7.2f} ms   max {out['max']:7.2f} ms   "
        f"last boundary {out['drift']:7.2f} ms",
        flush=True,
    )
    return out


async def _rig(clock: LoopClock) -> tuple[Any, Any, Timed]:
    radio = VirtualRadio()
    await radio.__aenter__()
    device = await radio.new_device(NAME)
    sim = VirtualTreadmill(device, clock, name=NAME, accel_kmh_per_s=5.0, decel_kmh_per_s=5.0)
    await sim.__aenter__()
    tm = Timed(NAME, clock=clock, radio=radio)
    tm.calls = []
    return radio, sim, tm


async def engine_run(n: int) -> list[float]:
    clock = LoopClock()
    radio, sim, tm = await _rig(clock)
    try:
        plan = Plan(
            name="bench",
            segments=tuple(PlanSegment(f"s{i}", "work", v, duration_s=1.0) for i, v in enumerate(_speeds(n))),
        )
        session = Session(
            tm, plan, clock, settings=Settings(auto_start=True, countdown_s=3.0, cooldown_s=0.0)
        )
        await session.run()
        started = session.state.started_at
        assert started is not None
        # clock time = loop time here (speedup 1, anchored on the loop)
        deadlines = [started + i for i in range(1, n)]
        lateness = []
        for d in deadlines:
            first = next(t for t, _ in tm.calls if t >= d - 1e-3)
            lateness.append(first - d)
        return lateness
    finally:
        await sim.__aexit__(None, None, None)
        await radio.__aexit__(None, None, None)


async def naive_run(n: int) -> list[float]:
    clock = LoopClock()
    radio, sim, tm = await _rig(clock)
    try:
        async with tm:
            await tm.start()
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            for v in _speeds(n):
                await tm.set_speed(v)
                await asyncio.sleep(1.0)
            await tm.stop()
        return [t - (t0 + i) for i, (t, _) in enumerate(tm.calls)][1:]
    finally:
        await sim.__aexit__(None, None, None)
        await radio.__aexit__(None, None, None)


async def throughput() -> tuple[float, float]:
    """A 60-minute profile (60 one-minute segments) at maximum speedup: wall seconds, and session s."""
    clock = LoopClock(speedup=10_000.0)
    radio, sim, tm = await _rig(clock)
    try:
        plan = Plan(
            name="hour",
            segments=tuple(
                PlanSegment(f"s{i}", "work", 4.0 + (i % 3) * 0.5, incline_pct=float(i % 4), duration_s=60.0)
                for i in range(60)
            ),
        )
        session = Session(
            tm, plan, clock, settings=Settings(auto_start=True, countdown_s=3.0, cooldown_s=0.0)
        )
        t0 = time.perf_counter()
        result = await session.run()
        return time.perf_counter() - t0, result.duration_s
    finally:
        await sim.__aexit__(None, None, None)
        await radio.__aexit__(None, None, None)


async def main(n: int, skip_throughput: bool) -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}, {platform.system()}"
    )
    print(f"{n} one-second segments, real time, Session -> FtmsTreadmill -> radio -> virtual treadmill")
    _report("engine (absolute deadlines)", await engine_run(n))
    _report("naive sleep(1) per segment", await naive_run(n))
    if not skip_throughput:
        wall, session_s = await throughput()
        print(
            f"60-minute profile at max speedup: {wall:.1f} s wall for {session_s:.0f} s of session",
            flush=True,
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=60)
    ap.add_argument("--skip-throughput", action="store_true")
    a = ap.parse_args()
    asyncio.run(main(a.segments, a.skip_throughput))
