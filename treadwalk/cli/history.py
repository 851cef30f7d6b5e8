"""``treadwalk history [list | show ID [--charts] | compare ID ID]``: the recorded sessions.

``show`` draws the walk over its plan (speed or pace, incline, heart rate; laps, pauses, console
changes) at the terminal's width, then the tables; piped, the charts are left out unless
``--charts``. ``compare`` puts two walks side by side, lap by lap.

argparse only at import time; the store (and rich, for the charts) are imported inside ``run``.
"""

from __future__ import annotations

import argparse
from typing import Any

UNITS = ("metric", "pace", "imperial", "pace_imperial")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "history",
        help="recorded sessions",
        description="List recorded sessions, show one (its walk drawn over the plan, its laps and "
        "events), or compare two lap by lap.",
    )
    p.add_argument("action", nargs="?", default="list", metavar="list|show|compare", help="default: list")
    p.add_argument("id", nargs="?", help="session id (for show and compare)")
    p.add_argument("other", nargs="?", help="the second session id (for compare)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="list only the newest N sessions")
    p.add_argument(
        "--charts",
        action="store_true",
        help="draw the charts even when the output is not a terminal (they are drawn on one anyway)",
    )
    p.add_argument(
        "--units",
        choices=UNITS,
        default="metric",
        help="speed or pace on the charts and in compare: metric (km/h), pace (min/km), "
        "imperial (mph), pace_imperial (min/mi); default: metric",
    )
    add_data_dir(p)
    p.set_defaults(func=run)


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help="folder of the session store (default: $TREADWALK_DATA_DIR, else "
        "$XDG_DATA_HOME/treadwalk, else ~/.local/share/treadwalk)",
    )


def parse_id(value: str | None) -> int:
    from treadwalk.core.errors import UsageError

    if value is None:
        raise UsageError("give a session id, e.g. 'treadwalk history show 3'; 'treadwalk history' lists them")
    try:
        session_id = int(value)
    except ValueError:
        raise UsageError(f"'{value}' is not a session id; run 'treadwalk history' to see the ids") from None
    if session_id < 1:
        raise UsageError(f"'{value}' is not a session id; run 'treadwalk history' to see the ids")
    return session_id


def store_path(data_dir: str | None) -> Any:
    """The database path for ``--data-dir`` (or the default), without creating anything."""
    from pathlib import Path

    from treadwalk.recording.store import DB_NAME, default_data_dir

    return (Path(data_dir).expanduser() if data_dir else default_data_dir()) / DB_NAME


def open_existing(data_dir: str | None, session_id: int | None = None) -> Any:
    """Open the store for reading; an absent store means "no sessions" (or an unknown id)."""
    from treadwalk.core.errors import UsageError
    from treadwalk.recording import SessionStore

    path = store_path(data_dir)
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        where = "--data-dir" if data_dir else "the data folder (TREADWALK_DATA_DIR or the default)"
        raise UsageError(f"{where} {folder} is a file, not a folder: give the folder that holds {path.name}")
    if not path.exists():
        if session_id is not None:
            raise UsageError(
                f"there is no session {session_id}: no sessions are recorded in {path.parent} yet"
            )
        return None
    return SessionStore(path)


def run(args: argparse.Namespace) -> int:
    from treadwalk.core.errors import UsageError

    charts = bool(args.charts) or _is_terminal()
    if args.action not in ("list", "show", "compare"):
        if args.id is None and args.action.isdigit():  # `history 3` means `history show 3`
            return _show(args.data_dir, parse_id(args.action), charts=charts, units=args.units)
        raise UsageError(
            f"unknown history action '{args.action}'; use 'history list', 'history show ID' "
            "or 'history compare ID ID'"
        )
    if args.action == "list":
        if args.id is not None:
            raise UsageError(f"'history list' takes no id; use 'treadwalk history show {args.id}'")
        if args.limit is not None and args.limit < 1:
            raise UsageError("--limit must be at least 1")
        return _list(args.data_dir, args.limit)
    if args.action == "compare":
        if args.id is None or args.other is None:
            raise UsageError("give two session ids, e.g. 'treadwalk history compare 3 7'")
        first, second = parse_id(args.id), parse_id(args.other)
        if first == second:
            raise UsageError(f"give two different sessions to compare, not {first} twice")
        return _compare(args.data_dir, first, second, charts=charts, units=args.units)
    if args.other is not None:
        raise UsageError(
            f"'history show' takes one id; to compare two, use 'history compare {args.id} {args.other}'"
        )
    return _show(args.data_dir, parse_id(args.id), charts=charts, units=args.units)


def _is_terminal() -> bool:
    import sys

    return sys.stdout.isatty()


def _status(info: Any) -> str:
    if info.status == "finished":
        return str(info.stop_reason or "finished")
    return str(info.status).upper() if info.status == "interrupted" else str(info.status)


def _local(t: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _list(data_dir: str | None, limit: int | None) -> int:
    from treadwalk.core.units import format_duration

    store = open_existing(data_dir)
    if store is None:
        print("No sessions recorded yet. Record one with 'treadwalk run PROFILE'.")
        return 0
    with store:
        sessions = store.list_sessions(limit)
    if not sessions:
        print("No sessions recorded yet. Record one with 'treadwalk run PROFILE'.")
        return 0
    rows = [("ID", "STARTED", "PROFILE", "SPORT", "TIME", "DISTANCE", "STATUS")]
    for s in sessions:
        distance = "-" if s.distance_m is None else f"{s.distance_m / 1000:.2f} km"
        rows.append(
            (
                str(s.id),
                _local(s.started),
                s.profile,
                s.sport,
                format_duration(s.elapsed_s),
                distance,
                _status(s),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if any(s.status == "interrupted" for s in sessions):
        print(
            "INTERRUPTED: the recording process ended without finishing the session; "
            "everything recorded before that is kept."
        )
    return 0


class Walk:
    """One recorded session read back: its info, samples, events and laps."""

    def __init__(self, info: Any, samples: list[Any], events: list[Any]) -> None:
        from treadwalk.recording.laps import activity_samples, laps, totals

        self.info = info
        self.samples = samples
        self.events = events
        self.active = activity_samples(samples)
        self.laps = laps(samples, info.plan) if self.active else []
        self.totals = totals(self.active) if self.active else None

    @property
    def lap_starts(self) -> list[float]:
        return [lap.samples[0].t for lap in self.laps]

    def planned(self) -> tuple[list[float | None], list[float | None]]:
        """What the plan asked at each activity sample (speed, incline): the segment's value at
        that point of it (by time, or by distance for a distance segment), not the target, which
        carries the walker's and the console's changes. Outside the plan (the cool-down after a
        stop or the end): the target."""
        segments = self.info.plan.get("segments") or []
        speeds: list[float | None] = []
        inclines: list[float | None] = []
        for lap in self.laps:
            run = lap.samples
            seg = (
                segments[lap.segment]
                if lap.segment is not None and 0 <= lap.segment < len(segments)
                else None
            )
            if seg is None:
                speeds += [s.target_speed_kmh for s in run]
                inclines += [s.target_incline_pct for s in run]
                continue
            fractions: list[float] | None = None
            for out, start, end in (
                (speeds, "speed_kmh", "end_speed_kmh"),
                (inclines, "incline_pct", "end_incline_pct"),
            ):
                a = seg.get(start)
                b = seg.get(end)
                if a is None or b is None:  # no ramp: one value for the whole lap (the common case)
                    out += [None if a is None else float(a)] * len(run)
                    continue
                if fractions is None:
                    fractions = _fractions(seg, run)
                a, b = float(a), float(b)
                out += [a + (b - a) * f for f in fractions]
        return speeds, inclines

    def view(self, width: int, units: str = "metric", **kwargs: Any) -> list[Any]:
        """The title, legend and charts of this walk (``dashboard.history.walk_view``)."""
        from treadwalk.dashboard.history import walk_view

        if not self.active:
            return []
        speeds, inclines = self.planned()
        return walk_view(
            walk_title(self),
            self.active,
            self.events,
            self.lap_starts,
            width,
            mode=units,
            plan_speed_kmh=speeds,
            plan_incline_pct=inclines,
            **kwargs,
        )


def _fractions(seg: Any, run: Any) -> list[float]:
    """How far into its segment each sample of a lap is, 0..1: by distance for a distance
    segment, by moving time otherwise."""
    first = run[0]
    if seg.get("distance_m"):
        d0, length = first.distance_m or 0.0, float(seg["distance_m"])
        raw = [((s.distance_m or d0) - d0) / length for s in run]
    else:
        t0, length = first.elapsed_s, max(float(seg.get("duration_s") or 0.0), 1e-9)
        raw = [(s.elapsed_s - t0) / length for s in run]
    return [min(max(f, 0.0), 1.0) for f in raw]


def load_walk(store: Any, session_id: int) -> Walk:
    """Read one session; an unknown id is a UsageError."""
    from treadwalk.core.errors import UsageError
    from treadwalk.recording import SessionNotFound

    try:
        info = store.get_session(session_id)
    except SessionNotFound as exc:
        raise UsageError(str(exc)) from None
    return Walk(info, store.samples(session_id), store.events(session_id))


def walk_title(walk: Walk) -> str:
    from treadwalk.core.units import format_duration

    info = walk.info
    title = f"Session {info.id} · {info.profile} · {_local(info.started)}"
    if walk.totals is not None:
        t = walk.totals
        title += f" · {format_duration(t.timer_s)} · {t.distance_m / 1000:.2f} km"
    return title


def show_lines(walk: Walk) -> list[str]:
    """The tables of ``history show``: the session's facts, its laps and its events."""
    from treadwalk.core.units import format_duration

    info, active, out = walk.info, walk.active, []
    out.append(f"Session {info.id}: {info.profile}")
    out.append(f"  status      {_status(info)}")
    out.append(f"  sport       {info.sport} (treadmill)")
    out.append(f"  device      {info.device}")
    out.append(f"  started     {_local(info.started)}")
    if info.ended is not None:
        out.append(f"  ended       {_local(info.ended)}")
    elif info.last_t is not None:
        out.append(f"  last record {_local(info.last_t)}")
    if walk.totals is not None:
        t = walk.totals
        out.append(f"  moving time {format_duration(t.timer_s)} (elapsed {format_duration(t.elapsed_s)})")
        out.append(f"  distance    {t.distance_m / 1000:.2f} km, ascent {t.ascent_m:.0f} m")
        if t.avg_speed_kmh is not None:
            out.append(f"  avg speed   {t.avg_speed_kmh:.1f} km/h (max {t.max_speed_kmh or 0:.1f})")
        if t.energy_kcal is not None:
            out.append(f"  energy      {t.energy_kcal:.0f} kcal")
        if t.avg_heart_rate_bpm is not None:
            out.append(f"  heart rate  {t.avg_heart_rate_bpm} bpm avg, {t.max_heart_rate_bpm} max")
        if t.steps is not None:
            out.append(f"  steps       {t.steps}")
    out.append(f"  samples     {info.sample_count}")
    if active:
        out.append("Laps:")
        for lap in walk.laps:
            lt = lap.totals
            out.append(
                f"  {lap.index + 1:>3}  {lap.name:<24} {format_duration(lt.timer_s):>8}  "
                f"{lt.distance_m:7.0f} m  "
                + (f"{lt.avg_speed_kmh:4.1f} km/h" if lt.avg_speed_kmh is not None else "")
            )
    if walk.events:
        out.append("Events:")
        for e in walk.events:
            offset = format_duration(e.t - info.started)
            out.append(f"  {offset:>8}  {e.kind:<12} {e.message}")
    return out


def _show(data_dir: str | None, session_id: int, *, charts: bool = False, units: str = "metric") -> int:
    store = open_existing(data_dir, session_id)
    with store:
        walk = load_walk(store, session_id)
    if charts and walk.active:
        from treadwalk.dashboard.history import print_lines, terminal_width

        width = terminal_width()
        view = walk.view(width, units)
        if view:
            print_lines([*view, ""], width=width)
    print("\n".join(show_lines(walk)))
    return 0


def compare_lines(a: Walk, b: Walk, units: str = "metric") -> list[str]:
    """``history compare``'s tables: the two walks' totals, then lap by lap (by position)."""
    from treadwalk.core.units import distance_text, format_duration
    from treadwalk.dashboard.format import is_imperial, speed_text

    imperial = is_imperial(units)

    def pace(kmh: float | None) -> str:  # a runner compares paces: min/km (or min/mi)
        return speed_text(kmh, "pace_imperial" if imperial else "pace") if kmh is not None else "-"

    def dist(m: float) -> str:
        return distance_text(m, imperial)

    def hr(v: int | None) -> str:
        return f"{v} bpm" if v is not None else "-"

    out = [
        f"Session {a.info.id} ({_local(a.info.started)}) and session {b.info.id} ({_local(b.info.started)})"
    ]
    if a.info.profile == b.info.profile:
        out.append(f"  both: {a.info.profile}")
    else:
        out.append(
            f"  The profiles differ ('{a.info.profile}' and '{b.info.profile}'): laps are compared by position."
        )
    ta, tb = a.totals, b.totals
    rows: list[tuple[str, ...]] = [("", f"#{a.info.id}", f"#{b.info.id}")]
    rows.append(("time", *(format_duration(t.timer_s) if t else "-" for t in (ta, tb))))
    rows.append(("distance", *(dist(t.distance_m) if t else "-" for t in (ta, tb))))
    rows.append(("average pace", *(pace(t.avg_speed_kmh) if t else "-" for t in (ta, tb))))
    rows.append(("heart rate", *(hr(t.avg_heart_rate_bpm) if t else "-" for t in (ta, tb))))
    rows.append(("status", _status(a.info), _status(b.info)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    out += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    out.append("Laps:")
    header = ("lap", "name", f"time #{a.info.id}", f"time #{b.info.id}", f"pace #{a.info.id}",
              f"pace #{b.info.id}", f"HR #{a.info.id}", f"HR #{b.info.id}")  # fmt: skip
    lap_rows: list[tuple[str, ...]] = [header]
    for i in range(max(len(a.laps), len(b.laps))):
        la = a.laps[i] if i < len(a.laps) else None
        lb = b.laps[i] if i < len(b.laps) else None
        name = la.name if la is not None else lb.name if lb is not None else ""
        if la is not None and lb is not None and la.name != lb.name:
            name = f"{la.name} / {lb.name}"
        lap_rows.append(
            (
                str(i + 1),
                name,
                *(format_duration(x.totals.timer_s) if x else "-" for x in (la, lb)),
                *(pace(x.totals.avg_speed_kmh) if x else "-" for x in (la, lb)),
                *(hr(x.totals.avg_heart_rate_bpm) if x else "-" for x in (la, lb)),
            )
        )
    widths = [max(len(r[i]) for r in lap_rows) for i in range(len(header))]
    right = {0, 2, 3, 4, 5, 6, 7}
    for r in lap_rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _compare(data_dir: str | None, first: int, second: int, *, charts: bool, units: str) -> int:
    store = open_existing(data_dir, first)
    with store:
        a = load_walk(store, first)
        b = load_walk(store, second)
    if charts:
        from treadwalk.dashboard.chart import speed_range
        from treadwalk.dashboard.history import print_lines, terminal_width

        width = terminal_width()
        lines: list[Any] = []
        walks = [w for w in (a, b) if w.active]
        # the same axes for both: the longer walk's time, both walks' speeds
        span = max(w.active[-1].t - w.active[0].t for w in walks) if walks else 0.0
        ranges = [r for w in walks if (r := speed_range(w.active, w.planned()[0])) is not None]
        shared = (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None
        for walk in walks:
            lines += walk.view(width, units, charts=("speed",), span_s=span, speed_range_kmh=shared)
            lines.append("")
        if lines:
            print_lines(lines, width=width)
    print("\n".join(compare_lines(a, b, units)))
    return 0
