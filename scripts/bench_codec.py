#!/usr/bin/env python3
"""Benchmark: Treadmill Data (0x2ACD) decoding, treadwalk.ftms vs pyftms 0.4.15, in one run.

Both decode the same frames to their own typed object (treadwalk: ``TreadmillData``; pyftms:
its ``TreadmillData`` model through ``get_serializer(...).deserialize``). Batches of the two are
interleaved so that both see the same machine noise; the figures are the median and the 99th
percentile of the per-frame time over all batches, and frames per second at the median.

Usage: .venv/bin/python scripts/bench_codec.py [--batches N] [--per-batch K]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyftms.models import TreadmillData as PyftmsTreadmillData
from pyftms.serializer import get_serializer

from treadwalk.ftms import decode_treadmill_data

FRAMES = {
    # CITYSPORTS-Linker: speed, distance, energy, elapsed, vendor steps (bit 13); 17 bytes
    "typical 17-byte frame (0x2484)": bytes.fromhex("8424c8000400000000ffffff0900090000"),
    # Every standard field (flags 0x1FFE, 34 bytes): the worst case, beyond one MTU-23 notification
    "full 34-byte record (0x1FFE)": bytes.fromhex(
        "fe1f9a018401701101f1ff09007b002d0001027b00900107833708075802ecff9600"
    ),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def measure(fn: Callable[[bytes], object], data: bytes, per_batch: int) -> float:
    """Nanoseconds per frame over one batch."""
    start = time.perf_counter_ns()
    for _ in range(per_batch):
        fn(data)
    return (time.perf_counter_ns() - start) / per_batch


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--per-batch", type=int, default=500)
    args = parser.parse_args()

    pyftms_deserialize = get_serializer(PyftmsTreadmillData).deserialize
    contenders: dict[str, Callable[[bytes], object]] = {
        "treadwalk.ftms": decode_treadmill_data,
        "pyftms 0.4.15": pyftms_deserialize,
    }

    print(f"# {datetime.date.today()}  nproc={os.cpu_count()}  CPU: {cpu_model()}")
    print(f"# Python {platform.python_version()} ({platform.python_implementation()}), {platform.system()}")
    print(f"# {args.batches} batches x {args.per_batch} decodes per contender and frame, interleaved")
    for label, data in FRAMES.items():
        for fn in contenders.values():  # both decode the frame, and warm up
            fn(data)
            measure(fn, data, args.per_batch)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.batches):
            for name, fn in contenders.items():
                times[name].append(measure(fn, data, args.per_batch))
        print(f"\n{label}: {data.hex()}")
        print(f"{'decoder':<16} {'median ns/frame':>16} {'p99 ns/frame':>13} {'frames/s (median)':>18}")
        medians = {}
        for name, ns in times.items():
            medians[name] = statistics.median(ns)
            print(f"{name:<16} {medians[name]:>16,.0f} {p99(ns):>13,.0f} {1e9 / medians[name]:>18,.0f}")
        ratio = medians["pyftms 0.4.15"] / medians["treadwalk.ftms"]
        print(f"treadwalk.ftms decodes {ratio:.1f}x the frames per second of pyftms")


if __name__ == "__main__":
    main()
