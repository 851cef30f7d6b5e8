#!/usr/bin/env python3
"""Benchmark ``treadwalk history show`` of a 3-hour walk (10 800 samples): with the charts
(what a terminal gets, or ``--charts``) next to without them (today's tables only, what a pipe
gets). Figures go to docs/benchmarks.md, "History charts"; the goal is under 300 ms.

1. In process: ``main(["history", "show", ID, ...])`` with standard output to /dev/null, so the
   figure is the command's own work (read the store, laps, charts, print), without Python's
   start-up. Also its parts: reading the walk, drawing the charts.
2. As the walker runs it: ``python -m treadwalk history show ID`` as a process, start-up and
   imports included.

Usage: ``.venv/bin/python scripts/bench_history.py [--runs N] [--width COLUMNS]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from treadwalk.cli import main
from treadwalk.cli.history import load_walk
from treadwalk.core.model import SessionEvent, StopReason
from treadwalk.recording import Recorder, SessionStore
from treadwalk.recording.synthetic import synthetic_plan, synthetic_session


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def fmt_ms(values: list[float]) -> str:
    ms = [v * 1e3 for v in values]
    return f"median {statistics.median(ms):7.1f} ms   p99 {pct(ms, 99):7.1f} ms   max {max(ms):7.1f} ms"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError):
        load = f", load average {os.getloadavg()[0]:.1f}"
    return f"{cpu}, {os.cpu_count()} cores{load}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def record(folder: Path, minutes: float) -> tuple[int, int]:
    plan = synthetic_plan(minutes)
    with SessionStore(folder) as store:
        rec = Recorder(store, plan, device="Bench", clock_wall=lambda: 1_767_225_600.0)
        for item in synthetic_session(plan, rate_hz=1.0, pause_at_s=3600, pause_s=120):
            (rec.on_event if isinstance(item, SessionEvent) else rec.on_snapshot)(item)
        rec.finish(StopReason.FINISHED, {})
        return rec.session_id, store.get_session(rec.session_id).sample_count


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def interleaved(
    a: Callable[[], object], b: Callable[[], object], runs: int
) -> tuple[list[float], list[float]]:
    """Time ``a`` and ``b`` in turns, so a change in the machine's load hits both alike."""
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(runs):
        ta += timed(a, 1)
        tb += timed(b, 1)
    return ta, tb


def main_quiet(argv: list[str]) -> None:
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        assert main(argv) == 0


def run() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--width", type=int, default=140)
    args = ap.parse_args()
    os.environ["COLUMNS"] = str(args.width)
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sid, n = record(folder, 180.0)
        print(f"a 3-hour walk with a 2-minute pause: session {sid}, {n} samples, {args.width} columns\n")
        base = ["history", "show", str(sid), "--data-dir", str(folder)]
        main_quiet(base)  # warm: imports, page cache
        main_quiet([*base, "--charts"])
        print("in process (main(), stdout to /dev/null; the two in turns):")
        plain, charts = interleaved(
            lambda: main_quiet(base), lambda: main_quiet([*base, "--charts"]), args.runs
        )
        print(f"  without charts (today)   {fmt_ms(plain)}")
        print(f"  with charts              {fmt_ms(charts)}")

        with SessionStore(folder) as store:
            read = timed(lambda: load_walk(store, sid), args.runs)
            walk = load_walk(store, sid)

        def draw() -> None:
            lines = walk.view(args.width)
            from treadwalk.dashboard.history import print_lines

            print_lines(lines, file=io.StringIO(), width=args.width)

        print(f"  parts: read the walk     {fmt_ms(read)}")
        print(f"         draw the charts   {fmt_ms(timed(draw, args.runs))}")

        # as installed: bytecode cached (this machine's environment sets PYTHONDONTWRITEBYTECODE,
        # which would recompile every module on every run)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["COLUMNS"] = str(args.width)
        subprocess.run(
            [sys.executable, "-m", "treadwalk", *base, "--charts"],
            stdout=subprocess.DEVNULL,
            env=env,
            check=True,
        )
        cmd = [sys.executable, "-m", "treadwalk", *base]

        def proc(extra: list[str]) -> None:
            subprocess.run([*cmd, *extra], stdout=subprocess.DEVNULL, check=True, env=env)

        runs = max(5, args.runs // 2)
        print("\nas a process (python -m treadwalk history show, start-up included; in turns):")
        plain, charts = interleaved(lambda: proc([]), lambda: proc(["--charts"]), runs)
        print(f"  without charts (today)   {fmt_ms(plain)}")
        print(f"  with charts              {fmt_ms(charts)}")
        t0 = time.perf_counter()
        for _ in range(runs):
            subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        print(f"  (python -c pass: {1e3 * (time.perf_counter() - t0) / runs:.0f} ms)")


if __name__ == "__main__":
    run()
