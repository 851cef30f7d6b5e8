#!/usr/bin/env python3
"""Benchmark the recorder and the exports (figures go to docs/benchmarks.md, "Recording").

1. Cost per sample of ``Recorder.on_snapshot`` for a 60-minute session at 1 Hz, each sample
   committed (WAL, synchronous=NORMAL: the default; and synchronous=FULL, an fsync per commit).
2. Cost per sample at the store, one commit per sample vs batches of 10 samples per commit
   (what a 1 s batch window would hold if samples came at 10 Hz; at 1 Hz a 1 s batch holds one).
3. Export time of that 60-minute session: FIT, TCX, CSV (median of several runs).

Usage: ``.venv/bin/python scripts/bench_recording.py [--dir DIR] [--runs N]``. The database goes
in a temporary folder under ``--dir`` (default: the system temp folder), so the disk matters.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from treadwalk.core.model import SessionEvent, SessionSnapshot, StopReason
from treadwalk.recording import Recorder, Sample, SessionStore, export_csv, export_fit, export_tcx
from treadwalk.recording.synthetic import synthetic_plan, synthetic_session


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def fmt_us(values: list[float]) -> str:
    us = [v * 1e6 for v in values]
    return f"median {statistics.median(us):7.1f} us   p99 {pct(us, 99):7.1f} us   max {max(us):8.1f} us"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def record_session(store: SessionStore, *, minutes: float = 60.0) -> tuple[int, list[float]]:
    """Record a synthetic session at 1 Hz; return its id and the time of each sampling call."""
    plan = synthetic_plan(minutes)
    rec = Recorder(store, plan, device="Bench", clock_wall=lambda: 1_767_225_600.0)
    costs: list[float] = []
    for item in synthetic_session(plan, rate_hz=1.0):
        if isinstance(item, SessionEvent):
            rec.on_event(item)
            continue
        assert isinstance(item, SessionSnapshot)
        before = rec.samples_written
        t0 = time.perf_counter()
        rec.on_snapshot(item)
        dt = time.perf_counter() - t0
        if rec.samples_written != before:
            costs.append(dt)
    rec.finish(StopReason.FINISHED, {})
    return rec.session_id, costs


def store_level(store: SessionStore, batch: int, n: int = 3600) -> list[float]:
    """Cost per sample when committing every ``batch`` samples."""
    sid = store.create_session(profile="bench", plan={}, device="Bench", sport="walking", started=0.0)
    per_sample: list[float] = []
    pending: list[Sample] = []
    for i in range(n):
        s = Sample(t=float(i), elapsed_s=float(i), speed_kmh=5.0, incline_pct=2.0, distance_m=i * 1.4,
                   energy_kcal=i / 15, heart_rate_bpm=120, steps=i * 2, segment=i // 300, phase="running")  # fmt: skip
        t0 = time.perf_counter()
        if batch == 1:
            store.add_sample(sid, s)
            per_sample.append(time.perf_counter() - t0)
            continue
        pending.append(s)
        if len(pending) == batch:
            store.add_samples(sid, pending)
            pending = []
            per_sample.extend([(time.perf_counter() - t0) / batch] * batch)
        # appending to the list costs nothing worth counting
    return per_sample


def timed(fn: Callable[[], object], runs: int) -> tuple[float, int]:
    times = []
    size = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        size = len(out)  # type: ignore[arg-type]
    return statistics.median(times), size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--dir", default=None, help="where to put the temporary database")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        print(f"database folder: {d}")
        print("\n1. Recorder.on_snapshot, 60-minute session at 1 Hz (cost of each sampling call)")
        for label, durable in (("commit per sample, synchronous=NORMAL", False),
                               ("commit per sample, synchronous=FULL  ", True)):  # fmt: skip
            with SessionStore(Path(d) / f"rec-{durable}.db", durable=durable) as store:
                t0 = time.perf_counter()
                sid, costs = record_session(store)
                total = time.perf_counter() - t0
            print(f"   {label}: {len(costs)} samples, {fmt_us(costs)}; whole session {total:.2f} s")

        print("\n2. Store, 3600 samples (cost per sample)")
        for label, batch, durable in (
            ("commit per sample,   NORMAL", 1, False),
            ("10 samples per commit, NORMAL", 10, False),
            ("commit per sample,   FULL  ", 1, True),
            ("10 samples per commit, FULL  ", 10, True),
        ):
            with SessionStore(Path(d) / f"store-{batch}-{durable}.db", durable=durable) as store:
                costs = store_level(store, batch)
            print(f"   {label}: {fmt_us(costs)}")

        print(f"\n3. Export of the 60-minute session (median of {args.runs})")
        with SessionStore(Path(d) / "rec-False.db") as store:
            sid = store.list_sessions()[0].id
            n = len(store.samples(sid))
            read, _ = timed(lambda: store.samples(sid), args.runs)
            print(f"   read {n} samples: {read * 1000:.1f} ms")
            for name, fn in (("FIT", export_fit), ("TCX", export_tcx), ("CSV", export_csv)):
                t, size = timed(lambda fn=fn: fn(store, sid), args.runs)  # type: ignore[misc]
                print(f"   {name}: {t * 1000:6.1f} ms, {size / 1024:7.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
