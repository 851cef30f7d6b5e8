"""`treadwalk watch --mqtt URL`: a live table of every treadmill publishing to a broker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import time
from dataclasses import asdict
from typing import Any

from treadwalk.core.errors import TreadwalkError

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    from treadwalk.telemetry.settings import add_mqtt_arguments

    p = sub.add_parser(
        "watch",
        help="live table of every treadmill publishing to an MQTT broker",
        description="Show every treadmill publishing under the broker URL's prefix: name, phase, "
        "segment, speed, incline, distance, heart rate, last seen. Ctrl+C ends it.",
    )
    add_mqtt_arguments(p, control=False)
    p.add_argument(
        "--once",
        action="store_true",
        help="listen for --wait seconds, print the table once as plain text, and exit",
    )
    p.add_argument("--json", action="store_true", help="with --once: one JSON object per treadmill")
    p.add_argument(
        "--wait", type=float, default=2.0, metavar="S", help="with --once: how long to listen (default 2 s)"
    )
    from treadwalk.web.settings import add_web_arguments  # stdlib only: aiohttp loads with --web

    add_web_arguments(p, control=False, what="the board, read-only,")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from treadwalk.core.config import load_config
    from treadwalk.core.errors import UsageError
    from treadwalk.telemetry.settings import apply_config, settings_from_args
    from treadwalk.web.settings import settings_from_args as web_settings_from_args

    config = load_config()
    apply_config(args, config.mqtt)
    settings = settings_from_args(args)
    web = web_settings_from_args(args, config.web)
    if settings is None:
        raise UsageError("watch needs a broker: add --mqtt mqtt://host[:port][/prefix].")
    if not args.wait > 0:
        raise UsageError("--wait must be a number of seconds above 0, e.g. --wait 2.")
    if args.json and not args.once:
        raise UsageError("--json goes with --once.")
    if web is not None and args.once:
        raise UsageError("--web shows the live board: drop --once (or --web).")
    try:
        return asyncio.run(_once(args, settings) if args.once else _live(settings, web))
    except KeyboardInterrupt:
        return 0  # Ctrl+C is how a live watch ends


async def _once(args: argparse.Namespace, settings: Any) -> int:
    from treadwalk.telemetry.board import Board
    from treadwalk.telemetry.watch import watch_broker

    board = Board(settings.prefix)
    connected = asyncio.Event()

    def changed(status: str) -> None:
        if status == "connected":
            connected.set()

    task = asyncio.create_task(watch_broker(settings, board, changed), name="watch-once")
    waiter = asyncio.create_task(connected.wait(), name="watch-once-connected")
    try:
        # watch_broker raises TelemetryError if the first connection fails (bounded by its timeout)
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
        await asyncio.sleep(args.wait)
    finally:
        for t in (task, waiter):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
    rows = board.rows()
    now = time.time()
    if args.json:
        for row in rows:
            print(json.dumps({**asdict(row), "status": row.status(now)}))
        return 0
    from treadwalk.dashboard.watch import render_watch_text

    print(render_watch_text(rows, now, title=f"treadwalk watch {settings.display}"), end="")
    return 0


async def _live(settings: Any, web: Any = None) -> int:
    from treadwalk.dashboard.watch import WatchView
    from treadwalk.telemetry.board import Board
    from treadwalk.telemetry.watch import watch_broker

    board = Board(settings.prefix)
    status = "connecting"

    def changed(new_status: str) -> None:
        nonlocal status
        status = new_status
        dirty.set()

    dirty = asyncio.Event()
    try:
        async with contextlib.AsyncExitStack() as stack:
            page = await _board_page(stack, web, settings.display) if web is not None else None
            with WatchView() as view:
                async with asyncio.TaskGroup() as group:
                    task = group.create_task(watch_broker(settings, board, changed), name="watch-broker")
                    serving = group.create_task(_serve(page), name="watch-web") if page is not None else None
                    while not task.done():
                        rows, now = board.rows(), time.time()
                        view.update(rows, now, title=f"{settings.display} — {status} (Ctrl+C ends)")
                        if page is not None:
                            page.update([{**asdict(r), "status": r.status(now)} for r in rows], status, now)
                        dirty.clear()
                        try:
                            async with asyncio.timeout(1.0):  # also redraw each second: "last seen" moves
                                await dirty.wait()
                        except TimeoutError:
                            pass
                    if serving is not None:
                        serving.cancel()
    except ExceptionGroup as group:
        # the broker task's TelemetryError (first connection refused) is the one sentence to say
        errors = group.subgroup(TreadwalkError)
        if errors is None:
            raise
        raise _first_leaf(errors) from None
    return 0


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def _board_page(stack: contextlib.AsyncExitStack, web: Any, title: str) -> Any:
    """``watch --web``: the board in a browser, read-only; bound before the table starts (a port
    in use is one sentence, exit 1); its address and QR code printed above the table."""
    from treadwalk.web.qr import qr_text
    from treadwalk.web.server import BoardView

    page = await stack.enter_async_context(BoardView(web, title=f"treadwalk watch {title}"))
    url = page.url()
    print(f"treadwalk: the board in a browser (read-only) at {url}", flush=True)
    print(qr_text(url), flush=True)
    return page


async def _serve(page: Any) -> None:
    """The board's page fails alone: said once, the terminal table goes on."""
    try:
        await page.run()
    except Exception as exc:
        log.debug("the board page failed", exc_info=True)
        log.warning("The board's web page stopped (%s: %s); the table goes on.", type(exc).__name__, exc)
