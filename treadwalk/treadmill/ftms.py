"""``FtmsTreadmill``: the ``Treadmill`` port over bleak's public API — the one piece that touches a
real belt with a person on it.

Policy lives here (httpx's client/transport split): control, serialised commands, timeouts and
confirmation from data, clamping onto the machine's grid and the walker's caps, following the
machine's own buttons, reconnecting. The wire is bleak with whatever backend the caller gives
(the OS stack by default; ``treadwalk.radio`` for the virtual treadmill or an HCI transport).

Imports: bleak, bleak-retry-connector, treadwalk.ftms, treadwalk.core, treadwalk.treadmill.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, Self

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError, BleakGATTProtocolError
from bleak_retry_connector import BleakNotFoundError, establish_connection

from treadwalk import ftms
from treadwalk.core.clock import Clock
from treadwalk.core.errors import (
    CommandRejected,
    ConnectionLost,
    DecodeError,
    DeviceNotFound,
    Timeout,
    TreadmillError,
)
from treadwalk.core.model import (
    BeltState,
    Capabilities,
    ConnectionChanged,
    ConnectionState,
    ControlLost,
    Limits,
    MachineEvent,
    MachineStarted,
    MachineStopped,
    TargetChanged,
    TreadmillState,
)
from treadwalk.core.units import KM_PER_MILE, Grid, snap

from .port import Applied
from .quirks import Quirks, quirks_for

__all__ = ["BleakBackends", "FtmsTreadmill"]

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")
# Used when a machine has no 0x2AD4 (it then cannot take speed targets anyway).
_DEFAULT_SPEED = Grid(0.5, 20.0, 0.1)
# The belt counts as stopped by the machine when it reads 0 this long after having moved.
_STOPPED_AFTER_S = 2.0


class BleakBackends(Protocol):
    """Anything carrying a bleak client and scanner backend (``treadwalk.radio`` radios)."""

    @property
    def client_backend(self) -> type[BaseBleakClient]: ...

    @property
    def scanner_backend(self) -> type[BaseBleakScanner]: ...


def _result_name(result: int) -> str:
    try:
        return ftms.ResultCode(result).name.lower().replace("_", " ")
    except ValueError:
        return f"result 0x{result:02x}"


def _clamp(value: float, grid: Grid, cap: float | None, what: str, unit: str) -> Applied:
    """Clamp to the machine's range and the walker's cap, round onto the grid, say why if clamped
    (rounding onto the grid alone is not a clamp)."""
    reason = None
    if cap is not None and value > cap + 1e-9 and cap < grid.maximum:
        reason = f"above your max {what} {cap:g} {unit}"
    elif value > grid.maximum + 1e-9:
        reason = f"above the treadmill's max {grid.maximum:g} {unit}"
    elif value < grid.minimum - 1e-9:
        reason = f"below the treadmill's min {grid.minimum:g} {unit}"
    return Applied(
        requested=value, value=snap(value, grid, cap=cap), clamped=reason is not None, reason=reason
    )


def _confirmation(
    reported_target: Callable[[], float | None],
    actual: Callable[[], float | None],
    target: float,
    *,
    near: float,
    moved: float,
) -> Callable[[], bool]:
    """For a machine that does not answer: the target was taken when the machine reports it as
    its target, or the belt (or incline motor) has reached it or is clearly moving toward it —
    belts and motors take seconds to get there."""
    start = actual()

    def confirmed() -> bool:
        t = reported_target()
        if t is not None and abs(t - target) < near:
            return True
        now = actual()
        if now is None:
            return False
        if abs(now - target) < near:
            return True
        if start is None:
            return False
        return (target - start) * (now - start) > 0 and abs(now - start) >= min(
            moved, abs(target - start) / 2
        )

    return confirmed


class FtmsTreadmill:
    """A treadmill reached over FTMS. Use as ``async with FtmsTreadmill(...) as tm:``.

    ``target`` is an address, an advertised name, or a ``BLEDevice``. ``radio`` gives the bleak
    backends (None: the OS Bluetooth stack). Nothing moves the belt until ``start()``.
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
        self._quirks = quirks if isinstance(quirks, Quirks) else Quirks()
        self._reconnect_grace_s = reconnect_grace_s
        self._scan_timeout_s = scan_timeout_s
        self._backoff_s = backoff_s or (1.0,)
        self._connect_attempts = connect_attempts

        self._client: BleakClient | None = None
        self._device: BLEDevice | None = None
        self._caps = Capabilities(speed=_DEFAULT_SPEED, incline=None)
        self._state = TreadmillState()
        self._connection = ConnectionState.DISCONNECTED
        self._subscribers: set[asyncio.Queue[MachineEvent | None]] = set()
        self._assembler = ftms.TreadmillDataAssembler()
        self._cp_char: BleakGATTCharacteristic | None = None
        self._cp_with_response = True
        self._cmd_lock = asyncio.Lock()
        self._pending: tuple[int, asyncio.Future[ftms.ControlResponse]] | None = None
        self._updated = asyncio.Event()
        self._connected = asyncio.Event()
        self._has_control = False
        self._started_by_us = False
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._control_task: asyncio.Task[None] | None = None
        self._last_write = float("-inf")
        self._moved_since_start = False
        self._zero_since: float | None = None
        self._last_speed_target: float | None = None  # km/h, as applied
        self._last_incline_target: float | None = None
        self._frames = 0  # complete treadmill-data records received
        self._unanswered = 0  # control-point requests in a row that got no answer
        self._training_status: int | None = None
        self._echo_until: dict[int, float] = {}  # status op -> loop time until which it is our echo
        self.quirks_source = "spec"
        self.raw_log: list[tuple[float, str, str, str]] | None = None  # (t, char, direction, hex)

    # ------------------------------------------------------------------ port: properties

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def state(self) -> TreadmillState:
        return self._state

    @property
    def connection(self) -> ConnectionState:
        return self._connection

    @property
    def quirks(self) -> Quirks:
        return self._quirks

    @property
    def has_control(self) -> bool:
        return self._has_control

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
            if self._started_by_us and self._state.belt is not BeltState.STOPPED and self._link_up():
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
        if device is None:
            raise DeviceNotFound(
                f"No treadmill '{target}' answered within {self._scan_timeout_s:g} s; check it is on and not "
                "connected to another app, then run 'treadwalk scan'."
            )
        return device

    async def _connect_once(self) -> None:
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
        try:
            await self._setup(client)
        except (BleakError, TimeoutError) as exc:
            raise ConnectionLost(f"The link dropped while setting up ({exc}); try again.") from exc
        self._connected.set()
        self._set_connection(ConnectionState.CONNECTED, "connected")

    async def _setup(self, client: BleakClient) -> None:
        services = client.services
        if services.get_service(ftms.FTMS_SERVICE_UUID) is None:
            raise TreadmillError(
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
        self.quirks_source = "known machine" if quirks != Quirks() else "spec"
        if isinstance(self._quirk_arg, Quirks):
            quirks = self._quirk_arg
            self.quirks_source = "given"
        elif self._quirk_arg:
            quirks = quirks.with_overrides(self._quirk_arg)
            self.quirks_source = "config"
        self._quirks = quirks

        features = ftms.Features(0, 0)
        if (raw := await read(ftms.FEATURE_UUID)) is not None:
            with contextlib.suppress(DecodeError):
                features = ftms.decode_features(raw)

        speed = _DEFAULT_SPEED
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
        self._caps = Capabilities(
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

        cp = services.get_characteristic(ftms.CONTROL_POINT_UUID)
        self._cp_char = cp
        if cp is not None:
            self._cp_with_response = "write" in cp.properties
        self._assembler = ftms.TreadmillDataAssembler()
        subscriptions: list[tuple[str, Callable[[BleakGATTCharacteristic, bytearray], None]]] = [
            (ftms.TREADMILL_DATA_UUID, self._on_data),
            (ftms.MACHINE_STATUS_UUID, self._on_status),
            (ftms.TRAINING_STATUS_UUID, self._on_training),
            (ftms.CONTROL_POINT_UUID, self._on_cp),
        ]
        for uuid, callback in subscriptions:
            char = services.get_characteristic(uuid)
            if char is not None and ({"notify", "indicate"} & set(char.properties)):
                await client.start_notify(char, callback)

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
        self._has_control = False
        if self._pending is not None and not self._pending[1].done():
            self._pending[1].set_exception(ConnectionLost("The link dropped while waiting for an answer."))
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
                async with asyncio.timeout(max(0.1, deadline - loop.time())):
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
            async with self._cmd_lock:
                await self._request_control_locked()
        loop = asyncio.get_running_loop()
        frames0 = self._frames
        speeds: list[float] = []
        first_at = 0.0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(4.0):
                while len(speeds) < 2:
                    await self._wait_update()
                    speed = self._state.speed_kmh
                    if self._frames == frames0 or speed is None:
                        continue
                    if not speeds:
                        speeds.append(speed)
                        first_at = loop.time()
                    elif loop.time() - first_at >= 0.5:
                        speeds.append(speed)
        post_workout = self._training_status == ftms.TrainingStatusCode.POST_WORKOUT
        running = bool(speeds) and speeds[-1] > 0 and speeds[-1] >= speeds[0] - 0.05 and not post_workout
        if not running:
            was = self._state.belt
            self._state = self._replace_state(belt=BeltState.STOPPED)
            self._moved_since_start = False
            log.info("after reconnect the belt stands or is stopping; not restarting it")
            if was in (BeltState.RUNNING, BeltState.UNKNOWN):
                self._emit(MachineStopped(at=self._clock.now(), paused=False, by="unknown"))
            return
        with contextlib.suppress(TreadmillError):
            if self._last_speed_target is not None:
                await self.set_speed(self._last_speed_target)
            if self._last_incline_target is not None and self._caps.incline is not None:
                await self.set_incline(self._last_incline_target)

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

    def _replace_state(self, **changes: Any) -> TreadmillState:
        from dataclasses import replace

        return replace(self._state, **changes)

    def _notify_update(self) -> None:
        self._updated.set()
        self._updated = asyncio.Event()

    async def _wait_update(self) -> None:
        await self._updated.wait()

    def _is_echo(self, op: int) -> bool:
        until = self._echo_until.get(op)
        return until is not None and asyncio.get_running_loop().time() <= until

    def _on_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        self._log_raw(ftms.TREADMILL_DATA_UUID, "notify", raw)
        try:
            record = self._assembler.feed(raw)
        except DecodeError as exc:
            log.warning("ignoring a treadmill data frame: %s", exc)
            return
        if record is None:
            return
        self._frames += 1
        now = self._clock.now()
        s = self._state
        speed = record.speed_kmh
        avg_speed = record.avg_speed_kmh
        if self._quirks.data_in_mph:  # the console is set to miles and reports mph as km/h (P11)
            speed = None if speed is None else round(speed * KM_PER_MILE, 2)
            avg_speed = None if avg_speed is None else round(avg_speed * KM_PER_MILE, 2)
        changes: dict[str, Any] = {"at": now}
        if speed is not None:
            changes["speed_kmh"] = speed
        for field, value in (
            ("incline_pct", record.incline_pct),
            ("distance_m", record.distance_m),
            ("elapsed_s", record.elapsed_s),
            ("energy_kcal", record.energy_total_kcal),
            ("heart_rate_bpm", record.heart_rate_bpm),
            ("steps", record.steps),
            ("avg_speed_kmh", avg_speed),
            ("elevation_gain_m", record.elevation_gain_m),
            ("remaining_s", record.remaining_s),
            ("power_w", record.power_w),
        ):
            if value is not None:
                changes[field] = value
        if record.heart_rate_bpm == 0:
            changes["heart_rate_bpm"] = None  # no strap: 0 is "not measured"
        belt = s.belt
        if speed is not None:
            if speed > 0:
                self._zero_since = None
                if belt is BeltState.RUNNING:
                    self._moved_since_start = True
                elif belt is BeltState.UNKNOWN:
                    belt = BeltState.RUNNING
                    self._moved_since_start = True
            elif belt is BeltState.RUNNING and self._moved_since_start:
                # No status from the machine, but the belt stands: it was stopped on the console.
                if self._zero_since is None:
                    self._zero_since = now
                elif now - self._zero_since >= _STOPPED_AFTER_S:
                    belt = BeltState.STOPPED
                    self._moved_since_start = False
                    if not self._is_echo(ftms.StatusOp.STOPPED_OR_PAUSED_BY_USER):
                        self._emit(MachineStopped(at=now, paused=False, by="unknown"))
            elif belt is BeltState.UNKNOWN:
                belt = BeltState.STOPPED
        changes["belt"] = belt
        self._state = self._replace_state(**changes)
        self._notify_update()

    def _on_training(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        self._log_raw(ftms.TRAINING_STATUS_UUID, "notify", raw)
        with contextlib.suppress(DecodeError):
            self._training_status = ftms.decode_training_status(raw).status

    def _on_status(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        self._log_raw(ftms.MACHINE_STATUS_UUID, "notify", raw)
        try:
            status = ftms.decode_machine_status(raw)
        except DecodeError as exc:
            log.warning("ignoring a machine status frame: %s", exc)
            return
        now = self._clock.now()
        op = status.op
        echo = self._is_echo(op)
        S = ftms.StatusOp
        if op == S.STOPPED_OR_PAUSED_BY_USER:
            paused = status.params.get("control") == 2
            self._state = self._replace_state(belt=BeltState.PAUSED if paused else BeltState.STOPPED)
            self._moved_since_start = False
            if not echo:
                self._emit(MachineStopped(at=now, paused=paused, by="user"))
        elif op == S.STOPPED_BY_SAFETY_KEY:
            self._state = self._replace_state(belt=BeltState.STOPPED)
            self._moved_since_start = False
            self._emit(MachineStopped(at=now, paused=False, by="safety_key"))
        elif op == S.STARTED_OR_RESUMED_BY_USER:
            self._state = self._replace_state(belt=BeltState.RUNNING)
            if not echo:
                self._emit(MachineStarted(at=now))
        elif op == S.RESET:
            self._has_control = False
            self._state = self._replace_state(belt=BeltState.STOPPED)
        elif op == S.TARGET_SPEED_CHANGED:
            kmh = float(status.params.get("target_speed_kmh", 0.0))
            if self._quirks.targets_in_mph:
                kmh = round(kmh * KM_PER_MILE, 2)
            # The machine may echo our target snapped onto its own grid (mph machines): half a step.
            ours = (
                self._last_speed_target is not None
                and abs(kmh - self._last_speed_target) <= self._caps.speed.step / 2 + 0.011
            )
            self._state = self._replace_state(target_speed_kmh=kmh)
            if not (ours and echo) and self._state.belt is not BeltState.STOPPED:
                self._emit(TargetChanged(at=now, speed_kmh=kmh, by_us=ours and echo))
        elif op == S.TARGET_INCLINE_CHANGED:
            pct = float(status.params.get("target_incline_pct", 0.0))
            incline_step = self._caps.incline.step if self._caps.incline is not None else 0.1
            ours = (
                self._last_incline_target is not None
                and abs(pct - self._last_incline_target) <= incline_step / 2 + 0.051
            )
            self._state = self._replace_state(target_incline_pct=pct)
            if not (ours and echo) and self._state.belt is not BeltState.STOPPED:
                self._emit(TargetChanged(at=now, incline_pct=pct, by_us=ours and echo))
        elif op == S.CONTROL_PERMISSION_LOST:
            self._has_control = False
            self._emit(ControlLost(at=now))
            if self._control_task is None or self._control_task.done():
                self._control_task = asyncio.get_running_loop().create_task(
                    self._regain_control(), name="treadwalk.treadmill.regain-control"
                )
        self._notify_update()

    def _on_cp(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        raw = bytes(data)
        self._log_raw(ftms.CONTROL_POINT_UUID, "indicate", raw)
        try:
            response = ftms.decode_control_response(raw)
        except DecodeError as exc:
            log.warning("ignoring a control point frame: %s", exc)
            return
        pending = self._pending
        if pending is not None and pending[0] == response.request_op and not pending[1].done():
            pending[1].set_result(response)

    async def _regain_control(self) -> None:
        """Control lost (0xFF): ask once more; if refused, say so and do not fight."""
        try:
            async with self._cmd_lock:
                await self._request_control_locked()
        except TreadmillError as exc:
            log.warning("control lost and not regained: %s", exc)
            self._set_connection(ConnectionState.CONTROL_LOST, "another app or the console has control")
            return
        self._emit(ControlLost(at=self._clock.now(), regained=True))

    # ------------------------------------------------------------------ commands

    async def _write(self, client: BleakClient, payload: bytes) -> None:
        loop = asyncio.get_running_loop()
        wait = self._last_write + self._quirks.min_write_interval_s - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        assert self._cp_char is not None
        self._log_raw(ftms.CONTROL_POINT_UUID, "write", payload)
        self._last_write = loop.time()
        await client.write_gatt_char(self._cp_char, payload, response=self._cp_with_response)

    async def _exchange(
        self, payload: bytes, what: str, confirm: Callable[[], bool] | None = None
    ) -> ftms.ControlResponse | None:
        """One control-point write and its answer. Returns None when confirmed from data instead."""
        client = await self._ensure_link()
        if self._cp_char is None:
            raise CommandRejected(
                f"The treadmill has no control point, so it cannot {what}; control it with its own buttons.",
                op=payload[0],
                result=ftms.ResultCode.NOT_SUPPORTED,
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ftms.ControlResponse] = loop.create_future()
        self._pending = (payload[0], future)
        try:
            try:
                await self._write(client, payload)
            except BleakGATTProtocolError as exc:
                raise CommandRejected(
                    f"The treadmill refused to {what} (ATT error {exc}); try again, or use its own buttons.",
                    op=payload[0],
                    result=0,
                ) from exc
            except (BleakError, EOFError, OSError) as exc:
                raise ConnectionLost(f"The link dropped while asking the treadmill to {what}.") from exc
            # A machine that has left two requests unanswered (KingSmith: P7) gets a short wait:
            # its answers come as data, and the walker should not wait seconds for every change.
            wait_s = (
                self._quirks.response_timeout_s
                if self._unanswered < 2
                else min(0.5, self._quirks.response_timeout_s)
            )
            try:
                async with asyncio.timeout(wait_s):
                    response = await asyncio.shield(future)
                self._unanswered = 0
                return response
            except TimeoutError:
                self._unanswered += 1
            # No answer (some machines never answer): confirm the effect from data or status.
            if confirm is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(3.0):
                        while not confirm():
                            await self._wait_update()
                        log.info("no answer to %s; confirmed from the machine's data", what)
                        return None
            raise Timeout(
                f"The treadmill did not answer when asked to {what}; check it shows no error, "
                "and use its own buttons if the belt does not do what you expect."
            )
        finally:
            self._pending = None
            if not future.done():
                future.cancel()

    async def _request_control_locked(self, *, lenient: bool = False) -> None:
        """Request Control. ``lenient``: an 'operation failed' answer is not a refusal — KingSmith
        answers its first Request Control so and then obeys (REFERENCE.md P7); the command that
        follows is confirmed from data, and a real refusal shows there as 'control not permitted'."""
        response = await self._exchange(ftms.request_control(), "give control", confirm=None)
        if lenient and response is not None and response.result == ftms.ResultCode.OPERATION_FAILED:
            log.info("Request Control answered 'operation failed'; going on, confirming from data")
            self._has_control = True
            return
        if response is not None and response.result != ftms.ResultCode.SUCCESS:
            raise CommandRejected(
                f"The treadmill refused control ({_result_name(response.result)}); close other apps "
                "connected to it, or enable remote control on its console.",
                op=ftms.OpCode.REQUEST_CONTROL,
                result=response.result,
            )
        self._has_control = True

    async def _command(
        self,
        payload: bytes,
        what: str,
        *,
        confirm: Callable[[], bool] | None = None,
        echo: tuple[int, ...] = (),
        ok_results: tuple[int, ...] = (),
    ) -> None:
        async with self._cmd_lock:
            if not self._has_control or self._quirks.control_before_every_write:
                try:
                    await self._request_control_locked(lenient=confirm is not None)
                except Timeout:
                    # KingSmith answers Request Control with nothing: go on, confirm from data, and
                    # do not ask again before every command.
                    if confirm is None:
                        raise
                    self._has_control = True
            loop = asyncio.get_running_loop()
            for op in echo:
                self._echo_until[op] = loop.time() + 3.0
            response = await self._exchange(payload, what, confirm)
            if response is None:
                return
            result = response.result
            if result == ftms.ResultCode.CONTROL_NOT_PERMITTED:
                # Control went away without a 0xFF (e.g. a reset on the console): ask once more.
                self._has_control = False
                await self._request_control_locked()
                response = await self._exchange(payload, what, confirm)
                if response is None:
                    return
                result = response.result
            if result != ftms.ResultCode.SUCCESS and result not in ok_results:
                raise CommandRejected(
                    f"The treadmill refused to {what} ({_result_name(result)}).",
                    op=payload[0],
                    result=result,
                )

    async def start(self) -> None:
        """Start or resume the belt. Never sent to a belt that already runs (it pauses some pads)."""
        belt = self._state.belt
        if belt is BeltState.RUNNING and (self._state.speed_kmh or 0) > 0:
            self._started_by_us = True
            return
        if (
            self._quirks.no_start_while_running
            and belt is BeltState.UNKNOWN
            and (self._state.speed_kmh or 0) > 0
        ):
            return
        await self._command(
            ftms.start_or_resume(),
            "start the belt",
            confirm=lambda: (self._state.speed_kmh or 0) > 0,
            echo=(ftms.StatusOp.STARTED_OR_RESUMED_BY_USER,),
            ok_results=(ftms.ResultCode.OPERATION_FAILED,) if (self._state.speed_kmh or 0) > 0 else (),
        )
        self._started_by_us = True
        self._moved_since_start = False
        self._zero_since = None
        self._state = self._replace_state(belt=BeltState.RUNNING)

    async def pause(self) -> None:
        await self._command(
            ftms.pause(),
            "pause the belt",
            confirm=lambda: self._state.belt is BeltState.PAUSED or (self._state.speed_kmh or 0) == 0,
            echo=(ftms.StatusOp.STOPPED_OR_PAUSED_BY_USER,),
            ok_results=(ftms.ResultCode.OPERATION_FAILED,),  # already stopped or paused
        )
        self._state = self._replace_state(belt=BeltState.PAUSED)

    async def stop(self) -> None:
        """Stop the belt. Safe to call in any state (a stopped belt answers 'operation failed')."""
        await self._command(
            ftms.stop(),
            "stop the belt",
            confirm=lambda: self._state.belt is BeltState.STOPPED or (self._state.speed_kmh or 0) == 0,
            echo=(ftms.StatusOp.STOPPED_OR_PAUSED_BY_USER,),
            # "operation failed" means "already stopped" only when the machine says so: a belt
            # still turning after a refused Stop is not stopped (safety rule 7)
            ok_results=(ftms.ResultCode.OPERATION_FAILED,) if self._already_stopping() else (),
        )
        self._state = self._replace_state(belt=BeltState.STOPPED)
        self._started_by_us = False

    def _already_stopping(self) -> bool:
        """The machine said it stopped (its console, its safety key) or reports no speed."""
        return self._state.belt is BeltState.STOPPED or (self._state.speed_kmh or 0) == 0

    def clamp_speed(self, speed_kmh: float) -> Applied:
        """Where ``speed_kmh`` lands on this machine: clamped to its range and the walker's cap,
        rounded (never truncated) onto its increment."""
        return _clamp(speed_kmh, self._caps.speed, self._limits.max_speed_kmh, "speed", "km/h")

    def clamp_incline(self, incline_pct: float) -> Applied:
        grid = self._caps.incline
        if grid is None:
            return Applied(incline_pct, 0.0, clamped=incline_pct != 0, reason="this treadmill has no incline")
        return _clamp(incline_pct, grid, self._limits.max_incline_pct, "incline", "%")

    async def set_speed(self, speed_kmh: float) -> Applied:
        applied = self.clamp_speed(speed_kmh)
        wire = applied.value / KM_PER_MILE if self._quirks.targets_in_mph else applied.value
        await self._set_target(applied, ftms.set_target_speed(wire), incline=False)
        return applied

    async def set_incline(self, incline_pct: float) -> Applied:
        applied = self.clamp_incline(incline_pct)
        if self._caps.incline is not None:
            await self._set_target(applied, ftms.set_target_incline(applied.value), incline=True)
        return applied

    async def _set_target(self, applied: Applied, payload: bytes, *, incline: bool) -> None:
        target = applied.value
        attr = "_last_incline_target" if incline else "_last_speed_target"
        if incline:
            confirmed = _confirmation(
                lambda: self._state.target_incline_pct,
                lambda: self._state.incline_pct,
                target,
                near=0.06,
                moved=0.2,
            )
            what, status = f"set the incline to {target:g} %", ftms.StatusOp.TARGET_INCLINE_CHANGED
        else:
            confirmed = _confirmation(
                lambda: self._state.target_speed_kmh,
                lambda: self._state.speed_kmh,
                target,
                near=0.05,
                moved=0.1,
            )
            what, status = f"set the speed to {target:g} km/h", ftms.StatusOp.TARGET_SPEED_CHANGED
        previous = getattr(self, attr)
        setattr(self, attr, target)  # set first: the machine's echo of this target is ours
        try:
            await self._command(payload, what, confirm=confirmed, echo=(status,))
        except BaseException:
            setattr(self, attr, previous)
            raise
        field = "target_incline_pct" if incline else "target_speed_kmh"
        self._state = self._replace_state(**{field: target})
