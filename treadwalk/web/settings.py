"""``--web [HOST:]PORT`` and ``--web-control``, and config ``[web]``, resolved. Stdlib only, so
``--help`` never loads the web server.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from treadwalk.core.errors import ConfigError, UsageError

__all__ = ["DEFAULT_PORT", "WebSettings", "add_web_arguments", "parse_listen", "settings_from_args"]

DEFAULT_PORT = 8765  # fixed, so a bookmark on the phone keeps working


@dataclass(frozen=True, slots=True)
class WebSettings:
    """Where the second screen listens (host None: every interface) and whether its buttons work."""

    host: str | None
    port: int
    control: bool = False


def add_web_arguments(p: argparse.ArgumentParser, *, control: bool, what: str = "the live session") -> None:
    p.add_argument(
        "--web",
        nargs="?",
        const="",
        metavar="[HOST:]PORT",
        help=f"serve {what} to a browser on a phone or tablet (alone: every interface, port {DEFAULT_PORT}; "
        "config [web] listen); the address and a QR code are printed",
    )
    if control:
        p.add_argument(
            "--web-control",
            action="store_true",
            default=None,
            help="with --web: the page may pause, stop, change speed and incline, skip, extend "
            "(never start or resume the belt; config [web] control)",
        )


def parse_listen(text: str | None) -> tuple[str | None, int]:
    """``--web [HOST:]PORT`` as (host, port); host None means every interface. ``""`` or None:
    every interface on the default port. ``[::1]:8765`` for an IPv6 address."""
    if not text:
        return None, DEFAULT_PORT
    host: str | None
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1 :].startswith(":"):
            raise UsageError(f"--web {text}: write an IPv6 address as [::1]:{DEFAULT_PORT}.")
        host, port_text = text[1:end], text[end + 2 :]
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
    else:
        host, port_text = None, text
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(
            f"--web {text}: give a port, or HOST:PORT, e.g. --web {DEFAULT_PORT} or --web 0.0.0.0:{DEFAULT_PORT}."
        ) from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--web {text}: the port must be from 0 to 65535.")
    return (host or None), port


def settings_from_args(args: argparse.Namespace, config: dict[str, Any]) -> WebSettings | None:
    """None without ``--web``; ``--web`` alone takes config ``[web] listen``, else the default."""
    control = getattr(args, "web_control", None)
    if control is None:
        control = bool(config.get("control", False))
    if args.web is None:
        if getattr(args, "web_control", None):
            raise UsageError("--web-control goes with --web: add --web (or --web PORT).")
        return None
    listen = args.web
    if listen == "":
        listen = config.get("listen", "")
        try:
            host, port = parse_listen(listen)
        except UsageError as exc:
            raise ConfigError(f"config [web] listen: {exc}") from None
    else:
        host, port = parse_listen(listen)
    return WebSettings(host, port, control)
