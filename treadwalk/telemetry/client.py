"""``MqttTelemetry``: the session, published to an MQTT broker. The only aiomqtt user with
``watch.py``; imports ``treadwalk.core`` and its own package, nothing else of treadwalk.

A broker that is down, slow or restarted never affects the session:

- ``on_snapshot``/``on_event`` (the ``Observer``) only append to a bounded deque and return;
  when it is full the oldest message is dropped, and a warning is shown once;
- ``run()`` (or ``async with``) connects in the background, reconnects with exponential
  backoff, and on every connection re-announces availability (retained, with a last will)
  and the Home Assistant discovery configs, then drains the deque;
- with ``control`` on, commands on ``<prefix>/<id>/command`` go through ``CommandGate``
  and, if accepted, to ``submit`` as ``Command(..., source="mqtt")``; refused ones are
  published as ``command_refused`` events.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import aiomqtt

from treadwalk.core.errors import TelemetryError, UsageError
from treadwalk.core.model import Command, Limits, SessionEvent, SessionSnapshot

from .control import CommandGate, Refused
from .payloads import (
    AVAILABLE,
    NOT_AVAILABLE,
    BadCommand,
    CommandProblem,
    discovery_messages,
    dumps,
    event_payload,
    parse_command,
    refused_event_payload,
    state_payload,
)
from .settings import _TOPIC_LEVEL, MqttSettings, Topics

__all__ = ["MqttTelemetry", "TelemetryStats", "tls_context"]

log = logging.getLogger("treadwalk.telemetry")


@dataclass(frozen=True, slots=True)
class _Outgoing:
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(slots=True)
class TelemetryStats:
    """Counters, for the dashboard, tests and benchmarks."""

    connected: bool = False
    connections: int = 0
    published: int = 0
    dropped: int = 0
    accepted: int = 0
    refused: int = 0
    malformed: int = 0


def tls_context(settings: MqttSettings) -> ssl.SSLContext | None:
    """The TLS context for ``mqtts://`` (None for plain ``mqtt://``); ``TelemetryError`` if the
    certificate files do not load."""
    if not settings.tls:
        return None
    try:
        context = ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file is not None else None
        )
        if settings.cert_file is not None:
            context.load_cert_chain(
                str(settings.cert_file), str(settings.key_file) if settings.key_file else None
            )
    except (ssl.SSLError, OSError) as exc:
        raise TelemetryError(
            f"cannot load the MQTT TLS files ({exc}); check --mqtt-ca, --mqtt-cert and --mqtt-key."
        ) from exc
    return context


def make_client(
    settings: MqttSettings,
    context: ssl.SSLContext | None,
    *,
    identifier: str,
    will: aiomqtt.Will | None = None,
) -> aiomqtt.Client:
    return aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=settings.password,
        identifier=identifier,
        will=will,
        keepalive=settings.keepalive_s,
        timeout=5.0,
        tls_context=context,
        max_queued_incoming_messages=1000,
    )


class MqttTelemetry:
    """Publishes one treadmill's session; optionally takes safe remote commands.

    Use as ``async with MqttTelemetry(...) as telemetry:`` (runs in the background until the
    block ends, then flushes briefly and says "offline"), or run ``run()`` as a task.
    """

    def __init__(
        self,
        settings: MqttSettings,
        treadmill_id: str,
        *,
        submit: Callable[[Command], None] | None = None,
        control: bool = False,
        limits: Limits | None = None,
        name: str | None = None,
        state_interval_s: float = 1.0,
        queue_size: int = 256,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        if not _TOPIC_LEVEL.match(treadmill_id):
            raise UsageError(
                f"treadmill id {treadmill_id!r} cannot be an MQTT topic level; "
                "use letters, digits, '_', '-' or '.'."
            )
        if control and submit is None:
            raise ValueError("control needs a submit callable")
        self.settings = settings
        self.treadmill_id = treadmill_id
        self.name = name
        self.topics = Topics.of(settings.prefix, treadmill_id)
        self.control = control
        self.limits = limits or Limits()
        self.state_interval_s = state_interval_s
        self.stats = TelemetryStats()
        self._submit = submit
        self._warn = on_warning or log.warning
        self._tls = tls_context(settings)
        self._gate = CommandGate(self.limits, now=time.monotonic())
        self._queue: deque[_Outgoing] = deque(maxlen=max(1, queue_size))
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._latest: SessionSnapshot | None = None
        self._last_state: tuple[float, object, object, object] | None = None
        self._warned_drop = False
        self._warned_down = False
        self._observer_failed = False
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    # -----------------------------------------------------------------------------------------
    # Observer: called by the engine; never blocks, never raises

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        try:
            self._latest = snapshot
            key = (snapshot.phase, snapshot.segment_index, snapshot.stop_reason)
            last = self._last_state
            if last is not None and key == last[1:] and snapshot.at - last[0] < self.state_interval_s:
                return
            self._last_state = (snapshot.at, *key)
            payload = dumps(state_payload(snapshot, self.treadmill_id, self.name))
            self._enqueue(_Outgoing(self.topics.state, payload, 0, True))
        except Exception:
            self._observer_error()

    def on_event(self, event: SessionEvent) -> None:
        try:
            self._enqueue(
                _Outgoing(self.topics.event, dumps(event_payload(event, self.treadmill_id)), 1, False)
            )
        except Exception:
            self._observer_error()

    def _observer_error(self) -> None:
        if not self._observer_failed:
            self._observer_failed = True
            log.exception("MQTT telemetry could not publish a sample; the session goes on")

    def _enqueue(self, message: _Outgoing) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.stats.dropped += 1
            if not self._warned_drop:
                self._warned_drop = True
                self._warn(
                    f"MQTT broker {self.settings.display} is not keeping up: dropping the oldest "
                    "telemetry samples (the session is not affected)."
                )
        self._queue.append(message)
        self._drained.clear()
        self._wakeup.set()

    # -----------------------------------------------------------------------------------------
    # Lifecycle

    async def __aenter__(self) -> Self:
        if self._task is not None:
            raise RuntimeError("MqttTelemetry is already running")
        self._task = asyncio.create_task(self.run(), name=f"mqtt-telemetry-{self.treadmill_id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self, flush_timeout_s: float = 2.0) -> None:
        """Publish what is queued (bounded wait), say "offline", disconnect. Never raises
        a broker error."""
        task, self._task = self._task, None
        if task is None:
            return
        try:
            client = self._client
            if client is not None and not task.done():
                async with asyncio.timeout(flush_timeout_s):
                    await self._drained.wait()
                    await client.publish(
                        self.topics.availability, NOT_AVAILABLE, qos=1, retain=True, timeout=flush_timeout_s
                    )
        except (TimeoutError, aiomqtt.MqttError) as exc:
            log.info("MQTT: could not flush before closing (%s)", exc)
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    async def run(self) -> None:
        """Connect, publish, reconnect with backoff; forever, until cancelled. Never raises
        a broker error."""
        delay = self.settings.reconnect_min_s
        identifier = f"treadwalk-{self.treadmill_id}-{os.getpid()}"
        will = aiomqtt.Will(self.topics.availability, NOT_AVAILABLE, qos=1, retain=True)
        while True:
            failure: str | None = None
            served = False
            try:
                async with make_client(self.settings, self._tls, identifier=identifier, will=will) as client:
                    served = True
                    await self._serve(client)
            except* aiomqtt.MqttError as group:
                failure = str(group.exceptions[0]) or type(group.exceptions[0]).__name__
            except* Exception as group:  # a bug of ours must not end telemetry, nor the session
                failure = repr(group.exceptions[0])
                log.error("MQTT telemetry failed: %s", failure, exc_info=group.exceptions[0])
            finally:
                self._client = None
                self.stats.connected = False
                self.connected.clear()
            if served:
                delay = self.settings.reconnect_min_s
            if not self._warned_down:
                self._warned_down = True
                self._warn(
                    f"MQTT broker {self.settings.display} unavailable ({failure}); retrying in the "
                    "background (the session is not affected)."
                )
            else:
                log.info("MQTT: %s; retrying in %.1f s", failure, delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.settings.reconnect_max_s)

    async def _serve(self, client: aiomqtt.Client) -> None:
        await client.publish(self.topics.availability, AVAILABLE, qos=1, retain=True)
        if self.settings.discovery_prefix is not None:
            for topic, payload in discovery_messages(
                discovery_prefix=self.settings.discovery_prefix,
                topics=self.topics,
                treadmill_id=self.treadmill_id,
                name=self.name,
                control=self.control,
                limits=self.limits,
            ):
                await client.publish(topic, payload, qos=1, retain=True)
        if self.control:
            await client.subscribe(self.topics.command, qos=1)
        self._client = client
        self.stats.connected = True
        self.stats.connections += 1
        self.connected.set()
        if self._warned_down:
            log.warning("MQTT broker %s connected again; publishing resumed.", self.settings.display)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._publish_queue(client), name=f"mqtt-publish-{self.treadmill_id}")
            group.create_task(self._listen(client), name=f"mqtt-listen-{self.treadmill_id}")

    async def _publish_queue(self, client: aiomqtt.Client) -> None:
        while True:
            if not self._queue:
                self._drained.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            message = self._queue[0]
            await client.publish(message.topic, message.payload, qos=message.qos, retain=message.retain)
            # Dropped meanwhile (the deque overflowed while we waited)? Then it is gone already.
            if self._queue and self._queue[0] is message:
                self._queue.popleft()
            self.stats.published += 1

    async def _listen(self, client: aiomqtt.Client) -> None:
        # Iterating also notices a lost connection (it raises MqttError), control or not.
        async for message in client.messages:
            try:
                self._on_command(message)
            except Exception:
                log.exception("MQTT: a command could not be handled")

    # -----------------------------------------------------------------------------------------
    # Remote control

    def _on_command(self, message: aiomqtt.Message) -> None:
        if not self.control or not message.topic.matches(self.topics.command):
            return
        raw = message.payload
        payload = (
            raw.encode()
            if isinstance(raw, str)
            else bytes(raw)
            if isinstance(raw, bytes | bytearray)
            else b""
        )
        if not payload:
            return  # an empty payload clears a retained command: nothing to do
        try:
            request = parse_command(payload)
        except BadCommand as exc:
            if exc.problem is CommandProblem.NEVER_ALLOWED:
                self._refuse(exc.command, exc.reason, malformed=False, retained=message.retain)
            else:
                log.warning("MQTT: dropped a command payload: %s", exc.reason)
                self._refuse(exc.command, exc.reason, malformed=True, retained=message.retain)
            return
        if message.retain:
            self._refuse(request.command, "", malformed=False, retained=True)
            return
        try:
            decision = self._gate.decide(request, self._latest, time.monotonic())
        except Refused as exc:
            self._refuse(request.command, exc.reason, malformed=False, retained=False)
            return
        assert self._submit is not None
        try:
            self._submit(decision.command)
        except Exception as exc:
            log.warning("MQTT: the session did not take %s: %s", request.command, exc)
            self._refuse(
                request.command, f"the session did not take it ({exc})", malformed=False, retained=False
            )
            return
        self.stats.accepted += 1
        if decision.clamped:
            doc = refused_event_payload(
                self.treadmill_id, time.time(), request.command, decision.clamped, kind="command_clamped"
            )
            self._enqueue(_Outgoing(self.topics.event, dumps(doc), 1, False))

    def _refuse(self, command: str, reason: str, *, malformed: bool, retained: bool) -> None:
        if retained:
            reason = "retained commands are ignored (clear it: publish an empty retained message)" + (
                f"; also: {reason}" if reason else ""
            )
        if malformed:
            self.stats.malformed += 1
        self.stats.refused += 1
        log.info("MQTT: refused %s: %s", command, reason)
        doc = refused_event_payload(self.treadmill_id, time.time(), command, reason)
        self._enqueue(_Outgoing(self.topics.event, dumps(doc), 1, False))
