"""``treadwalk export ID --format fit|tcx|csv|svg|png [-o PATH]``: one recorded session as a file.

svg and png are ``history show`` as a picture (the charts over the plan, then the tables), drawn
``--width`` columns wide by Rich's SVG export; png converts that SVG with CairoSVG (optional:
``pip install 'treadwalk[png]'``).

The default file name comes from the session (``treadwalk-<id>-<date>-<profile>.<ext>`` in the
current folder); ``-o -`` writes to standard output. argparse only at import time.
"""

from __future__ import annotations

import argparse
from typing import Any

from treadwalk.cli.history import add_data_dir

FORMATS = ("fit", "tcx", "csv", "svg", "png")
PICTURES = ("svg", "png")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a recorded session as FIT, TCX, CSV, or a picture (SVG, PNG)",
        description="Write a recorded session as a FIT activity (Garmin, Strava), TCX or CSV, or its "
        "charts as a picture to share (SVG, PNG).",
    )
    p.add_argument("id", help="session id (see 'treadwalk history')")
    p.add_argument(
        "--format", "-f", dest="format", required=True, metavar="FORMAT", help="fit, tcx, csv, svg or png"
    )
    p.add_argument(
        "--width",
        type=int,
        default=100,
        metavar="COLUMNS",
        help="svg and png: the picture's width in terminal columns (default: 100)",
    )
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
        raise UsageError(f"unknown format '{args.format}'; use --format fit, tcx, csv, svg or png")
    if fmt in PICTURES and not 60 <= args.width <= 400:
        raise UsageError("--width must be between 60 and 400 columns")
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
            elif fmt in PICTURES:
                data = picture(store, session_id, fmt, args.width)
            else:
                data = export_csv(store, session_id).encode("utf-8")
        except SessionNotFound as exc:
            raise UsageError(str(exc)) from None
        except NothingToExport as exc:
            if fmt in PICTURES:
                raise UsageError(f"{exc} or draw") from None
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


def picture(store: Any, session_id: int, fmt: str, width: int) -> bytes:
    """``history show`` of the session, charts included, as SVG (or PNG) bytes."""
    from treadwalk.cli.history import load_walk, show_lines
    from treadwalk.dashboard.history import png, svg
    from treadwalk.recording import NothingToExport

    walk = load_walk(store, session_id)
    if not walk.active:
        raise NothingToExport(session_id)
    view = walk.view(width)
    text = svg([*view, "", *show_lines(walk)], width, title=f"treadwalk · session {session_id}")
    return text.encode("utf-8") if fmt == "svg" else png(text)
