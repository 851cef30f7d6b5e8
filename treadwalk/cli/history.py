"""``treadwalk history [list | show ID]``: the recorded sessions, newest first.

argparse only at import time; the store is imported inside ``run``.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "history",
        help="recorded sessions",
        description="List recorded sessions, or show one with its laps and events.",
    )
    p.add_argument("action", nargs="?", default="list", metavar="list|show", help="default: list")
    p.add_argument("id", nargs="?", help="session id (for show)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="list only the newest N sessions")
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

    if args.action not in ("list", "show"):
        if args.id is None and args.action.isdigit():  # `history 3` means `history show 3`
            return _show(args.data_dir, parse_id(args.action))
        raise UsageError(f"unknown history action '{args.action}'; use 'history list' or 'history show ID'")
    if args.action == "list":
        if args.id is not None:
            raise UsageError(f"'history list' takes no id; use 'treadwalk history show {args.id}'")
        if args.limit is not None and args.limit < 1:
            raise UsageError("--limit must be at least 1")
        return _list(args.data_dir, args.limit)
    return _show(args.data_dir, parse_id(args.id))


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


def _show(data_dir: str | None, session_id: int) -> int:
    from treadwalk.core.errors import UsageError
    from treadwalk.core.units import format_duration
    from treadwalk.recording import SessionNotFound
    from treadwalk.recording.laps import activity_samples, laps, totals

    store = open_existing(data_dir, session_id)
    with store:
        try:
            info = store.get_session(session_id)
        except SessionNotFound as exc:
            raise UsageError(str(exc)) from None
        samples = store.samples(session_id)
        events = store.events(session_id)
    active = activity_samples(samples)
    print(f"Session {info.id}: {info.profile}")
    print(f"  status      {_status(info)}")
    print(f"  sport       {info.sport} (treadmill)")
    print(f"  device      {info.device}")
    print(f"  started     {_local(info.started)}")
    if info.ended is not None:
        print(f"  ended       {_local(info.ended)}")
    elif info.last_t is not None:
        print(f"  last record {_local(info.last_t)}")
    if active:
        t = totals(active)
        print(f"  moving time {format_duration(t.timer_s)} (elapsed {format_duration(t.elapsed_s)})")
        print(f"  distance    {t.distance_m / 1000:.2f} km, ascent {t.ascent_m:.0f} m")
        if t.avg_speed_kmh is not None:
            print(f"  avg speed   {t.avg_speed_kmh:.1f} km/h (max {t.max_speed_kmh or 0:.1f})")
        if t.energy_kcal is not None:
            print(f"  energy      {t.energy_kcal:.0f} kcal")
        if t.avg_heart_rate_bpm is not None:
            print(f"  heart rate  {t.avg_heart_rate_bpm} bpm avg, {t.max_heart_rate_bpm} max")
        if t.steps is not None:
            print(f"  steps       {t.steps}")
    print(f"  samples     {info.sample_count}")
    if active:
        print("Laps:")
        for lap in laps(samples, info.plan):
            lt = lap.totals
            print(
                f"  {lap.index + 1:>3}  {lap.name:<24} {format_duration(lt.timer_s):>8}  "
                f"{lt.distance_m:7.0f} m  "
                + (f"{lt.avg_speed_kmh:4.1f} km/h" if lt.avg_speed_kmh is not None else "")
            )
    if events:
        print("Events:")
        for e in events:
            offset = format_duration(e.t - info.started)
            print(f"  {offset:>8}  {e.kind:<12} {e.message}")
    return 0
