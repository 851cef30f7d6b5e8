"""``treadwalk demo``: the built-in "demo" profile on the virtual treadmill, accelerated, with the
full dashboard. What a newcomer runs first.

It is ``treadwalk run demo --sim --speedup 10 --fit-to-caps``, parsed by ``run``'s own parser and
played by ``run``'s own composition (treadwalk.cli.run), so the demo is the real thing: the
engine, the FTMS client over the virtual radio, the simulator, the recorder and the dashboard.
The belt waits for Enter, as on a real treadmill. ``register`` uses argparse only.
"""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_SPEEDUP = 10.0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="try treadwalk: a short workout on the virtual treadmill, 10x faster, with the dashboard",
        description=(
            "Play the built-in 'demo' profile (8 minutes: warm-up, brisk, hill, build, cool-down) on the "
            "virtual treadmill, 10 times faster than real time, with the live dashboard. Press Enter to "
            "start the belt; space pauses, + - change speed, ] [ incline, q stops, x stops at once. "
            "Same as: treadwalk run demo --sim --speedup 10 --fit-to-caps"
        ),
    )
    p.add_argument(
        "--speedup",
        type=float,
        default=DEFAULT_SPEEDUP,
        metavar="N",
        help=f"how many times faster than real time (default {DEFAULT_SPEEDUP:g}; 1 for real time)",
    )
    p.add_argument(
        "--profile", default="demo", metavar="NAME", help="another profile to play (default: demo)"
    )
    p.add_argument(
        "--units", choices=("metric", "imperial"), help="display units (default: config, else metric)"
    )
    p.add_argument("--no-dashboard", action="store_true", help="print one plain line per event instead")
    p.add_argument("--yes", action="store_true", help="start without a key press; the countdown still shows")
    p.add_argument("--summary-json", metavar="PATH", help="write the session's totals there as JSON")
    from treadwalk.web.settings import add_web_arguments  # stdlib only

    add_web_arguments(p, control=True)
    p.add_argument(
        "--hr",
        metavar="NAME|machine|none",
        help="heart-rate source (default: the virtual strap, whose heart follows the virtual belt)",
    )
    from treadwalk.cli.run import add_voice_arguments

    add_voice_arguments(p)
    p.set_defaults(func=run)


def run_argv(args: argparse.Namespace) -> list[str]:
    """The ``treadwalk run`` command line this demo stands for."""
    argv = ["run", args.profile, "--sim", "--speedup", f"{args.speedup:g}", "--fit-to-caps"]
    if args.units:
        argv += ["--units", args.units]
    if args.no_dashboard:
        argv.append("--no-dashboard")
    if args.yes:
        argv.append("--yes")
    if args.summary_json:
        argv += ["--summary-json", args.summary_json]
    web = getattr(args, "web", None)
    if web is not None:
        argv += ["--web", web] if web else ["--web"]
    if getattr(args, "web_control", None):
        argv.append("--web-control")
    if args.voice:
        argv.append("--voice")
    if args.voice_log:
        argv += ["--voice-log", args.voice_log]
    if args.voice_out:
        argv += ["--voice-out", args.voice_out]
    if getattr(args, "hr", None) is not None:
        argv += ["--hr", args.hr]
    return argv


def run(args: argparse.Namespace) -> int:
    from treadwalk.cli import build_parser
    from treadwalk.cli import run as run_command

    run_args = build_parser().parse_args(run_argv(args))
    run_args.debug = getattr(args, "debug", False)
    return run_command.run(run_args)
