"""``FtmsTreadmill``: the ``Treadmill`` port over bleak's public API — the one piece that touches a
real belt with a person on it. This module is the connection shell; the policy lives in two parts:

- ``tracker.MachineTracker`` (pure): notifications -> ``TreadmillState`` and machine events
  (belt inference, echo detection, console changes);
- ``control.ControlPoint``: the control-point protocol (one exchange at a time, confirmation
  from data, per-model leniency);

and here: finding the machine, connecting through bleak-retry-connector, reading its ranges and
identity, subscribing, reconnecting within a grace period without ever restarting a stopped belt,
and the port's methods (clamping onto the machine's grid and the walker's caps, safety rule 3).
The wire is bleak with whatever backend the caller gives (the OS stack by default;
``treadwalk.radio`` for the virtual treadmill or an HCI transport).

Imports: bleak, bleak-retry-connector, treadwalk.ftms, treadwalk.core, treadwalk.treadmill.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, Self

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError
from bleak_retry_connector import BleakNotFoundError, clear_cache, establish_connection

from treadwalk import ftms
from treadwalk.core import bluez
from treadwalk.core.axis import Quantity, Range
from treadwalk.core.clock import Clock
from treadwalk.core.errors import CommandRejected, ConnectionLost, DecodeError, DeviceNotFound, TreadmillError
from treadwalk.core.model import (
    BeltState,
    Capabilities,
    ConnectionChanged,
    ConnectionState,
    ControlLost,
    Limits,
    MachineEvent,
    TreadmillState,
)
from treadwalk.core.radio_gate import Turn, gate
from treadwalk.core.units import KM_PER_MILE, Grid

from .control import ControlPoint, confirmation
from .port import Applied
from .quirks import Quirks, QuirksSource, quirks_for
from .tracker import DEFAULT_SPEED, MachineTracker

__all__ = ["BleakBackends", "FtmsTreadmill"]

log = logging.getLogger(__name__)

# bleak's BlueZ backend: StartNotify, never AcquireNotify (which loses what the machine sends
# before the subscription is set up); explicit, so a change of bleak's default changes nothing here
_NOTIFY_KWARGS: dict[str, Any] = {"bluez": {"use_start_notify": True}}
# BlueZ "operation already in progress": waits before trying again, then the advice
_IN_PROGRESS_BACKOFF_S = (0.5, 1.0, 2.0)

_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")
# Confirmation from data, per axis: within ``near`` of the target, or moved ``moved`` toward it;
# and the status op that echoes a change of it.
_CONFIRM: dict[Quantity, tuple[float, float, int]] = {
    Quantity.SPEED: (0.05, 0.1, ftms.StatusOp.TARGET_SPEED_CHANGED),
    Quantity.INCLINE: (0.06, 0.2, ftms.StatusOp.TARGET_INCLINE_CHANGED),
}


class _MissingService(TreadmillError):
    """Connected, but the FTMS service is not among the services read (perhaps a stale cache)."""


class BleakBackends(Protocol):
    """Anything carrying a bleak client and scanner backend (``treadwalk.radio`` radios)."""

    @property
    def client_backend(self) -> type[BaseBleakClient]: ...

    @property
    def scanner_backend(self) -> type[BaseBleakScanner]: ...


class FtmsTreadmill:
    """A treadmill reached over FTMS. Use as ``async with FtmsTreadmill(...) as tm:``.

    ``target`` is an address, an advertised name, or a ``BLEDevice``. ``radio`` gives the bleak
    backends (None: the OS Bluetooth stack). Nothing moves the belt until ``start()``.
    ``limits`` is for a treadmill used on its own: a ``Session`` sets its caps here (``.limits``),
    so in a session they have one source.
    """

    def __init__(
        self,
        target: str | BLEDevice,
        *,
        clock: Clock,
        radio: BleakBackends | None = None,
        limits: Limits | None = None,
        quirks: Quirks | Mapping[str, object] | None = None,
        reconnect_grace_s: float = 30.0,
        scan_timeout_s: float = 10.0,
        backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
        connect_attempts: int = 2,
    ) -> None:
        self._target = target
        self._clock = clock
        self._client_backend = radio.client_backend if radio is not None else None
        self._scanner_backend = radio.scanner_backend if radio is not None else None
        self._limits = limits or Limits()
        self._quirk_arg = quirks
        self._reconnect_grace_s = reconnect_grace_s
        self._scan_timeout_s = scan_timeout_s
        self._backoff_s = backoff_s or (1.0,)
        self._connect_attempts = connect_attempts

        self._client: BleakClient | None = None
        self._device: BLEDevice | None = None
        self._tracker = MachineTracker(quirks=quirks if isinstance(quirks, Quirks) else Quirks())
        self._cp = ControlPoint(
            self._tracker, link=self._ensure_link, wait_update=self._wait_update, log_raw=self._log_raw
        )
        self._connection = ConnectionState.DISCONNECTED
        self._subscribers: set[asyncio.Queue[MachineEvent | None]] = set()
        self._updated = asyncio.Event()
        self._connected = asyncio.Event()
        self._started_by_us = False
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._control_task: asyncio.Task[None] | None = None
        self.quirks_source = QuirksSource.SPEC
        self.raw_log: list[tuple[float, str, str, str]] | None = None  # (t, char, direction, hex)

    # ------------------------------------------------------------------ port: properties

    @property
    def limits(self) -> Limits:
        """The walker's caps every target is clamped to (a ``Session`` sets its own here)."""
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self._limits = limits

    @property
    def capabilities(self) -> Capabilities:
        return self._tracker.caps

    @property
    def state(self) -> TreadmillState:
        return self._tracker.state

    @property
    def connection(self) -> ConnectionState:
        return self._connection

    @property
    def quirks(self) -> Quirks:
        return self._tracker.quirks

    @property
    def has_control(self) -> bool:
        return self._cp.has_control

    @property
    def tracker(self) -> MachineTracker:
        """What the machine's notifications said (state, records received, training status)."""
        return self._tracker

    async def events(self) -> AsyncIterator[MachineEvent]:
        queue: asyncio.Queue[MachineEvent | None] = asyncio.Queue(maxsize=1000)
        self._subscribers.add(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._subscribers.discard(queue)

    # ------------------------------------------------------------------ connect / close

    async def __aenter__(self) -> Self:
        self._closing = False
        self._set_connection(ConnectionState.CONNECTING, "connecting")
        try:
            async with gate().turn(Turn.TREADMILL):
                self._device = await self._find()
                await self._connect_once()
        except BaseException:
            await self._disconnect()
            self._set_connection(ConnectionState.DISCONNECTED, "could not connect")
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._started_by_us and self._tracker.state.belt is not BeltState.STOPPED and self._link_up():
                with contextlib.suppress(TreadmillError, TimeoutError):
                    async with asyncio.timeout(5.0):
                        await self.stop()
        finally:
            self._closing = True
            for task in (self._reconnect_task, self._control_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            await self._disconnect()
            self._set_connection(ConnectionState.DISCONNECTED, "closed")
            for queue in list(self._subscribers):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)

    async def _find(self) -> BLEDevice:
        if isinstance(self._target, BLEDevice):
            return self._target
        target = self._target
        kwargs: dict[str, Any] = {}
        if self._scanner_backend is not None:
            kwargs["backend"] = self._scanner_backend
        try:
            if _ADDRESS.match(target):
                device = await BleakScanner.find_device_by_address(
                    target, timeout=self._scan_timeout_s, **kwargs
                )
            else:
                device = await BleakScanner.find_device_by_name(
                    target, timeout=self._scan_timeout_s, **kwargs
                )
        except (BleakError, OSError) as exc:  # no adapter, no bluetoothd, no D-Bus socket
            from treadwalk.treadmill.discovery import no_adapter

            raise no_adapter(exc) from exc
        if device is None and self._scanner_backend is None:
            # not advertising: perhaps connected already, by another app here or a crashed run
            from treadwalk.treadmill.bluez import connected_device

            device = await connected_device(target)
        if device is None:
            raise DeviceNotFound(
                f"No treadmill '{target}' answered within {self._scan_timeout_s:g} s; check it is on and not "
                "connected to another app, then run 'treadwalk scan'."
            )
        return device

    async def _find_again(self, within_s: float) -> None:
        """Scan for the machine we had (by its address) so the connect uses what the stack knows
        now; when it is not heard, the old device is kept (BlueZ may still hold it)."""
        assert self._device is not None
        address = self._device.address
        kwargs: dict[str, Any] = {}
        if self._scanner_backend is not None:
            kwargs["backend"] = self._scanner_backend
        timeout_s = max(0.5, min(self._scan_timeout_s, within_s / 2))
        try:
            device = await BleakScanner.find_device_by_address(address, timeout=timeout_s, **kwargs)
        except (BleakError, OSError) as exc:
            log.info("scanning again for %s failed: %s", address, exc)
            return
        if device is None and self._scanner_backend is None:
            from treadwalk.treadmill.bluez import connected_device

            device = await connected_device(address)
        if device is not None:
            self._device = device

    async def _connect_once(self) -> None:
        """Connect and set up. BlueZ's "in progress" is waited out a few times; services missing
        after connecting (BlueZ's cache can be stale after a firmware update) are read again once,
        from the machine."""
        assert self._device is not None
        label = self._device.name or self._device.address
        try:
            await self._connect_and_set_up(fresh_services=False)
        except _MissingService:
            log.info("%s: the FTMS service is missing; reading the services again, uncached", label)
            await self._disconnect()
            if self._client_backend is None:  # the OS stack (BlueZ): drop its cache of this device
                with contextlib.suppress(Exception):
                    await clear_cache(self._device.address)
            try:
                await self._connect_and_set_up(fresh_services=True)
            except _MissingService as exc:
                raise TreadmillError(str(exc)) from None

    async def _connect_and_set_up(self, *, fresh_services: bool) -> None:
        assert self._device is not None
        label = self._device.name or self._device.address
        for wait_s in (*_IN_PROGRESS_BACKOFF_S, None):
            try:
                await self._establish(fresh_services=fresh_services)
                break
            except ConnectionLost as exc:
                found = bluez.problem(exc.__cause__ or exc)
                if found is bluez.BluezProblem.IN_PROGRESS and wait_s is not None:
                    log.info("BlueZ: a connection to %s is already in progress; trying again", label)
                    await asyncio.sleep(wait_s)
                    continue
                if found is not None:
                    raise TreadmillError(bluez.advice(found, label, self._device.address)) from exc
                raise
        assert self._client is not None
        try:
            await self._setup(self._client)
        except (BleakError, TimeoutError) as exc:
            if (found := bluez.problem(exc)) is not None:
                raise TreadmillError(bluez.advice(found, label, self._device.address)) from exc
            raise ConnectionLost(f"The link dropped while setting up ({exc}); try again.") from exc
        self._connected.set()
        self._set_connection(ConnectionState.CONNECTED, "connected")

    async def _establish(self, *, fresh_services: bool) -> None:
        assert self._device is not None
        kwargs: dict[str, Any] = {}
        if self._client_backend is not None:
            kwargs["backend"] = self._client_backend
        try:
            client = await establish_connection(
                BleakClient,
                self._device,
                self._device.name or self._device.address,
                disconnected_callback=self._on_disconnected,
                max_attempts=self._connect_attempts,
                use_services_cache=not fresh_services,
                **kwargs,
            )
        except BleakNotFoundError as exc:
            raise DeviceNotFound(
                f"{self._device.name or self._device.address} did not accept a connection; wake it up "
                "(press a button) and close other apps using it, then try again."
            ) from exc
        except (BleakError, TimeoutError) as exc:
            raise ConnectionLost(
                f"Could not connect to {self._device.name or self._device.address} ({exc}); move closer "
                "and try again."
            ) from exc
        self._client = client

    async def _setup(self, client: BleakClient) -> None:
        services = client.services
        if services.get_service(ftms.FTMS_SERVICE_UUID) is None:
            raise _MissingService(
                f"{client.name or client.address} has no Fitness Machine Service; it is not an FTMS "
                "treadmill (run 'treadwalk scan' to list the ones in range)."
            )

        async def read_text(uuid: str) -> str | None:
            char = services.get_characteristic(uuid)
            if char is None:
                return None
            try:
                return bytes(await client.read_gatt_char(char)).decode("utf-8", "replace").strip("\x00 ")
            except BleakError:
                return None

        async def read(uuid: str) -> bytes | None:
            char = services.get_characteristic(uuid)
            if char is None:
                return None
            data = bytes(await client.read_gatt_char(char))
            self._log_raw(uuid, "read", data)
            return data

        manufacturer = await read_text(ftms.MANUFACTURER_NAME_UUID)
        model = await read_text(ftms.MODEL_NUMBER_UUID)
        firmware = await read_text(ftms.FIRMWARE_REVISION_UUID)

        name = client.name or (self._device.name if self._device else None)
        quirks = quirks_for(name, manufacturer, model)
        self.quirks_source = QuirksSource.KNOWN_MACHINE if quirks != Quirks() else QuirksSource.SPEC
        if isinstance(self._quirk_arg, Quirks):
            quirks = self._quirk_arg
            self.quirks_source = QuirksSource.GIVEN
        elif self._quirk_arg:
            quirks = quirks.with_overrides(self._quirk_arg)
            self.quirks_source = QuirksSource.CONFIG
        self._tracker.quirks = quirks

        features = ftms.Features(0, 0)
        if (raw := await read(ftms.FEATURE_UUID)) is not None:
            with contextlib.suppress(DecodeError):
                features = ftms.decode_features(raw)

        speed = DEFAULT_SPEED
        if (raw := await read(ftms.SPEED_RANGE_UUID)) is not None:
            try:
                sr = ftms.decode_speed_range(raw)
                if sr.max_kmh > sr.min_kmh:
                    speed = Grid(sr.min_kmh, sr.max_kmh, sr.step_kmh)
            except DecodeError as exc:
                log.warning("ignoring an unreadable speed range: %s", exc)
        incline: Grid | None = None
        wants_incline = not quirks.no_incline and features.supports("inclination_target")
        if wants_incline and (raw := await read(ftms.INCLINE_RANGE_UUID)) is not None:
            try:
                ir = ftms.decode_incline_range(raw)
                if ir.max_pct > ir.min_pct:
                    incline = Grid(ir.min_pct, ir.max_pct, ir.step_pct)
            except DecodeError as exc:
                log.warning("ignoring an unreadable incline range: %s", exc)
        self._tracker.caps = Capabilities(
            speed=speed,
            incline=incline,
            features=frozenset(features.features),
            targets=frozenset(features.targets),
            name=name,
            manufacturer=manufacturer,
            model=model,
            firmware=firmware,
            address=client.address,
        )

        self._cp.attach(services.get_characteristic(ftms.CONTROL_POINT_UUID))
        self._tracker.new_link()
        subscriptions: list[tuple[str, Callable[[BleakGATTCharacteristic, bytearray], None]]] = [
            (ftms.TREADMILL_DATA_UUID, self._on_data),
            (ftms.MACHINE_STATUS_UUID, self._on_status),
            (ftms.TRAINING_STATUS_UUID, self._on_training),
            (ftms.CONTROL_POINT_UUID, self._on_cp),
        ]
        for uuid, callback in subscriptions:
            char = services.get_characteristic(uuid)
            if char is not None and ({"notify", "indicate"} & set(char.properties)):
                await client.start_notify(char, callback, **_NOTIFY_KWARGS)

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        self._connected.clear()
        if client is not None:
            with contextlib.suppress(BleakError, TimeoutError, EOFError, OSError):
                async with asyncio.timeout(5.0):
                    await client.disconnect()

    def _link_up(self) -> bool:
        return self._client is not None and self._client.is_connected

    # ------------------------------------------------------------------ reconnect

    def _on_disconnected(self, _client: BleakClient) -> None:
        if self._closing or _client is not self._client:
            return
        self._connected.clear()
        self._cp.link_lost()
        self._set_connection(ConnectionState.RECONNECTING, "link lost; reconnecting")
        if self._reconnect_task is not None and not self._reconnect_task.done():
            # Dropped again while restoring the last link (e.g. waiting for fresh data): start over.
            self._reconnect_task.cancel()
        self._reconnect_task = asyncio.get_running_loop().create_task(
            self._reconnect(), name="treadwalk.treadmill.reconnect"
        )

    async def _reconnect(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._reconnect_grace_s
        had_control = self._started_by_us
        old = self._client
        self._client = None
        if old is not None:
            with contextlib.suppress(BleakError, TimeoutError, EOFError, OSError):
                async with asyncio.timeout(2.0):
                    await old.disconnect()
        attempt = 0
        while not self._closing:
            delay = self._backoff_s[min(attempt, len(self._backoff_s) - 1)]
            if loop.time() + delay > deadline:
                break
            await asyncio.sleep(delay)
            attempt += 1
            try:
                async with asyncio.timeout(max(0.1, deadline - loop.time())), gate().turn(Turn.TREADMILL):
                    if attempt > 1:
                        # BlueZ forgets a device it is not connected to once its TemporaryTimeout
                        # passes: after a failed attempt, look for the machine again
                        await self._find_again(deadline - loop.time())
                    await self._connect_once()
            except (TreadmillError, TimeoutError) as exc:
                log.info("reconnect attempt %d failed: %s", attempt, exc)
                await self._disconnect()
                continue
            await self._after_reconnect(had_control)
            return
        if not self._closing:
            self._set_connection(
                ConnectionState.DISCONNECTED,
                f"the treadmill did not come back within {self._reconnect_grace_s:g} s",
            )

    async def _after_reconnect(self, had_control: bool) -> None:
        """Control back, targets back only if the belt still runs; never restart a stopped belt.

        Whether it runs is read from fresh data only (the state from before the drop is stale):
        two new records at least half a second apart, the belt moving and not slowing down,
        and no Post-Workout training status. A belt slowing to a stop was stopped on the console
        while we were away: that is followed, not undone.
        """
        if not had_control:
            return
        with contextlib.suppress(TreadmillError):
            async with self._cp.lock:
                await self._cp.request_control_locked()
        loop = asyncio.get_running_loop()
        frames0 = self._tracker.frames
        speeds: list[float] = []
        first_at = 0.0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(4.0):
                while len(speeds) < 2:
                    await self._wait_update()
                    speed = self._tracker.state.speed_kmh
                    if self._tracker.frames == frames0 or speed is None:
                        continue
                    if not speeds:
                        speeds.append(speed)
                        first_at = loop.time()
                    elif loop.time() - first_at >= 0.5:
                        speeds.append(speed)
        post_workout = self._tracker.training_status == ftms.TrainingStatusCode.POST_WORKOUT
        running = bool(speeds) and speeds[-1] > 0 and speeds[-1] >= speeds[0] - 0.05 and not post_workout
        if not running:
            log.info("after reconnect the belt stands or is stopping; not restarting it")
            for event in self._tracker.found_standing(self._clock.now()):
                self._emit(event)
            return
        with contextlib.suppress(TreadmillError):
            if (speed := self._tracker.last_target[Quantity.SPEED]) is not None:
                await self.set_speed(speed)
            if (
                incline := self._tracker.last_target[Quantity.INCLINE]
            ) is not None and self._tracker.caps.incline is not None:
                await self.set_incline(incline)

    async def _ensure_link(self) -> BleakClient:
        if self._connection is ConnectionState.RECONNECTING:
            remaining = self._reconnect_grace_s
            try:
                async with asyncio.timeout(remaining):
                    await self._connected.wait()
            except TimeoutError:
                pass
        client = self._client
        if client is None or not client.is_connected:
            raise ConnectionLost(
                "The treadmill is not connected; use its own buttons to stop the belt, then reconnect."
            )
        return client

    # ------------------------------------------------------------------ notifications

    def _log_raw(self, uuid: str, direction: str, data: bytes) -> None:
        if self.raw_log is not None:
            self.raw_log.append((self._clock.now(), uuid[4:8], direction, data.hex()))

    def _emit(self, event: MachineEvent) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("a machine-event subscriber is not reading; dropping an event")

    def _set_connection(self, state: ConnectionState, detail: str) -> None:
        if state is self._connection:
            return
        self._connection = state
        self._emit(ConnectionChanged(at=self._clock.now(), state=state, detail=detail))

    def _notify_update(self) -> None:
        self._updated.set()
        self._updated = asyncio.Event()

    async def _wait_update(self) -> None:
        await self._updated.wait()

    def _times(self) -> tuple[float, float]:
        return self._clock.now(), asyncio.get_running_loop().time()

    def _on_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        self._log_raw(ftms.TREADMILL_DATA_UUID, "notify", raw)
        try:
            events = self._tracker.on_data(raw, *self._times())
        except DecodeError as exc:
            log.warning("ignoring a treadmill data frame: %s", exc)
            return
        for event in events:
            self._emit(event)
        self._notify_update()

    def _on_training(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        self._log_raw(ftms.TRAINING_STATUS_UUID, "notify", raw)
        with contextlib.suppress(DecodeError):
            self._tracker.on_training(raw)

    def _on_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        self._log_raw(ftms.MACHINE_STATUS_UUID, "notify", raw)
        try:
            update = self._tracker.on_status(raw, *self._times())
        except DecodeError as exc:
            log.warning("ignoring a machine status frame: %s", exc)
            return
        if update.control_revoked:
            self._cp.has_control = False
        for event in update.events:
            self._emit(event)
        if update.regain and (self._control_task is None or self._control_task.done()):
            self._control_task = asyncio.get_running_loop().create_task(
                self._regain_control(), name="treadwalk.treadmill.regain-control"
            )
        self._notify_update()

    def _on_cp(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        self._log_raw(ftms.CONTROL_POINT_UUID, "indicate", raw)
        try:
            self._cp.on_indication(raw)
        except DecodeError as exc:
            log.warning("ignoring a control point frame: %s", exc)

    async def _regain_control(self) -> None:
        """Control lost (0xFF): ask once more; if refused, say so and do not fight."""
        if not await self._cp.regain():
            self._set_connection(ConnectionState.CONTROL_LOST, "another app or the console has control")
            return
        self._emit(ControlLost(at=self._clock.now(), regained=True))

    # ------------------------------------------------------------------ commands

    async def start(self) -> None:
        """Start or resume the belt. Never sent to a belt that already runs (it pauses some pads)."""
        belt = self._tracker.state.belt
        if belt is BeltState.RUNNING and (self._tracker.state.speed_kmh or 0) > 0:
            self._started_by_us = True
            return
        if (
            self._tracker.quirks.no_start_while_running
            and belt is BeltState.UNKNOWN
            and (self._tracker.state.speed_kmh or 0) > 0
        ):
            return
        await self._cp.command(
            ftms.start_or_resume(),
            "start the belt",
            confirm=lambda: (self._tracker.state.speed_kmh or 0) > 0,
            echo=(ftms.StatusOp.STARTED_OR_RESUMED_BY_USER,),
            ok_results=(ftms.ResultCode.OPERATION_FAILED,)
            if (self._tracker.state.speed_kmh or 0) > 0
            else (),
        )
        self._started_by_us = True
        self._tracker.started()

    async def pause(self) -> None:
        await self._cp.command(
            ftms.pause(),
            "pause the belt",
            confirm=lambda: (
                self._tracker.state.belt is BeltState.PAUSED or (self._tracker.state.speed_kmh or 0) == 0
            ),
            echo=(ftms.StatusOp.STOPPED_OR_PAUSED_BY_USER,),
            ok_results=(ftms.ResultCode.OPERATION_FAILED,),  # already stopped or paused
        )
        self._tracker.paused()

    async def stop(self) -> None:
        """Stop the belt. Safe to call in any state (a stopped belt answers 'operation failed').

        Raises:
            CommandRejected: the machine refused, and its data does not show a standing belt.
            ConnectionLost, Timeout: as every command.
        """
        try:
            await self._cp.command(
                ftms.stop(),
                "stop the belt",
                confirm=self._already_stopping,
                echo=(ftms.StatusOp.STOPPED_OR_PAUSED_BY_USER,),
                # "operation failed" means "already stopped" only when the machine says so: a belt
                # still turning after a refused Stop is not stopped (safety rule 7)
                ok_results=(ftms.ResultCode.OPERATION_FAILED,) if self._already_stopping() else (),
            )
        except CommandRejected:
            # refused (control never granted, another app holds it): a stop confirmed from the
            # machine's own fresh data is still a stop; anything else is said out loud above us
            if not self._reports_standing():
                raise
            log.info("the stop was refused, but the treadmill reports a standing belt")
        self._tracker.stopped()
        self._started_by_us = False

    def _reports_standing(self) -> bool:
        """Fresh data (the last few real seconds) from a connected machine: the belt stands."""
        state = self._tracker.state
        speedup = self._clock.speedup if math.isfinite(self._clock.speedup) else 1.0
        fresh = self._clock.now() - state.at <= 3.0 * max(1.0, speedup)
        return self._link_up() and state.speed_kmh == 0 and fresh

    def _already_stopping(self) -> bool:
        """The machine said it stopped (its console, its safety key) or reports no speed."""
        state = self._tracker.state
        return state.belt is BeltState.STOPPED or (state.speed_kmh or 0) == 0

    def _range(self, q: Quantity) -> Range | None:
        """What may be commanded on ``q``: the machine's grid under the walker's cap."""
        return Range.of(q, self._tracker.caps, self._limits)

    def clamp(self, q: Quantity, value: float) -> Applied:
        """Where ``value`` lands on this machine: clamped to its range and the walker's cap,
        rounded (never truncated) onto its increment."""
        r = self._range(q)
        if r is None:
            return Applied(value, 0.0, clamped=value != 0, reason=f"this treadmill has no {q}")
        c = r.clamp(value)
        reason = r.why(c.reason) if c.reason is not None else None
        return Applied(requested=value, value=c.value, clamped=c.clamped, reason=reason)

    def clamp_speed(self, speed_kmh: float) -> Applied:
        return self.clamp(Quantity.SPEED, speed_kmh)

    def clamp_incline(self, incline_pct: float) -> Applied:
        return self.clamp(Quantity.INCLINE, incline_pct)

    async def set_speed(self, speed_kmh: float) -> Applied:
        applied = self.clamp(Quantity.SPEED, speed_kmh)
        wire = applied.value / KM_PER_MILE if self._tracker.quirks.targets_in_mph else applied.value
        await self._set_target(Quantity.SPEED, applied, ftms.set_target_speed(wire))
        return applied

    async def set_incline(self, incline_pct: float) -> Applied:
        applied = self.clamp(Quantity.INCLINE, incline_pct)
        if self._tracker.caps.incline is not None:
            await self._set_target(Quantity.INCLINE, applied, ftms.set_target_incline(applied.value))
        return applied

    async def _set_target(self, q: Quantity, applied: Applied, payload: bytes) -> None:
        target = applied.value
        near, moved, status = _CONFIRM[q]
        confirmed = confirmation(
            lambda: q.target(self._tracker.state),
            lambda: q.actual(self._tracker.state),
            target,
            near=near,
            moved=moved,
        )
        what = f"set the {q} to {target:g} {q.unit}"
        previous = self._tracker.last_target[q]
        self._tracker.last_target[q] = target  # set first: the machine's echo of this target is ours
        try:
            await self._cp.command(payload, what, confirm=confirmed, echo=(status,))
        except BaseException:
            self._tracker.last_target[q] = previous
            raise
        self._tracker.target_confirmed(q, target)
