#!/usr/bin/env python
"""CPU used by the dashboard while a session runs, next to the same run without it.

Each run is a fresh process that plays a stream of snapshots of the built-in "hill-pyramid"
profile (10 snapshots a second, like a busy engine; the session clock in real time as in
``run``, and x10 as in ``demo``) for ``--span`` seconds, with
the dashboard drawing through Rich Live at its 4 Hz cap to a terminal-like console (output to
/dev/null, colour on, so Rich does all its work), or with a do-nothing observer. Process CPU
time (user + system) over the span, divided by the span, is the share of one core.

    .venv/bin/python scripts/bench_dashboard.py [--span 20] [--repeat 3]

Goal (issue 7): the dashboard adds under 3 % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time

SIZES = ((80, 24), (140, 40))


def one_run(mode: str, width: int, height: int, span: float, hz: float, speedup: float) -> dict[str, float]:
    from rich.console import Console

    from treadwalk.core.model import ConnectionState, Phase, SessionSnapshot, TreadmillState
    from treadwalk.dashboard import Dashboard
    from treadwalk.profile import builtin_profile

    plan = builtin_profile("hill-pyramid").to_plan()
    starts = []
    t = 0.0
    for seg in plan.segments:
        starts.append(t)
        t += seg.estimated_duration_s
    total = t

    def snapshot_at(s: float) -> SessionSnapshot:
        s = s % total
        i = max(k for k, st in enumerate(starts) if st <= s)
        seg = plan.segments[i]
        into = s - starts[i]
        frac = into / seg.estimated_duration_s
        speed = seg.speed_at(frac)
        return SessionSnapshot(
            at=s,
            wall=1_767_225_600.0 + s,
            plan=plan,
            phase=Phase.RUNNING,
            connection=ConnectionState.CONNECTED,
            segment_index=i,
            segment_elapsed_s=into,
            segment_remaining_s=seg.estimated_duration_s - into,
            segment_progress=frac,
            session_elapsed_s=s,
            session_remaining_s=total - s,
            target_speed_kmh=speed,
            target_incline_pct=seg.incline_at(frac),
            machine=TreadmillState(
                at=s, speed_kmh=speed - 0.1, incline_pct=seg.incline_at(frac), heart_rate_bpm=120
            ),
            distance_m=s * 1.4,
            ascent_m=s * 0.05,
            energy_kcal=s / 12,
            cue=seg.cues[0].text if seg.cues and into < 8 else None,
        )

    class Nothing:
        def on_snapshot(self, snapshot: SessionSnapshot) -> None:
            pass

        def on_event(self, event: object) -> None:
            pass

    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below

    async def main() -> dict[str, float]:
        console = Console(
            file=devnull, force_terminal=True, width=width, height=height, color_system="truecolor"
        )
        dash = Dashboard(console, keys=False, print_summary=False)
        observer = dash if mode == "dashboard" else Nothing()
        task = asyncio.create_task(dash.run(), name="dashboard") if mode == "dashboard" else None
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.5)  # settle (imports, first frame) before measuring
        cpu0 = time.process_time()
        t0 = loop.time()
        renders0 = dash.renders
        n = 0
        while (now := loop.time()) - t0 < span:
            observer.on_snapshot(snapshot_at(200.0 + (now - t0) * speedup))
            n += 1
            await asyncio.sleep(max(0.0, t0 + n / hz - loop.time()))
        cpu = time.process_time() - cpu0
        wall = loop.time() - t0
        renders = dash.renders - renders0
        if task is not None:
            dash.on_snapshot(dataclasses.replace(snapshot_at(0), phase=Phase.FINISHED))
            await task
        return {"cpu_s": cpu, "wall_s": wall, "snapshots": n, "renders": renders}

    try:
        return asyncio.run(main())
    finally:
        devnull.close()


def spawn(mode: str, width: int, height: int, span: float, hz: float, speedup: float) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            str(width),
            str(height),
            str(span),
            str(hz),
            str(speedup),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--span", type=float, default=20.0, help="measured seconds per run (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the median is reported")
    ap.add_argument("--hz", type=float, default=10.0, help="snapshots per second (default 10)")
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, w, h, span, hz, speedup = args.child
        print(json.dumps(one_run(mode, int(w), int(h), float(span), float(hz), float(speedup))))
        return 0
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    )
    print(f"{args.span:g} s per run, {args.hz:g} snapshots/s, median of {args.repeat}\n")
    print(
        "| terminal | session clock | without dashboard | with dashboard | added | frames drawn/s | added CPU per drawn frame |"
    )
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for speedup in (1.0, 10.0):
        for width, height in SIZES:
            case = (width, height, args.span, args.hz, speedup)
            base = [spawn("none", *case) for _ in range(args.repeat)]
            dash = [spawn("dashboard", *case) for _ in range(args.repeat)]
            b = statistics.median(r["cpu_s"] / r["wall_s"] for r in base) * 100
            d = statistics.median(r["cpu_s"] / r["wall_s"] for r in dash) * 100
            fps = statistics.median(r["renders"] / r["wall_s"] for r in dash)
            per_frame = (d - b) / 100 / fps * 1000 if fps else float("nan")
            worst = max(worst, d - b)
            clock = "real time (run)" if speedup == 1 else f"x{speedup:g} (demo)"
            print(
                f"| {width}x{height} | {clock} | {b:.2f} % | {d:.2f} % | {d - b:.2f} % | {fps:.2f} | {per_frame:.1f} ms |"
            )
    verdict = "meets" if worst < 3.0 else "MISSES"
    print(f"\nworst added CPU: {worst:.2f} % of one core ({verdict} the < 3 % goal)")
    return 0 if worst < 3.0 else 1


if __name__ == "__main__":
    sys.exit(main())
