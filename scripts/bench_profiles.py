"""Benchmark: load and validate the whole built-in profile library (goal: under 50 ms).

Measured in one process (interpreter start and imports excluded), over repeats, reporting the
median and p99 of the time to load every built-in (read the file, parse TOML, validate, build
the Profile) and to flatten each into a Plan. Side by side:

- tomllib only: parsing the same files without any validation (the floor);
- eager line index: the naive alternative of scanning each file for line numbers on every
  load (treadwalk builds the index only when there is a problem to report);
- one cold process: ``python -c "load all"``, interpreter start included, for scale;
- a profile too long by its repeats (100 x 100 x 20 around one 1 s segment: 55.6 h, refused):
  the total summed through the repeats (what the loader does) against expanding every segment
  first (what it did: 100 x 100 x 100 x 100 took 48 s before its "lasts 27777.8 h").

Run: ``.venv/bin/python scripts/bench_profiles.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from treadwalk.core.errors import ProfileError
from treadwalk.profile import LIBRARY, load_profile, parse_profile
from treadwalk.profile.model import Profile
from treadwalk.profile.source import LineIndex


def _files() -> list[Path]:
    return sorted(LIBRARY.glob("*.toml"))


def treadwalk_load() -> None:
    for f in _files():
        load_profile(f).to_plan()


def tomllib_only() -> None:
    for f in _files():
        tomllib.loads(f.read_text(encoding="utf-8"))


def eager_line_index() -> None:
    for f in _files():
        text = f.read_text(encoding="utf-8")
        LineIndex(text)
        parse_profile(text, str(f)).to_plan()


def _nested(levels: list[int]) -> str:
    text, prefix = 'name = "Too long"\n', "segment"
    for times in levels:
        text += f"[[{prefix}]]\nrepeat = {times}\n"
        prefix += ".segment"
    return text + f"[[{prefix}]]\nduration = '1s'\nspeed = 4\n"


NESTED = _nested([100, 100, 20])


def nested_refused() -> None:
    try:
        parse_profile(NESTED, "too-long.toml")
    except ProfileError:
        return
    raise AssertionError("the nested profile should be refused")


def nested_expanded() -> None:
    from treadwalk.profile import loader

    data = tomllib.loads(NESTED)
    items = loader._parse_items(data["segment"], ("segment",), 0, loader._Problems("x", NESTED, None))
    total = sum(loader._duration_s(seg) for seg, _ in Profile(name="x", items=items).segments())
    assert total > loader.TOTAL_MAX_S


def measure(fns: list[Callable[[], None]], repeats: int) -> list[tuple[float, float, float]]:
    """Median, p99, max in ms for each function; the functions take turns on every repeat, so
    a busy machine weighs on all of them alike."""
    for fn in fns:
        fn()  # warm the file cache
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, samples, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    results = []
    for out in samples:
        out.sort()
        p99 = out[min(len(out) - 1, round(0.99 * (len(out) - 1)))]
        results.append((statistics.median(out) * 1000, p99 * 1000, out[-1] * 1000))
    return results


def cold_process(repeats: int) -> float:
    code = "from treadwalk.profile import LIBRARY, load_profile\nfor f in LIBRARY.glob('*.toml'): load_profile(f)"
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    files = _files()
    size = sum(f.stat().st_size for f in files)
    print(
        f"machine: {platform.processor() or platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    print(f"library: {len(files)} files, {size / 1024:.1f} KiB; {args.repeats} repeats\n")
    print("| whole library | median | p99 | max |")
    print("|---|---|---|---|")
    cases = [
        ("treadwalk: load + validate + plan", treadwalk_load),
        ("tomllib only (no validation)", tomllib_only),
        ("naive: eager line index on every load", eager_line_index),
    ]
    for (label, _), (med, p99, worst) in zip(
        cases, measure([f for _, f in cases], args.repeats), strict=True
    ):
        print(f"| {label} | {med:.2f} ms | {p99:.2f} ms | {worst:.2f} ms |")
    print("\n| 100 x 100 x 20 repeats (55.6 h, refused) | median | p99 | max |")
    print("|---|---|---|---|")
    nested = [("summed through the repeats (treadwalk)", nested_refused), ("expanded first", nested_expanded)]
    for (label, _), (med, p99, worst) in zip(
        nested, measure([f for _, f in nested], max(3, args.repeats // 40)), strict=True
    ):
        print(f"| {label} | {med:.2f} ms | {p99:.2f} ms | {worst:.2f} ms |")
    print(f"\ncold process (interpreter start + imports + load all), median of 5: {cold_process(5):.0f} ms")


if __name__ == "__main__":
    main()
