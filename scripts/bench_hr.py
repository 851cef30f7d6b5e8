"""Heart-rate control: treadwalk's controller (treadwalk.engine.heart) next to a re-implementation of
QDomyos-Zwift's published heart-rate loop, on the same simulated walkers, in one run.

QZ's loop as its docs and issue tracker describe it (shared/hr/REFERENCE.md): it looks every 10 s at
the latest reading, steps 0.2 km/h (or 0.5 % incline); with p = (bpm - low) / (high - low):
p > 1.0 (above the zone): lower a step at every look (every 10 s); 0.9 < p <= 1.0: a gentle lower
(a step every 30 s); 0.5 <= p <= 0.9 (with its 2026 dead band at 0.8-0.9): wait; p < 0.5 (below the
middle, "pushy" mode): raise after 30, 50, 70, 90, 110 s below the middle (then every 20 s).

Walkers: the first-order plants of tests/hr_walkers.py (ACSM walking cost -> steady state between
rest and max by VO2max, tau 30-50 s up, slower down, cardiac drift, Gaussian noise on the reading
at 1 Hz, sd 1.5 bpm, drift 6 bpm/h; "noisy": sd 3 bpm, drift 15 bpm/h, as in heat with an optical
sensor). Not sim/physiology.py (another branch's, not here yet). Segments: 20 minutes after an easy
warm-up (3.5 km/h flat), zones 2 and 3 (% of max), by speed (3.0-7.5 km/h, from 3.6 km/h at the
grade that puts the zone's middle at 5.5 km/h) and by incline (0-15 %, from 0 % at 5 km/h).
Measured per case over seeds: time in zone in the second half (the heart itself, not the noisy
reading), overshoot above the zone's top (bpm), commands sent, the time until the heart first enters
the zone; and the cost of one controller look.

    .venv/bin/python scripts/bench_hr.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hr_walkers import WALKERS, Heart, Walker, grade_for, steady_bpm  # noqa: E402

from treadwalk.core.model import HrAdjust  # noqa: E402
from treadwalk.core.zones import HeartRateConfig, zones  # noqa: E402
from treadwalk.engine.heart import HrBounds, HrTuning, start_loop, step_loop  # noqa: E402

DURATION_S = 1200
TUNING = HrTuning()


@dataclass
class QzLoop:
    """QDomyos-Zwift's heart-rate loop, re-implemented from its description."""

    value: float
    step: float
    minimum: float
    maximum: float
    looptime_s: float = 10.0
    next_look: float = 10.0
    below_since: float | None = None
    raises: int = 0
    last_gentle: float = -1e9

    def look(self, now: float, bpm: float, low: float, high: float) -> float | None:
        if now < self.next_look:
            return None
        self.next_look = now + self.looptime_s
        p = (bpm - low) / (high - low)
        if p < 0.5:
            if self.below_since is None:
                self.below_since, self.raises = now, 0
            due = 30.0 + 20.0 * self.raises  # 30, 50, 70, 90, 110 s below the middle, then every 20 s
            if now - self.below_since >= due and self.value < self.maximum - 1e-9:
                self.raises += 1
                self.value = min(self.maximum, round(self.value + self.step, 6))
                return self.value
            return None
        self.below_since = None
        if p > 1.0 or (p > 0.9 and now - self.last_gentle >= 30.0):
            if p <= 1.0:
                self.last_gentle = now
            if self.value > self.minimum + 1e-9:
                self.value = max(self.minimum, round(self.value - self.step, 6))
                return self.value
        return None


@dataclass
class Case:
    walker: Walker
    zone: int
    adjust: HrAdjust
    high_start: bool = False  # the segment starts too hard (a profile's speed written too fast)


@dataclass
class Result:
    in_zone: float
    overshoot: float
    commands: int
    look_ns: list[int]
    reached_s: float  # first time the heart is inside the zone


def setup(case: Case) -> tuple[float, float, float, float, HrBounds]:
    """Zone (low, high), the fixed other axis, the start, the bounds."""
    table = zones(HeartRateConfig(max_bpm=round(case.walker.max_bpm)))
    low, high = table[case.zone - 1].low_bpm, table[case.zone - 1].high_bpm
    if case.adjust is HrAdjust.SPEED:
        grade = round(grade_for(case.walker, 5.5, (low + high) / 2) * 2) / 2
        return low, high, grade, 7.0 if case.high_start else 3.6, HrBounds(3.0, 7.5, 0.2, 1.0)
    return low, high, 5.0, 8.0 if case.high_start else 0.0, HrBounds(0.0, 15.0, 0.5, 0.0)


def simulate(case: Case, seed: int, controller: str) -> Result:
    low, high, other, start, bounds = setup(case)
    heart = Heart(case.walker, steady_bpm(case.walker, 3.5, 0.0), seed=seed)
    ours = start_loop(start, 0.0)
    qz = QzLoop(start, bounds.step, bounds.minimum, bounds.maximum)
    value = start
    inside = half = commands = 0
    overshoot = 0.0
    look_ns: list[int] = []
    reached = float(DURATION_S)
    clock: Callable[[], int] = time.perf_counter_ns
    for t in range(1, DURATION_S + 1):
        speed, incline = (value, other) if case.adjust is HrAdjust.SPEED else (other, value)
        bpm = heart.advance(1.0, speed, incline)
        reading = heart.reading()
        t0 = clock()
        if controller == "treadwalk":
            ours, move = step_loop(ours, float(t), reading, low, high, bounds, None, True, TUNING)
            new = move.value if move is not None else None
        else:
            new = qz.look(float(t), reading, low, high)
        look_ns.append(clock() - t0)
        if new is not None and new != value:
            value = new
            commands += 1
        if low <= bpm < high and reached >= DURATION_S:
            reached = float(t)
        if t > DURATION_S // 2:
            half += 1
            inside += low <= bpm < high
        overshoot = max(overshoot, bpm - high)
    return Result(inside / half, overshoot, commands, look_ns, reached)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    seeds = range(args.seeds)
    noisy = [replace(w, noise_bpm=3.0, drift_bpm_per_h=15.0) for w in WALKERS]
    cases = [Case(w, z, a) for ws in (WALKERS, noisy) for w in ws for z in (2, 3) for a in HrAdjust]
    cases += [Case(w, z, a, high_start=True) for w in WALKERS for z in (2, 3) for a in HrAdjust]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}, {platform.system()}; "
        f"{args.seeds} seeds per case, {DURATION_S // 60}-minute segments"
    )
    print()
    print(
        "| walker | zone | by | in zone, 2nd half: treadwalk / QZ | overshoot bpm: treadwalk / QZ | commands: treadwalk / QZ | into the zone after: treadwalk / QZ |"
    )
    print("|---|---|---|---|---|---|---|")
    looks: dict[str, list[int]] = {"treadwalk": [], "qz": []}
    wins = 0
    for case in cases:
        res = {c: [simulate(case, s, c) for s in seeds] for c in ("treadwalk", "qz")}
        for c in res:
            for r in res[c]:
                looks[c].extend(r.look_ns)

        def med(c: str, f: Callable[[Result], float], rs: dict[str, list[Result]] = res) -> float:
            return statistics.median(f(r) for r in rs[c])

        def worst_in(c: str, rs: dict[str, list[Result]] = res) -> float:
            return min(r.in_zone for r in rs[c])

        def worst_over(c: str, rs: dict[str, list[Result]] = res) -> float:
            return max(r.overshoot for r in rs[c])

        ours_better = (
            med("treadwalk", lambda r: r.in_zone) >= med("qz", lambda r: r.in_zone)
            and worst_over("treadwalk") <= worst_over("qz")
            and med("treadwalk", lambda r: r.commands) <= med("qz", lambda r: r.commands)
        )
        wins += ours_better
        print(
            f"| {case.walker.name}{' (noisy)' if case.walker.noise_bpm > 2 else ''}"
            f"{' (starts too hard)' if case.high_start else ''} | {case.zone} | {case.adjust.value} "
            f"| {med('treadwalk', lambda r: r.in_zone):.0%} (min {worst_in('treadwalk'):.0%}) / "
            f"{med('qz', lambda r: r.in_zone):.0%} (min {worst_in('qz'):.0%}) "
            f"| {med('treadwalk', lambda r: r.overshoot):.1f} (max {worst_over('treadwalk'):.1f}) / "
            f"{med('qz', lambda r: r.overshoot):.1f} (max {worst_over('qz'):.1f}) "
            f"| {med('treadwalk', lambda r: r.commands):.0f} / {med('qz', lambda r: r.commands):.0f} "
            f"| {med('treadwalk', lambda r: r.reached_s):.0f} s / {med('qz', lambda r: r.reached_s):.0f} s |"
        )
    print()
    for c, ns in looks.items():
        q = statistics.quantiles(ns, n=100)
        print(f"one look, {c}: median {statistics.median(ns) / 1000:.1f} µs, p99 {q[98] / 1000:.1f} µs")
    print(f"treadwalk at least as good on all three figures in {wins}/{len(cases)} cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
