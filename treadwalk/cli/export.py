"""``treadwalk export ID --format fit|tcx|csv [-o PATH]``: one recorded session as a file.

The default file name comes from the session (``treadwalk-<id>-<date>-<profile>.<ext>`` in the
current folder); ``-o -`` writes to standard output. argparse only at import time.
"""

from __future__ import annotations

import argparse
from typing import Any

from treadwalk.cli.history import add_data_dir

FORMATS = ("fit", "tcx", "csv")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a recorded session as FIT, TCX or CSV",
        description="Write a recorded session as a FIT activity (Garmin, Strava), TCX or CSV.",
    )
    p.add_argument("id", help="session id (see 'treadwalk history')")
    p.add_argument("--format", "-f", dest="format", required=True, metavar="FORMAT", help="fit, tcx or csv")
    p.add_argument(
        "-o", "--output", metavar="PATH", default=None, help="file to write ('-': standard output)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_data_dir(p)
    p.set_defaults(func=run)


def default_name(info: Any, fmt: str) -> str:
    import re
    import time

    slug = re.sub(r"[^a-z0-9]+", "-", info.profile.lower()).strip("-")[:40] or "session"
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime(info.started))
    return f"treadwalk-{info.id}-{stamp}-{slug}.{fmt}"


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from treadwalk.cli.history import open_existing, parse_id
    from treadwalk.core.errors import UsageError
    from treadwalk.recording import NothingToExport, SessionNotFound, export_csv, export_fit, export_tcx

    fmt = str(args.format).lower()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format '{args.format}'; use --format fit, tcx or csv")
    session_id = parse_id(args.id)
    store = open_existing(args.data_dir, session_id)
    with store:
        try:
            info = store.get_session(session_id)
            if info.sample_count == 0:  # every format, csv too: no file with a header and nothing else
                raise UsageError(
                    f"session {session_id} has nothing to export: it never started (no samples were "
                    f"recorded); 'treadwalk history show {session_id}' shows what happened"
                )
            if fmt == "fit":
                data: bytes = export_fit(store, session_id)
            elif fmt == "tcx":
                data = export_tcx(store, session_id).encode("utf-8")
            else:
                data = export_csv(store, session_id).encode("utf-8")
        except SessionNotFound as exc:
            raise UsageError(str(exc)) from None
        except NothingToExport as exc:
            raise UsageError(f"{exc}; '--format csv' exports every sample there is") from None
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    path = Path(args.output) if args.output else Path(default_name(info, fmt))
    if path.is_dir():
        path = path / default_name(info, fmt)
    if path.exists() and not args.force:
        raise UsageError(f"{path} already exists; choose another name with -o or add --force")
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}; choose another path with -o") from exc
    status = "" if info.status == "finished" else f" ({info.status} session: exported what was recorded)"
    print(f"Wrote {path}{status}.")
    return 0
