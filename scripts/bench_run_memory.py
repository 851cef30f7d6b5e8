"""Peak memory (max RSS) and wall time of `treadwalk run` — the whole program: CLI, profile,
engine, FtmsTreadmill over bleak over the Bumble radio to the virtual treadmill, recorder —
playing a 45-minute built-in profile at maximum speedup without the dashboard, next to the
floor it cannot go under: the same interpreter importing the same libraries and doing nothing.

    .venv/bin/python scripts/bench_run_memory.py [--runs 3] [--profile long-steady-climb]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile

FLOOR = "import bleak, bleak_retry_connector, bumble.device, bumble.controller, rich.live, aiomqtt, sqlite3"


def child_peak_kib(argv: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Run one child; its max RSS (KiB, Linux) and wall seconds. Children run one at a time, and
    RUSAGE_CHILDREN's max is over all waited children, so run each measurement in a fresh wrapper."""
    wrapper = (
        "import resource, subprocess, sys, time; t=time.perf_counter(); "
        "rc=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
        "w=time.perf_counter()-t; "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, w, rc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, env=env, check=True
    )
    kib, wall, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"{argv} exited {rc}")
    return int(kib), float(wall)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", default="long-steady-climb")
    args = ap.parse_args()
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    print(
        f"machine: {cpu}, nproc {os.cpu_count()}, Python {platform.python_version()}, load {os.getloadavg()}"
    )
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "TREADWALK_DATA_DIR": data}
        run = [sys.executable, "-m", "treadwalk", "run", args.profile, "--sim", "--speedup", "100000", "--yes",
               "--no-dashboard"]  # fmt: skip
        floor = [sys.executable, "-c", FLOOR]
        rows = {"run": [], "floor": []}
        for _ in range(args.runs):
            rows["run"].append(child_peak_kib(run, env))
            rows["floor"].append(child_peak_kib(floor, env))
    print("| what | runs | peak RSS MiB (median) | wall s (median) |")
    print("|---|---|---|---|")
    for name, label in (("run", f"`treadwalk run {args.profile} --sim --speedup 100000 --yes --no-dashboard`"),
                        ("floor", "the floor: `python -c 'import bleak, bumble, rich, aiomqtt, ...'`")):  # fmt: skip
        kib = statistics.median(k for k, _ in rows[name])
        wall = statistics.median(w for _, w in rows[name])
        print(f"| {label} | {args.runs} | {kib / 1024:.1f} | {wall:.2f} |")


if __name__ == "__main__":
    main()
