"""``treadwalk profiles list | show P | validate P... | convert IN OUT``.

``register`` uses argparse only; ``run`` imports the profile layer inside, so ``--help`` stays
fast. Bad profiles and bad input exit 2 (through ``TreadwalkError.exit_code``).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from treadwalk.core.model import HrHold, Plan
    from treadwalk.profile import Paces, Profile
    from treadwalk.profile.model import Item


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "profiles",
        help="list, show, validate and convert workout profiles",
        description="Workout profiles: the built-in library and your own (TOML, Zwift .zwo, QZ .xml).",
    )
    sub = parser.add_subparsers(dest="profiles_command", metavar="SUBCOMMAND")
    units = {
        "choices": ("metric", "imperial", "pace"),
        "help": "units to show (default: the profile's, else metric)",
    }
    paces_help = (
        'your running paces for .zwo targets, e.g. "5k=5:00/km,10k=5:20/km,default=5k" '
        "(default: $TREADWALK_PACES, else 1mi 4:10, 5k 5:00, 10k 5:20, half 5:40, marathon 6:00 per km)"
    )

    p = sub.add_parser("list", help="built-in and your profiles with duration, distance, ascent, tags")
    p.add_argument("--units", **units)  # type: ignore[arg-type]

    p = sub.add_parser("show", help="a chart of speed and incline, the segments with cues, totals")
    p.add_argument("profile", metavar="P", help="a built-in or your profile's name, or a file")
    p.add_argument("--units", **units)  # type: ignore[arg-type]
    p.add_argument("--weight", type=float, default=70.0, metavar="KG", help="for the energy estimate (70)")
    p.add_argument("--width", type=int, default=60, metavar="COLS", help="chart width (60)")
    p.add_argument("--speak", action="store_true", help="then read the plan aloud once (to check its cues)")
    p.add_argument(
        "--voice-out", metavar="DIR", help="with --speak: write the speech into DIR instead of playing it"
    )
    p.add_argument("--paces", metavar="SPEC", help=paces_help)

    p = sub.add_parser("validate", help="check profiles; every problem as FILE:LINE: ...")
    p.add_argument("profiles", nargs="+", metavar="P")
    p.add_argument("--paces", metavar="SPEC", help=paces_help)

    p = sub.add_parser("convert", help="convert between .toml, .zwo and .xml (by extension)")
    p.add_argument("source", metavar="IN")
    p.add_argument("dest", metavar="OUT")
    p.add_argument("--paces", metavar="SPEC", help=paces_help)
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    parser.set_defaults(func=run, profiles_parser=parser)


def _paces(spec: str | None) -> Paces:
    from treadwalk.profile import Paces

    base = Paces.from_env()
    return Paces.parse(spec, base) if spec else base


def run(args: argparse.Namespace) -> int:
    command = args.profiles_command
    if command is None:
        args.profiles_parser.print_help()
        return 2
    if command == "list":
        return _list(args)
    if command == "show":
        return _show(args)
    if command == "validate":
        return _validate(args)
    return _convert(args)


def _list(args: argparse.Namespace) -> int:
    import sys

    from treadwalk.core.errors import ProfileError
    from treadwalk.core.units import ascent_text, format_duration
    from treadwalk.profile import LIBRARY, list_profiles, user_profile_dir
    from treadwalk.profile.summary import format_distance

    errors: list[ProfileError] = []
    rows = list_profiles(errors)
    header = ("NAME", "TITLE", "DURATION", "DISTANCE", "ASCENT", "TAGS", "FROM")
    table = [header]
    for stem, path, profile in rows:
        plan = profile.to_plan()
        units = args.units or ("imperial" if profile.units == "imperial" else "metric")
        ascent = ascent_text(plan.ascent_m, units == "imperial")
        table.append(
            (
                stem,
                profile.name,
                format_duration(plan.duration_s),
                format_distance(plan.distance_m, units),
                ascent,
                ", ".join(profile.tags),
                "built-in" if path.parent == LIBRARY else "yours",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    right = {2, 3, 4}
    for r in table:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        print("  ".join(cells).rstrip())
    print(f"\nyour profiles folder: {user_profile_dir()}")
    for exc in errors:
        print(f"skipped (does not load): {exc.problems[0]}", file=sys.stderr)
    return 0


def _item_lines(items: tuple[Item, ...], prefix: str, units: str) -> list[str]:
    from treadwalk.core.units import format_duration
    from treadwalk.profile import Repeat
    from treadwalk.profile.summary import format_distance, format_speed

    lines: list[str] = []
    for i, item in enumerate(items, start=1):
        number = f"{prefix}{i}"
        if isinstance(item, Repeat):
            title = f" {item.name}" if item.name else ""
            lines.append(f"{number:<7} {item.times} x{title}")
            lines.extend(_item_lines(item.items, number + ".", units))
            continue
        seg = item.to_plan_segment()
        length = (
            "until n"
            if seg.open
            else format_duration(seg.duration_s)
            if seg.duration_s is not None
            else format_distance(seg.distance_m or 0.0, units)
        )
        speed = format_speed(seg.speed_kmh, units)
        if item.speed_range is not None:
            low, high = (format_speed(x.kmh, units) for x in item.speed_range)
            speed = f"{speed} ({low.split()[0]}-{high})"
        if seg.end_speed_kmh is not None:
            speed = f"{format_speed(seg.speed_kmh, units)} → {format_speed(seg.end_speed_kmh, units)}"
        incline = f"{seg.incline_pct:g} %"
        if seg.end_incline_pct is not None:
            incline = f"{seg.incline_pct:g} → {seg.end_incline_pct:g} %"
        lines.append(f"{number:<7} {seg.name[:22]:<22} {seg.kind:<9} {length:>8}  {speed:<22} {incline}")
        if seg.hr is not None:
            lines.append(f"{'':<7}   {_hr_line(seg.hr, units)}")
        for cue in seg.cues:
            at = format_duration(cue.at_s) if cue.at_s is not None else f"{cue.at_m or 0:g} m"
            lines.append(f"{'':<7}   {at:>6}  “{cue.text}”")
    return lines


def _hr_line(hold: HrHold, units: str) -> str:
    """``♥ holds zone 2 (108-126 bpm) by incline, 0-8 %`` (bpm from your config when it has them)."""
    from treadwalk.core.config import load_config
    from treadwalk.core.errors import ConfigError
    from treadwalk.core.model import HrAdjust
    from treadwalk.core.zones import HrTarget, resolve_target
    from treadwalk.profile.summary import format_speed

    if not hold.resolved and hold.zone is not None:
        try:
            low, high = resolve_target(HrTarget(zone=hold.zone), load_config().heart_rate)
            hold = replace(hold, low_bpm=low, high_bpm=high)
        except ConfigError:
            pass  # shown as the zone alone; `run` asks for the key
    if hold.adjust is HrAdjust.SPEED:
        bounds = f"{format_speed(hold.minimum, units)}-{format_speed(hold.maximum, units)}"
    else:
        bounds = f"{hold.minimum:g}-{hold.maximum:g} %"
    return f"♥ holds {hold.label} by {hold.adjust.value}, {bounds}"


def _show(args: argparse.Namespace) -> int:
    import shutil
    import sys
    import textwrap

    from treadwalk.core.model import OPEN_ESTIMATE_S
    from treadwalk.core.units import ascent_text, format_duration
    from treadwalk.profile import find_profile, load_profile
    from treadwalk.profile.summary import chart, energy_kcal, format_distance

    path = find_profile(args.profile)
    profile: Profile = load_profile(path, paces=_paces(args.paces))
    plan = profile.to_plan()
    units = args.units or profile.units or "metric"
    width = max(20, min(args.width, shutil.get_terminal_size((80, 24)).columns - 14))
    for note in profile.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{profile.name}  ({path})")
    print(f"{profile.intent} · {', '.join(profile.tags) or 'no tags'}")
    if profile.description:
        print(textwrap.fill(profile.description, width=min(100, width + 14)))
    print()
    for line in chart(plan, width=width, units=units):
        print(line)
    print()
    print(f"{'#':<7} {'segment':<22} {'kind':<9} {'length':>8}  {'speed':<22} incline")
    for line in _item_lines(profile.items, "", units):
        print(line)
    ascent = ascent_text(plan.ascent_m, units == "imperial")
    print()
    print(
        f"total: {format_duration(plan.duration_s)} · {format_distance(plan.distance_m, units)} · "
        f"ascent {ascent} · about {energy_kcal(plan, args.weight):.0f} kcal "
        f"(estimate for {args.weight:g} kg) · {len(plan.segments)} segments"
    )
    if any(seg.open for seg in plan.segments):
        print(f"open segments (until you press n) are counted as {format_duration(OPEN_ESTIMATE_S)} each")
    if args.speak or args.voice_out:
        return _speak(args, plan, units)
    return 0


def _speak(args: argparse.Namespace, plan: Plan, units: str) -> int:
    """``--speak``: the plan read aloud, segment by segment, with the config's [voice] settings."""
    import asyncio
    import sys
    from pathlib import Path

    from treadwalk.core.config import load_config
    from treadwalk.core.errors import UsageError
    from treadwalk.voice import NoSynthesizer, find_synthesizer, plan_texts

    if args.voice_out and not args.speak:
        raise UsageError("--voice-out goes with --speak.")
    if args.voice_out and not Path(args.voice_out).is_dir():
        raise UsageError(f"--voice-out {args.voice_out}: no such folder; create it first.")
    table = load_config().voice
    try:
        synth = find_synthesizer(
            rate_wpm=int(table.get("rate", 175)),
            volume=float(table.get("volume", 100)) / 100,
            voice=table.get("voice"),
            out_dir=Path(args.voice_out) if args.voice_out else None,
        )
    except NoSynthesizer as exc:
        print(f"treadwalk: {exc}.", file=sys.stderr)
        return 1

    async def read_aloud() -> None:
        for text in plan_texts(plan, units):
            await synth.speak(text)

    try:
        asyncio.run(read_aloud())
    except OSError as exc:
        print(f"treadwalk: could not speak ({exc}).", file=sys.stderr)
        return 1
    return 0


def _validate(args: argparse.Namespace) -> int:
    import sys

    from treadwalk.core.errors import ProfileError, UsageError
    from treadwalk.core.units import format_duration
    from treadwalk.profile import find_profile, load_profile

    paces = _paces(args.paces)
    bad = 0
    for name in args.profiles:
        try:
            path = find_profile(name)
            profile = load_profile(path, paces=paces)
        except ProfileError as exc:
            bad += 1
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            continue
        except UsageError as exc:
            bad += 1
            print(f"{name}: {exc}", file=sys.stderr)
            continue
        plan = profile.to_plan()
        for note in profile.notes:
            print(f"note: {path}: {note}", file=sys.stderr)
        print(
            f"ok: {path} ({profile.name}, {format_duration(plan.duration_s)}, {len(plan.segments)} segments)"
        )
    if bad:
        print(f"{bad} of {len(args.profiles)} profiles do not load; fix the lines above", file=sys.stderr)
        return 2
    return 0


def _convert(args: argparse.Namespace) -> int:
    import sys

    from treadwalk.profile import convert, find_profile
    from treadwalk.profile.files import FORMATS

    source = find_profile(args.source)
    notes = convert(source, args.dest, paces=_paces(args.paces), overwrite=args.force)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    from pathlib import Path

    print(f"wrote {args.dest} ({FORMATS[Path(args.dest).suffix.lower()]})")
    return 0
