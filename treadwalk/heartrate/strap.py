"""``BleHeartRate``: a Bluetooth heart-rate strap (Heart Rate Service 0x180D) over bleak's public API.

The wire is bleak with whatever backend the caller gives (the OS stack by default;
``treadwalk.radio`` for the virtual strap or an HCI transport), connected through
bleak-retry-connector, like ``FtmsTreadmill``. Every 0x2A37 frame goes through
``treadwalk.ftms`` and then ``treadwalk.core.heart``'s rule; ``status()`` never raises.

A strap that drops reconnects in a background task owned by this object, with backoff and no
deadline, until the session ends. It has no way to touch the belt: it holds no treadmill.

Imports: bleak, bleak-retry-connector, treadwalk.ftms, treadwalk.core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from types import TracebackType
from typing import Any, Protocol, Self

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError
from bleak_retry_connector import BleakNotFoundError, establish_connection

from treadwalk import ftms
from treadwalk.core import bluez
from treadwalk.core.clock import Clock
from treadwalk.core.errors import DecodeError, HeartRateError
from treadwalk.core.heart import HrReading, HrSourceKind, HrStatus, HrTracker
from treadwalk.core.model import ConnectionState
from treadwalk.core.radio_gate import Turn, gate

__all__ = ["BleHeartRate", "BleakBackends"]

log = logging.getLogger(__name__)

_NOTIFY_KWARGS: dict[str, Any] = {
    "bluez": {"use_start_notify": True}
}  # never AcquireNotify (see FtmsTreadmill)
_PREEMPTED_TRIES = 3  # the treadmill cut our turn short this many times: give up for now

_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")


class BleakBackends(Protocol):
    """Anything carrying a bleak client and scanner backend (``treadwalk.radio`` radios)."""

    @property
    def client_backend(self) -> type[BaseBleakClient]: ...

    @property
    def scanner_backend(self) -> type[BaseBleakScanner]: ...


class BleHeartRate:
    """A heart-rate strap. Use as ``async with BleHeartRate("Polar H10 1234", clock=...) as hr:``.

    ``target`` is an address, an advertised name, or a ``BLEDevice``. ``radio``: the bleak
    backends (None: the OS Bluetooth stack). ``backoff_s``: waits between reconnect attempts
    (the last one repeats for as long as the session runs).
    """

    def __init__(
        self,
        target: str | BLEDevice,
        *,
        clock: Clock,
        radio: BleakBackends | None = None,
        scan_timeout_s: float = 10.0,
        backoff_s: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0),
        connect_attempts: int = 2,
    ) -> None:
        self._target = target
        self._clock = clock
        self._client_backend = radio.client_backend if radio is not None else None
        self._scanner_backend = radio.scanner_backend if radio is not None else None
        self._scan_timeout_s = scan_timeout_s
        self._backoff_s = backoff_s or (1.0,)
        self._connect_attempts = connect_attempts
        self._tracker = HrTracker(HrSourceKind.STRAP)
        self._client: BleakClient | None = None
        self._device: BLEDevice | None = None
        self._connection = ConnectionState.DISCONNECTED
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self.location: str | None = None  # body sensor location, when the strap tells
        self.reconnects = 0  # links restored after a drop
        self.bad_frames = 0  # 0x2A37 frames that did not decode

    # ------------------------------------------------------------------ port

    @property
    def kind(self) -> HrSourceKind:
        return HrSourceKind.STRAP

    @property
    def name(self) -> str | None:
        if self._device is not None:
            return self._device.name or self._device.address
        return self._target if isinstance(self._target, str) else self._target.address

    @property
    def address(self) -> str | None:
        return self._device.address if self._device is not None else None

    @property
    def connection(self) -> ConnectionState:
        return self._connection

    @property
    def latest(self) -> HrReading | None:
        return self._tracker.latest

    @property
    def battery_pct(self) -> int | None:
        return self._tracker.battery_pct

    def status(self) -> HrStatus:
        return self._tracker.status(self._clock.now())

    def take_rr(self) -> tuple[float, ...]:
        return self._tracker.take_rr()

    # ------------------------------------------------------------------ connect / close

    async def __aenter__(self) -> Self:
        self._closing = False
        self._connection = ConnectionState.CONNECTING
        try:
            for tries_left in range(_PREEMPTED_TRIES - 1, -1, -1):
                try:
                    # the strap's turn yields to the treadmill's (a reconnect): then try again
                    async with gate().turn(Turn.STRAP):
                        self._device = await self._find()
                        await self._connect_once()
                    break
                except TimeoutError:
                    await self._disconnect()
                    if not tries_left:
                        raise HeartRateError(
                            "The heart-rate strap could not connect while the treadmill was reconnecting; "
                            "try again, or run with --hr none."
                        ) from None
        except BaseException:
            await self._disconnect()
            self._connection = ConnectionState.DISCONNECTED
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        task = self._reconnect_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._disconnect()
        self._tracker.lost()
        self._connection = ConnectionState.DISCONNECTED

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
            raise HeartRateError(
                f"Bluetooth is not available for the heart-rate strap ({exc}); check the adapter, "
                "or run with --hr none."
            ) from exc
        if device is None:
            raise HeartRateError(
                f"No heart-rate strap '{target}' answered within {self._scan_timeout_s:g} s; wet the strap's "
                "electrodes and put it on (straps sleep off the skin), or run with --hr none."
            )
        return device

    async def _connect_once(self) -> None:
        assert self._device is not None
        kwargs: dict[str, Any] = {}
        if self._client_backend is not None:
            kwargs["backend"] = self._client_backend
        label = self._device.name or self._device.address
        try:
            client = await establish_connection(
                BleakClient,
                self._device,
                label,
                disconnected_callback=self._on_disconnected,
                max_attempts=self._connect_attempts,
                **kwargs,
            )
        except BleakNotFoundError as exc:
            raise HeartRateError(
                f"The heart-rate strap {label} did not accept a connection; close other apps using it "
                "(most straps take one connection), or run with --hr none."
            ) from exc
        except (BleakError, TimeoutError) as exc:
            if (found := bluez.problem(exc)) is not None:
                raise HeartRateError(self._advice(found)) from exc
            raise HeartRateError(
                f"Could not connect to the heart-rate strap {label} ({exc}); move closer and try again, "
                "or run with --hr none."
            ) from exc
        self._client = client
        try:
            await self._setup(client)
        except (BleakError, TimeoutError, EOFError, OSError) as exc:
            if (found := bluez.problem(exc)) is not None:
                raise HeartRateError(self._advice(found)) from exc
            raise HeartRateError(
                f"The heart-rate strap {label} dropped while setting up ({exc}); try again."
            ) from exc
        self._connection = ConnectionState.CONNECTED

    def _advice(self, found: bluez.BluezProblem) -> str:
        assert self._device is not None
        label = self._device.name or self._device.address
        sentence = bluez.advice(found, label, self._device.address, what="heart-rate strap")
        return sentence.removesuffix(".") + ", or run with --hr none."

    async def _find_again(self) -> None:
        """Scan for the strap we had, by address (BlueZ forgets devices it is not connected to)."""
        assert self._device is not None
        kwargs: dict[str, Any] = {}
        if self._scanner_backend is not None:
            kwargs["backend"] = self._scanner_backend
        with contextlib.suppress(BleakError, OSError):
            device = await BleakScanner.find_device_by_address(
                self._device.address, timeout=self._scan_timeout_s, **kwargs
            )
            if device is not None:
                self._device = device

    async def _setup(self, client: BleakClient) -> None:
        services = client.services
        if services.get_service(ftms.HEART_RATE_SERVICE_UUID) is None:
            raise HeartRateError(
                f"{client.name or client.address} has no Heart Rate Service; it is not a heart-rate strap "
                "(run 'treadwalk scan' to list the ones in range)."
            )
        measurement = services.get_characteristic(ftms.HEART_RATE_MEASUREMENT_UUID)
        if measurement is None or "notify" not in measurement.properties:
            raise HeartRateError(
                f"{client.name or client.address} does not send heart-rate measurements; it is not a "
                "usable heart-rate strap."
            )
        location = services.get_characteristic(ftms.BODY_SENSOR_LOCATION_UUID)
        if location is not None and "read" in location.properties:
            with contextlib.suppress(BleakError, DecodeError):
                self.location = ftms.decode_body_sensor_location(await client.read_gatt_char(location)).name
        battery = services.get_characteristic(ftms.BATTERY_LEVEL_UUID)
        if battery is not None:
            if "read" in battery.properties:
                with contextlib.suppress(BleakError):
                    self._on_battery(battery, await client.read_gatt_char(battery))
            if "notify" in battery.properties:
                with contextlib.suppress(BleakError):
                    await client.start_notify(battery, self._on_battery, **_NOTIFY_KWARGS)
        await client.start_notify(measurement, self._on_measurement, **_NOTIFY_KWARGS)

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(BleakError, TimeoutError, EOFError, OSError):
                async with asyncio.timeout(5.0):
                    await client.disconnect()

    # ------------------------------------------------------------------ notifications

    def _on_measurement(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            m = ftms.decode_heart_rate_measurement(data)
        except DecodeError as exc:
            self.bad_frames += 1
            log.debug("ignoring a heart-rate frame: %s", exc)
            return
        self._tracker.feed(
            m.heart_rate_bpm, self._clock.now(), contact=m.contact, rr_ms=m.rr_ms, energy_kj=m.energy_kj
        )

    def _on_battery(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        with contextlib.suppress(DecodeError):
            self._tracker.battery_pct = ftms.decode_battery_level(data).battery_pct

    # ------------------------------------------------------------------ reconnect

    def _on_disconnected(self, client: BleakClient) -> None:
        if self._closing or client is not self._client:
            return
        log.info("heart-rate strap %s dropped; reconnecting in the background", self.name)
        self._tracker.lost()
        self._connection = ConnectionState.RECONNECTING
        if self._reconnect_task is not None and not self._reconnect_task.done():
            self._reconnect_task.cancel()
        self._reconnect_task = asyncio.get_running_loop().create_task(
            self._reconnect(), name="treadwalk.heartrate.reconnect"
        )

    async def _reconnect(self) -> None:
        """Try again and again, with backoff, until the link is back or the session ends. Any
        failure here is logged, never raised: heart rate never stops a walk."""
        old, self._client = self._client, None
        if old is not None:
            with contextlib.suppress(BleakError, TimeoutError, EOFError, OSError):
                async with asyncio.timeout(2.0):
                    await old.disconnect()
        attempt = 0
        while not self._closing:
            await asyncio.sleep(self._backoff_s[min(attempt, len(self._backoff_s) - 1)])
            attempt += 1
            try:
                async with asyncio.timeout(self._scan_timeout_s + 20.0), gate().turn(Turn.STRAP):
                    if attempt > 1:
                        await self._find_again()
                    await self._connect_once()
            except (HeartRateError, TimeoutError, BleakError, EOFError, OSError) as exc:
                log.info("heart-rate strap reconnect attempt %d failed: %s", attempt, exc)
                await self._disconnect()
                continue
            self.reconnects += 1
            log.info("heart-rate strap %s is back", self.name)
            return
