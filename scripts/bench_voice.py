"""The voice's cost, in real time, through the real stack: a profile of short segments played by the
Session over the in-process radio to the virtual treadmill, once with the voice (espeak-ng, each
utterance written to a WAV file: this machine has no sound card) and once without, in one run.

Measured:
- boundary to utterance start: from the moment the engine published a segment change to the
  moment the synthesiser process for it was started (median, p99; goal under 300 ms);
- synthesis time of a segment announcement (espeak-ng, to a file);
- the session's own boundary lateness (the segment event's time after its planned deadline, in
  real ms) with the voice on next to off: it must not move.

    .venv/bin/python scripts/bench_voice.py [--segments 40] [--speedup 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from treadwalk.core.clock import LoopClock
from treadwalk.core.model import EventKind, Phase, Plan, PlanSegment, SessionEvent, SessionSnapshot
from treadwalk.engine import Session, Settings
from treadwalk.radio import VirtualRadio
from treadwalk.sim import VirtualTreadmill
from treadwalk.treadmill.ftms import FtmsTreadmill
from treadwalk.voice import Voice, find_synthesizer

NAME = "bench-voice"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Boundaries:
    """Notes each segment event's clock time, and the start ("Go")."""

    def __init__(self) -> None:
        self.go: float | None = None
        self.segments: list[tuple[int, float]] = []

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        pass

    def on_event(self, event: SessionEvent) -> None:
        if event.kind is EventKind.PHASE and event.data.get("phase") == Phase.RUNNING.value:
            self.go = event.at
        elif event.kind is EventKind.SEGMENT:
            self.segments.append((int(event.data["index"]), event.at))


async def one_run(plan: Plan, speedup: float, voice_on: bool, out: Path) -> dict[str, Any]:
    clock = LoopClock(speedup)
    marks = Boundaries()
    voice = None
    log = out / "voice.jsonl"
    async with VirtualRadio() as radio:
        device = await radio.new_device(NAME)
        async with VirtualTreadmill(device, clock, name=NAME):
            tm = FtmsTreadmill(NAME, clock=clock, radio=radio)
            observers: list[Any] = [marks]
            if voice_on:
                voice = Voice(find_synthesizer(out_dir=out), plan=plan, log_path=log, time_scale=speedup)
                observers.append(voice)
            session = Session(
                tm, plan, clock, observers=observers, settings=Settings(auto_start=True, cooldown_s=0.0)
            )
            async with asyncio.TaskGroup() as tg:
                tg.create_task(session.run(), name="session")
                if voice is not None:
                    tg.create_task(voice.run(), name="voice")
    assert marks.go is not None and marks.segments
    planned = [marks.segments[0][1]]  # the first segment's start: the deadlines follow from it
    for seg in plan.segments[:-1]:
        planned.append(planned[-1] + (seg.duration_s or 0.0))
    late_ms = [(at - planned[i]) / speedup * 1000 for i, at in marks.segments]
    result: dict[str, Any] = {"late_ms": late_ms}
    if voice_on:
        lines = [json.loads(x) for x in log.read_text().splitlines()]
        result["latency_ms"] = [
            x["latency_ms"] for x in lines if x["topic"] == "segments" and "latency_ms" in x
        ]
        result["dropped"] = sum(x["outcome"] == "dropped" for x in lines)
        result["spoken"] = sum(x["outcome"] == "spoken" for x in lines)
    return result


async def synth_time(n: int, out: Path) -> list[float]:
    synth = find_synthesizer(out_dir=out)
    loop = asyncio.get_running_loop()
    times = []
    for i in range(n):
        t0 = loop.time()
        await synth.speak(f"Brisk {i}: 5.8 kilometres an hour, incline 1, 2 minutes.")
        times.append((loop.time() - t0) * 1000)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=30)
    ap.add_argument("--speedup", type=float, default=10.0)
    args = ap.parse_args()
    # 20 s segments at x10: 2 s of real time each, long enough to say a segment announcement
    plan = Plan(
        name="bench",
        segments=tuple(
            PlanSegment(name=f"Seg{i}", kind="work", speed_kmh=4.0 + (i % 2) * 0.5, duration_s=20.0)
            for i in range(args.segments)
        ),
    )
    print(
        f"python {sys.version.split()[0]} · {platform.platform()} · {platform.processor() or platform.machine()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        off = asyncio.run(one_run(plan, args.speedup, False, Path(tmp)))
        on = asyncio.run(one_run(plan, args.speedup, True, Path(tmp)))
        synth = asyncio.run(synth_time(30, Path(tmp)))
    lat = on["latency_ms"]
    print(
        f"segments: {args.segments} x 20 s at x{args.speedup:g}; utterances spoken {on['spoken']}, dropped {on['dropped']}"
    )
    print(
        f"boundary -> utterance start  median {statistics.median(lat):7.2f} ms   p99 {_pct(lat, 0.99):7.2f} ms   (n={len(lat)})"
    )
    print(
        f"espeak-ng synthesis to WAV   median {statistics.median(synth):7.2f} ms   p99 {_pct(synth, 0.99):7.2f} ms"
    )
    for name, r in (("voice off", off), ("voice on", on)):
        late = r["late_ms"]
        print(
            f"boundary lateness, {name:<9} median {statistics.median(late):7.2f} ms   p99 {_pct(late, 0.99):7.2f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
