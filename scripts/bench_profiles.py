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

And a 200-step workout (warm-up, 99 x [fast 60 s, easy 60 s] as written out steps, cool-down
... as 200 plain steps with names, inclines and a cue each) read as a FIT workout next to the
same workout as TOML (goal: FIT import under 20 ms, no slower than TOML):

- the FIT file treadwalk writes (standard fields plus its developer fields);
- the same steps with standard fields only (what Garmin Connect or another encoder writes),
  so the developer-field path is not what is measured alone;
- the TOML file.

Run: ``.venv/bin/python scripts/bench_profiles.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from treadwalk.core.errors import ProfileError
from treadwalk.profile import LIBRARY, Profile, Segment, dump_profile, load_profile, parse_profile
from treadwalk.profile.fitworkout import write_fit_workout
from treadwalk.profile.model import ProfileCue
from treadwalk.profile.quantities import Speed
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


def two_hundred_steps() -> Profile:
    segments = tuple(
        Segment(
            speed=Speed(round(4.5 + (i % 5) * 0.4, 1)),
            duration_s=60.0 + (i % 3) * 30,
            incline_pct=float(i % 8),
            name=f"Step {i + 1}",
            cues=(ProfileCue(f"cue for step {i + 1}", at_s=0.0),),
        )
        for i in range(200)
    )
    return Profile("Two hundred steps", segments, description="A long plan for the benchmark.")


def standard_only_fit(profile: Profile) -> bytes:
    """The same steps as a FIT workout without treadwalk's developer fields."""
    from treadwalk.core.fit import FitWriter
    from treadwalk.profile import fitworkout as fw

    w = FitWriter()
    w.write(fw.FILE_ID, {"type": fw.FILE_WORKOUT, "manufacturer": 255, "product": 0, "serial_number": 1})
    w.write(fw.WORKOUT, {"sport": 11, "sub_sport": 1, "num_valid_steps": 200, "wkt_name": profile.name})
    for i, (seg, _) in enumerate(profile.segments()):
        ms = seg.speed.kmh / 3.6 * 1000
        sizes = {"wkt_step_name": 16, "notes": 32}
        w.write(
            fw.WORKOUT_STEP,
            sizes=sizes,
            values={
                "message_index": i,
                "wkt_step_name": seg.name,
                "duration_type": fw.DUR_TIME,
                "duration_value": round((seg.duration_s or 0) * 1000),
                "target_type": fw.TGT_SPEED,
                "target_value": 0,
                "custom_target_value_low": round(ms - 30),
                "custom_target_value_high": round(ms + 30),
                "intensity": 0,
                "notes": seg.cues[0].text,
            },
        )
    return w.getvalue()


def fitdecode_only(data: bytes) -> None:
    """The floor: fitdecode reading every frame and field, nothing made of them."""
    import io

    import fitdecode

    with fitdecode.FitReader(
        io.BytesIO(data), check_crc=fitdecode.CrcCheck.DISABLED, processor=fitdecode.DataProcessorBase()
    ) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                for f in frame.fields:
                    f.raw_value  # noqa: B018


def fit_import(repeats: int) -> None:
    profile = two_hundred_steps()
    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "ours.fit"
        ours.write_bytes(write_fit_workout(profile, created=1_700_000_000)[0])
        foreign = Path(tmp) / "standard.fit"
        foreign.write_bytes(standard_only_fit(profile))
        toml = Path(tmp) / "same.toml"
        toml.write_text(dump_profile(profile), encoding="utf-8")
        assert load_profile(ours) == profile  # the same workout, exactly
        assert len(load_profile(foreign).to_plan().segments) == 200
        cases = [
            (f"FIT, written by treadwalk ({ours.stat().st_size / 1024:.1f} KiB)", lambda: load_profile(ours)),
            (
                f"FIT, standard fields only ({foreign.stat().st_size / 1024:.1f} KiB)",
                lambda: load_profile(foreign),
            ),
            (f"TOML ({toml.stat().st_size / 1024:.1f} KiB)", lambda: load_profile(toml)),
            ("fitdecode alone, frames of the treadwalk file", lambda: fitdecode_only(ours.read_bytes())),
            ("fitdecode alone, frames of the standard file", lambda: fitdecode_only(foreign.read_bytes())),
        ]
        print("\n| a 200-step workout: load + validate | median | p99 | max |")
        print("|---|---|---|---|")
        for (label, _), (med, p99, worst) in zip(cases, measure([f for _, f in cases], repeats), strict=True):
            print(f"| {label} | {med:.2f} ms | {p99:.2f} ms | {worst:.2f} ms |")
    code = "import time; t = time.perf_counter(); import fitdecode; print((time.perf_counter() - t) * 1000)"
    first = sorted(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    )
    print(f"\nimport fitdecode (paid once, on the first .fit read), median of 5: {first[2]:.0f} ms")


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
    fit_import(max(20, args.repeats // 4))


if __name__ == "__main__":
    main()
