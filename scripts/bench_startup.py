"""Start-up cost: `treadwalk --help` and `import treadwalk` in a fresh interpreter, next to a bare
`python -c pass` on the same machine, in one run (medians and p99 of N runs each, interleaved so a
busy moment hits all three alike). The test suite checks the cause structurally (no heavy library
is loaded by --help: tests/test_foundation.py); this measures the effect.

    .venv/bin/python scripts/bench_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import treadwalk": [sys.executable, "-c", "import treadwalk"],
    "treadwalk --help": [sys.executable, "-m", "treadwalk", "--help"],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, argv in CASES.items():
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
            times[name].append((time.perf_counter() - t0) * 1000)
    print(f"python {sys.version.split()[0]} · {platform.platform()} · runs {args.runs}")
    base = statistics.median(times["python -c pass"])
    for name, ms in times.items():
        ordered = sorted(ms)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        med = statistics.median(ms)
        print(f"{name:<18} median {med:7.1f} ms   p99 {p99:7.1f} ms   over bare python {med - base:+7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
