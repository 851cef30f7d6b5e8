"""The command line: the composition root and a leaf (nothing imports it).

Each command lives in its own module ``treadwalk.cli.<name>`` with two functions:

- ``register(subparsers)``: adds its parser, using argparse only (keeps ``--help`` fast);
- ``run(args) -> int``: does the work, importing heavy libraries inside.

Errors: a ``TreadwalkError`` becomes one line on stderr and its ``exit_code``; bad flags exit 2;
anything unexpected exits 1 with one line. ``--debug`` shows tracebacks and debug logs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from treadwalk import __version__
from treadwalk.core.errors import TreadwalkError

# name -> module under treadwalk.cli; order is the order in --help.
COMMANDS: tuple[str, ...] = (
    "demo",
    "run",
    "scan",
    "info",
    "sim",
    "profiles",
    "history",
    "export",
    "decode",
    "watch",
    "zones",
)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one sentence with what to do, and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}. Run '{self.prog} --help' for usage.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="treadwalk",
        description="Play walking workouts on Bluetooth FTMS treadmills.",
    )
    parser.add_argument("--version", action="version", version=f"treadwalk {__version__}")
    parser.add_argument("--debug", action="store_true", help="show debug logs and tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"treadwalk.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"treadwalk.cli.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TreadwalkError as exc:
        if args.debug:
            raise
        print(f"treadwalk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `treadwalk ... | head`: the reader left; say nothing more (and not at exit either).
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: one sentence, no traceback
        if args.debug:
            raise
        print(
            f"treadwalk: unexpected error: {type(exc).__name__}: {exc}. "
            "Run again with --debug for the details, and please report it.",
            file=sys.stderr,
        )
        return 1
