"""``WebView``: the session on a phone or tablet, over HTTP and a WebSocket. The only aiohttp user;
imports ``treadwalk.core`` and its own package, nothing else of treadwalk.

A browser that is slow, asleep or gone never holds up the session:

- ``on_snapshot``/``on_event`` (the ``Observer``) only keep the newest snapshot, or append an
  event to each client's bounded queue (oldest dropped), and return;
- ``run()`` sends the state at most ``rate_hz`` times a second, only when what the page shows
  changed, into the same per-client queues; each client's own task writes to its socket, so a
  stuck socket stalls only itself (and aiohttp's heartbeat closes a vanished one).

Everything needs the session's token (``?t=...``): the page, its script and style, the
WebSocket; without it, 403. The WebSocket also checks that its Origin is this server. With
``control``, requests go through ``parse_request`` to ``submit`` as ``Command(..., source=web)``;
the engine refuses what a remote may not do (start, resume) and rules every change (caps, rates).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import json
import logging
import secrets
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from treadwalk.core.errors import WebError
from treadwalk.core.model import Command, EventKind, Phase, Plan, SessionEvent, SessionSnapshot

from .payload import BadRequest, dumps, parse_request, plan_payload, state_payload
from .settings import WebSettings

__all__ = ["BoardView", "WebStats", "WebView", "lan_address"]

log = logging.getLogger("treadwalk.web")

_STATIC = {
    "app.js": "text/javascript",
    "board.js": "text/javascript",
    "style.css": "text/css",
}
_FINAL = (Phase.FINISHED, Phase.ABORTED)
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:",
}
FORBIDDEN = "403: this page needs the token treadwalk printed (the ?t=... part of the address it showed)."
TICK_S = 2.0  # with nothing new to say, a small "tick" this often: the page marks data stale without it


@dataclass(slots=True)
class WebStats:
    """Counters, for tests and benchmarks."""

    clients: int = 0
    connections: int = 0
    broadcasts: int = 0
    dropped: int = 0
    accepted: int = 0
    refused: int = 0
    forbidden: int = 0


class _Client:
    __slots__ = ("queue", "ready")

    def __init__(self, size: int) -> None:
        self.queue: deque[str] = deque(maxlen=size)
        self.ready = asyncio.Event()

    def put(self, text: str) -> bool:
        """Queue a message; False when the oldest had to be dropped for it."""
        full = len(self.queue) == self.queue.maxlen
        self.queue.append(text)
        self.ready.set()
        return not full


def _read_static(name: str) -> bytes:
    return importlib.resources.files("treadwalk.web").joinpath("static", name).read_bytes()


def lan_address() -> str:
    """This machine's address as a phone on the same network would use it (no traffic sent)."""
    try:
        name = socket.gethostname()
        for info in socket.getaddrinfo(name, None, socket.AF_INET):
            addr = str(info[4][0])
            if not addr.startswith("127."):
                return addr
    except OSError:
        pass
    return "localhost"


class WebView:
    """The second screen. ``async with WebView(...) as web:`` binds the port (``WebError`` when
    it cannot) and serves until the block ends; ``run()`` pushes the live state until the session
    is over."""

    PAGE = "index.html"

    def __init__(
        self,
        settings: WebSettings,
        *,
        submit: Callable[[Command], None] | None = None,
        token: str | None = None,
        units: str = "metric",
        rate_hz: float = 4.0,
        queue_size: int = 16,
    ) -> None:
        if settings.control and submit is None:
            raise ValueError("control needs a submit callable")
        self.settings = settings
        self.token = token or secrets.token_urlsafe(16)
        self.units = units
        self.stats = WebStats()
        self.port: int | None = None
        self._submit = submit
        self._interval = 1.0 / rate_hz
        self._queue_size = max(1, queue_size)
        self._clients: set[_Client] = set()
        self._latest: SessionSnapshot | None = None
        self._plan: Plan | None = None
        self._state_text: str | None = None
        self._dirty = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._observer_failed = False
        self._index = _read_static(self.PAGE).decode()

    # -----------------------------------------------------------------------------------------
    # Observer: called by the engine; never blocks, never raises

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        self._latest = snapshot
        self._dirty.set()

    def on_event(self, event: SessionEvent) -> None:
        if event.kind is EventKind.LOG:
            return
        try:
            self._broadcast(dumps({"type": "event", "kind": event.kind.value, "message": event.message}))
        except Exception:
            if not self._observer_failed:
                self._observer_failed = True
                log.exception("the web page could not be sent an event; the session goes on")

    # -----------------------------------------------------------------------------------------
    # Lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._asset)
        app.router.add_get("/ws", self._socket)
        app.router.add_get("/favicon.ico", self._no_icon)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.host, self.settings.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            where = f"{self.settings.host or '*'}:{self.settings.port}"
            raise WebError(
                f"Cannot serve the second screen on {where} ({exc.strerror or exc}); "
                "pick another port with --web PORT, or stop what uses that one."
            ) from exc
        self._runner = runner
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or ()
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.settings.port

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def url(self, host: str | None = None) -> str:
        """The address to open (and to put in the QR code), with the token."""
        shown = host or self.settings.host
        if shown in (None, "", "0.0.0.0", "::"):
            shown = lan_address()
        if ":" in shown:
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}/?t={self.token}"

    async def run(self) -> None:
        """Push the live state until the session is over (then return); at most ``rate_hz`` a
        second, and only when something the page shows changed."""
        while True:
            try:
                async with asyncio.timeout(TICK_S):
                    await self._dirty.wait()
            except TimeoutError:
                self._broadcast(dumps({"type": "tick"}))
                continue
            self._dirty.clear()
            snap = self._latest
            if snap is None:
                continue
            if snap.plan is not self._plan:  # the first snapshot (a page may be there before it)
                self._plan = snap.plan
                self._broadcast(dumps({"type": "plan", "plan": plan_payload(snap.plan)}))
            text = dumps(state_payload(snap))
            if text != self._state_text:
                self._state_text = text
                self.stats.broadcasts += 1
                self._broadcast(text)
            if snap.phase in _FINAL:
                await asyncio.sleep(0.5)  # bounded: let the clients' writers send the last state
                return
            await asyncio.sleep(self._interval)

    # -----------------------------------------------------------------------------------------
    # HTTP

    def _authorised(self, request: web.Request) -> bool:
        given = request.query.get("t", "")
        if secrets.compare_digest(given.encode(), self.token.encode()):
            return True
        self.stats.forbidden += 1
        return False

    @staticmethod
    def _forbidden(reason: str = FORBIDDEN) -> web.Response:
        return web.Response(status=403, text=reason + "\n", headers=_HEADERS)

    async def _page(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._forbidden()
        html = self._index.replace("__TOKEN__", self.token)
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=_HEADERS)

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _asset(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._forbidden()
        name = request.match_info["name"]
        kind = _STATIC.get(name)
        if kind is None:
            raise web.HTTPNotFound()
        return web.Response(body=_read_static(name), content_type=kind, charset="utf-8", headers=_HEADERS)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return self._forbidden()
        origin = request.headers.get("Origin", "")
        if not origin or urlsplit(origin).netloc.lower() != request.host.lower():
            self.stats.forbidden += 1
            return self._forbidden(
                "403: a WebSocket from another site is refused: open the page treadwalk printed."
            )
        ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=4096)
        await ws.prepare(request)
        client = _Client(self._queue_size)
        self._clients.add(client)
        self.stats.clients = len(self._clients)
        self.stats.connections += 1
        client.put(dumps(self._hello()))
        if self._state_text is not None:
            client.put(self._state_text)
        writer = asyncio.create_task(self._write(ws, client), name="web-client-writer")
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    client.put(dumps(self._request(msg.data)))
                elif msg.type is WSMsgType.BINARY:
                    client.put(dumps(self._reply(None, False, "send JSON text, not binary")))
        finally:
            self._clients.discard(client)
            self.stats.clients = len(self._clients)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def _hello(self) -> dict[str, Any]:
        hello: dict[str, Any] = {"type": "hello", "control": self.settings.control, "units": self.units}
        if self._latest is not None:
            hello["plan"] = plan_payload(self._latest.plan)
        return hello

    async def _write(self, ws: web.WebSocketResponse, client: _Client) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not ws.closed:
                await client.ready.wait()
                client.ready.clear()
                while client.queue:
                    await ws.send_str(client.queue.popleft())

    def _broadcast(self, text: str) -> None:
        for client in self._clients:
            if not client.put(text):
                self.stats.dropped += 1

    def _reply(self, command: str | None, ok: bool, reason: str) -> dict[str, Any]:
        if ok:
            self.stats.accepted += 1
        else:
            self.stats.refused += 1
        return {"type": "reply", "ok": ok, "command": command, "reason": reason}

    def _request(self, raw: str) -> dict[str, Any]:
        name: str | None = None
        try:
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                name = json.loads(raw).get("command")
                name = name if isinstance(name, str) else None
            if not self.settings.control or self._submit is None:
                raise BadRequest(
                    "this page is read-only: start treadwalk with --web-control to use its buttons"
                )
            command = parse_request(raw)
        except BadRequest as exc:
            return self._reply(name, False, str(exc))
        self._submit(command)
        return self._reply(name, True, "sent")


class BoardView(WebView):
    """``watch --web``: the fleet board (every treadmill on the broker) in a browser, read-only.
    Fed ``update(rows, status)`` with plain JSON-able rows; pushes at most ``rate_hz`` a second,
    only on change, and a tick now and then so "last seen" moves and the page knows it is live."""

    PAGE = "board.html"

    def __init__(self, settings: WebSettings, *, title: str = "", **kwargs: Any) -> None:
        super().__init__(WebSettings(settings.host, settings.port, control=False), **kwargs)
        self.title = title
        self._board_text: str | None = None
        self._pending: str | None = None

    def update(self, rows: list[dict[str, Any]], status: str, now: float) -> None:
        """The board as the terminal table shows it; never blocks."""
        self._pending = dumps(
            {"type": "board", "title": self.title, "status": status, "now": now, "rows": rows}
        )
        self._dirty.set()

    def _hello(self) -> dict[str, Any]:
        return {"type": "hello", "control": False, "units": self.units, "title": self.title}

    async def run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(TICK_S):
                    await self._dirty.wait()
            except TimeoutError:
                self._broadcast(dumps({"type": "tick"}))
                continue
            self._dirty.clear()
            text = self._pending
            if text is not None and text != self._board_text:
                self._board_text = self._state_text = text
                self.stats.broadcasts += 1
                self._broadcast(text)
            await asyncio.sleep(self._interval)

    def _request(self, raw: str) -> dict[str, Any]:
        return self._reply(None, False, "the fleet board is read-only")
