"""Follow every treadmill under a prefix (``treadwalk watch``). aiomqtt lives here and in
``client``; the table itself is drawn by ``treadwalk.dashboard.watch``."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable

import aiomqtt

from treadwalk.core.errors import TelemetryError

from .board import Board
from .client import make_client, tls_context
from .settings import MqttSettings

__all__ = ["watch_broker"]

log = logging.getLogger("treadwalk.telemetry")


async def watch_broker(
    settings: MqttSettings,
    board: Board,
    on_change: Callable[[str], None],
    *,
    first_connect_timeout_s: float = 10.0,
) -> None:
    """Feed ``board`` from the broker until cancelled; ``on_change(status)`` after every update
    (status: "connected", "reconnecting: ..."). The first connection must succeed
    (``TelemetryError`` otherwise: the user asked for this broker); later drops reconnect."""
    context = tls_context(settings)
    identifier = f"treadwalk-watch-{os.getpid()}"
    delay = settings.reconnect_min_s
    first = True
    while True:
        try:
            async with asyncio.timeout(first_connect_timeout_s) as deadline:
                async with make_client(settings, context, identifier=identifier) as client:
                    deadline.reschedule(None)
                    await client.subscribe(f"{settings.prefix}/+/state")
                    await client.subscribe(f"{settings.prefix}/+/availability")
                    first = False
                    delay = settings.reconnect_min_s
                    on_change("connected")
                    async for message in client.messages:
                        raw = message.payload
                        payload = raw if isinstance(raw, bytes) else str(raw).encode()
                        now = time.time()
                        if board.feed(str(message.topic), payload, retained=message.retain, now=now):
                            on_change("connected")
        except (aiomqtt.MqttError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            if first:
                raise TelemetryError(
                    f"cannot reach the MQTT broker {settings.display} ({reason}); "
                    "check the URL and that the broker runs."
                ) from exc
            on_change(f"reconnecting: {reason}")
            log.info("watch: %s; retrying in %.1f s", reason, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, settings.reconnect_max_s)
