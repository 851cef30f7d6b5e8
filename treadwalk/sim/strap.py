"""The virtual heart-rate strap: a Heart Rate Service (0x180D) peripheral on a Bumble ``Device``.

::

    async with VirtualRadio() as radio:
        tm = VirtualTreadmill(await radio.new_device("treadwalk-sim"), clock)
        strap = VirtualStrap(await radio.new_device("treadwalk-hr"), clock, belt=tm, walker="unfit")
        async with tm, strap:
            ...   # any bleak client reads 0x2A37 notifications whose heart rate follows the belt

Its own device (own advertiser and address) on the same radio as the virtual treadmill, or on
its own HCI transport (``treadwalk sim --hr-hci SPEC``). The heart rate comes from
``treadwalk.sim.physiology`` driven by the belt's speed and incline (``belt``: anything with
``belt_speed_kmh`` and ``incline_pct``, e.g. a ``VirtualTreadmill``; None: a walker standing
still). Serves 0x2A37 (notify, once a second, with RR intervals), 0x2A38 (read: chest), 0x2A39
(write 01: reset energy expended) and Battery Service 0x180F (0x2A19 read/notify). Quirks and
faults: ``treadwalk.sim.strap_options``. Every byte goes through ``treadwalk.ftms``.

May import Bumble, ``treadwalk.ftms`` and ``treadwalk.core``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from types import TracebackType
from typing import Any, Protocol, Self

from bumble import hci
from bumble.att import ATT_Error
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

from treadwalk.core.clock import Clock
from treadwalk.ftms import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    BODY_SENSOR_LOCATION_UUID,
    HEART_RATE_CONTROL_POINT_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    RESET_ENERGY_EXPENDED,
    HeartRateMeasurement,
    SensorLocation,
    encode_battery_level,
    encode_body_sensor_location,
    encode_heart_rate_measurement,
    max_rr_intervals,
)

from ._peripheral import Advertiser, shut_down, spawn
from .physiology import Physiology, Walker
from .strap_options import StrapFault, StrapFaultKind, parse_strap_fault, parse_strap_quirks

__all__ = ["VirtualStrap", "strap_advertising_data"]

logger = logging.getLogger("treadwalk.sim.strap")

_ADVERTISE_TASK = "treadwalk-strap-advertise"
_APPEARANCE_HEART_RATE_BELT = 0x0341
ATT_HR_CONTROL_POINT_NOT_SUPPORTED = 0x80  # 0x2A39: "Control Point value not supported"


class _Belt(Protocol):
    @property
    def belt_speed_kmh(self) -> float: ...

    @property
    def incline_pct(self) -> float: ...


def strap_advertising_data(name: str) -> tuple[bytes, bytes]:
    """Advertising and scan-response data of a strap: flags, the 0x180D/0x180F UUIDs, the
    heart-rate-belt appearance and the name (in the scan response alone if it does not fit)."""
    T = AdvertisingData.Type
    uuids = bytes.fromhex("0d18") + bytes.fromhex("0f18")
    base = [
        (T.FLAGS, bytes([0x06])),
        (T.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, uuids),
        (T.APPEARANCE, _APPEARANCE_HEART_RATE_BELT.to_bytes(2, "little")),
    ]
    encoded = name.encode()
    adv = AdvertisingData([*base, (T.COMPLETE_LOCAL_NAME, encoded)])
    if len(bytes(adv)) > 31:
        adv = AdvertisingData(base)
    scan = AdvertisingData([(T.COMPLETE_LOCAL_NAME, encoded[:29])])
    return bytes(adv), bytes(scan)


class VirtualStrap:
    """A virtual chest strap whose heart rate follows a belt. See the module docstring.

    Read-only views for tests: ``bpm`` (the model's heart rate now), ``sent`` (clock time, hex
    of every 0x2A37 frame sent), ``connections``, ``away``. ``drop_link(back_after_s)`` and
    ``set_battery(pct)`` act at once.
    """

    def __init__(
        self,
        device: Device,
        clock: Clock,
        *,
        belt: _Belt | None = None,
        walker: Walker | str = "average",
        seed: int = 0,
        name: str = "treadwalk-hr",
        quirks: str | Iterable[str] = (),
        faults: Iterable[str | StrapFault] = (),
        notify_hz: float = 1.0,
        battery_pct: int = 100,
    ) -> None:
        if notify_hz <= 0:
            raise ValueError("notify_hz must be positive")
        self.device = device
        self.clock = clock
        self.belt = belt
        self.physiology = Physiology(walker, seed=seed)
        self.name = name
        self.quirks = parse_strap_quirks(quirks)
        self.faults = tuple(f if isinstance(f, StrapFault) else parse_strap_fault(f) for f in faults)
        self.notify_hz = float(notify_hz)
        self.battery_pct = battery_pct
        self.sent: list[tuple[float, str]] = []
        self._peers: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._away = False
        self._entered = False
        self._t0 = 0.0
        self._last = 0.0
        self._frames = 0
        self._frozen: bytes | None = None
        self._last_frame = encode_heart_rate_measurement(HeartRateMeasurement(0))
        self._energy_base_kj = 0.0
        self._advertiser = Advertiser(device, name, data=strap_advertising_data)
        self._build_gatt()

    # -- views ----------------------------------------------------------------------------------

    @property
    def bpm(self) -> float:
        return self.physiology.bpm

    @property
    def connections(self) -> list[Connection]:
        return list(self._peers)

    @property
    def away(self) -> bool:
        return self._away

    def sim_time(self) -> float:
        return self.clock.now() - self._t0

    # -- context manager --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a VirtualStrap serves once; make a new one")
        self._entered = True
        self._t0 = self._last = self.clock.now()
        self.device.add_services(self._services)
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self._advertise()
        self._spawn(self._run(), "treadwalk-strap-heart")
        for fault in self.faults:
            if fault.kind is StrapFaultKind.DROP:
                self._spawn(self._run_drop(fault), "treadwalk-strap-fault-drop")
        logger.info(
            "serving heart-rate strap '%s' as %s; walker %s; quirks: %s",
            self.name,
            self.device.random_address,
            self.physiology.walker.name,
            ", ".join(sorted(self.quirks)) or "none",
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.device.remove_listener(Device.EVENT_CONNECTION, self._on_connection)
        self._away = True
        await shut_down(
            self.device,
            self._tasks,
            self._advertiser,
            advertise_task=_ADVERTISE_TASK,
            logger=logger,
            what="strap",
        )

    # -- acts -----------------------------------------------------------------------------------

    def drop_link(self, back_after_s: float | None = None) -> None:
        """Drop every connection and stop advertising; advertise again after ``back_after_s``."""
        self._away = True
        logger.info(
            "strap: dropping the link%s", "" if back_after_s is None else f", back in {back_after_s:g} s"
        )
        self._spawn(self._drop(back_after_s), "treadwalk-strap-drop")

    def set_battery(self, pct: int) -> None:
        self.battery_pct = pct
        if "no_battery" in self.quirks:
            return
        frame = encode_battery_level(pct)
        for conn in list(self._peers):
            self._spawn(self._notify(conn, self._battery_char, frame), "treadwalk-strap-battery")

    # -- GATT -----------------------------------------------------------------------------------

    def _build_gatt(self) -> None:
        P = Characteristic.Properties
        self._hrm_char: Characteristic[bytes] = Characteristic(
            UUID(HEART_RATE_MEASUREMENT_UUID), P.NOTIFY, Characteristic.READABLE, b""
        )
        self._location_char: Characteristic[bytes] = Characteristic(
            UUID(BODY_SENSOR_LOCATION_UUID),
            P.READ,
            Characteristic.READABLE,
            encode_body_sensor_location(SensorLocation.CHEST),
        )
        self._cp_char: Characteristic[bytes] = Characteristic(
            UUID(HEART_RATE_CONTROL_POINT_UUID),
            P.WRITE,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_cp_write),
        )
        self._battery_char: Characteristic[bytes] = Characteristic(
            UUID(BATTERY_LEVEL_UUID),
            P.READ | P.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _c: encode_battery_level(self.battery_pct)),
        )
        self._services = [
            Service(UUID(HEART_RATE_SERVICE_UUID), [self._hrm_char, self._location_char, self._cp_char])
        ]
        if "no_battery" not in self.quirks:
            self._services.append(Service(UUID(BATTERY_SERVICE_UUID), [self._battery_char]))

    def _on_cp_write(self, _conn: Connection, value: bytes) -> None:
        if bytes(value) != RESET_ENERGY_EXPENDED:
            raise ATT_Error(ATT_HR_CONTROL_POINT_NOT_SUPPORTED)
        self._energy_base_kj = self.physiology.energy_kj
        logger.info("strap: energy expended reset")

    async def _advertise(self) -> None:
        await self._advertiser.start(when=lambda: not self._away and not self._peers)

    def _on_connection(self, connection: Connection) -> None:
        if self._away:
            self._spawn(connection.disconnect(), "treadwalk-strap-refuse")
            return
        self._peers.add(connection)
        connection.on(
            Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason)
        )
        logger.info("strap: connected: %s", connection.peer_address)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        self._peers.discard(connection)
        logger.info("strap: disconnected: %s (reason 0x%02x)", connection.peer_address, reason)
        if not self._away:
            self._spawn(self._advertise(), _ADVERTISE_TASK)

    async def _drop(self, back_after_s: float | None) -> None:
        await self._advertiser.stop()
        for conn in list(self.device.connections.values()):
            await conn.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)
        if back_after_s is None:
            return
        await self.clock.sleep(back_after_s)
        self._away = False
        logger.info("strap: the link is back: advertising again")
        await self._advertise()

    async def _run_drop(self, fault: StrapFault) -> None:
        await self.clock.sleep_until(self._t0 + fault.at_s)
        logger.info("strap: fault %s", fault.spec)
        self.drop_link(fault.for_s)

    # -- the heart ------------------------------------------------------------------------------

    def _active(self, kind: StrapFaultKind) -> bool:
        t = self.sim_time()
        return any(f.kind is kind and f.active(t) for f in self.faults)

    def _frame(self, rr_ms: list[float]) -> bytes:
        """The next 0x2A37 frame, quirks and faults applied."""
        if self._active(StrapFaultKind.FROZEN):
            if self._frozen is None:
                self._frozen = self._last_frame
            return self._frozen
        self._frozen = None
        wide = "uint16" in self.quirks
        contact_feature = "no_contact_feature" not in self.quirks
        contact = not self._active(StrapFaultKind.CONTACT_LOST)
        bpm = round(self.physiology.bpm)
        if not contact and not contact_feature:
            bpm = 0
        if self._active(StrapFaultKind.ZERO):
            bpm = 0
        if self._active(StrapFaultKind.INVALID):
            bpm = 255
        energy = None
        if "energy" in self.quirks and self._frames % 10 == 0:
            energy = min(0xFFFF, int(self.physiology.energy_kj - self._energy_base_kj))
        rr: tuple[int, ...] | None = None
        if "no_rr" not in self.quirks and contact:
            limit = max_rr_intervals(wide=wide, energy=energy is not None)
            rr = tuple(min(0xFFFF, round(ms * 1024 / 1000)) for ms in rr_ms[-limit:])
        return encode_heart_rate_measurement(
            HeartRateMeasurement(
                heart_rate_bpm=bpm,
                wide=wide,
                contact_supported=contact_feature,
                contact_detected=contact_feature and contact,
                energy_kj=energy,
                rr_raw=rr,
            )
        )

    def _advance(self) -> list[float]:
        now = self.clock.now()
        dt, self._last = now - self._last, now
        speed = self.belt.belt_speed_kmh if self.belt is not None else 0.0
        grade = self.belt.incline_pct if self.belt is not None else 0.0
        self.physiology.step(dt, speed, grade)
        return self.physiology.beats(dt)

    async def _run(self) -> None:
        period = 1.0 / self.notify_hz
        deadline = self.clock.now()
        while True:
            deadline += period
            now = self.clock.now()
            if now > deadline + period:  # fell behind: skip, do not burst
                deadline = now + period
            await self.clock.sleep_until(deadline)
            rr = self._advance()
            frame = self._frame(rr)
            self._last_frame = frame
            self._frames += 1
            for conn in list(self._peers):
                await self._notify(conn, self._hrm_char, frame)

    async def _notify(self, conn: Connection, char: Characteristic[Any], value: bytes) -> None:
        if conn not in self._peers:
            return
        cccd = self.device.gatt_server.read_cccd(conn, char)
        if not (int.from_bytes(cccd[:2], "little") & 0x01):
            return
        try:
            await self.device.notify_subscriber(conn, char, value, force=True)
        except Exception as exc:  # the link went away between the check and the send
            logger.debug("strap notify failed: %s", exc)
            return
        if char is self._hrm_char:
            self.sent.append((self.clock.now(), value.hex()))

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        spawn(self._tasks, coro, name, logger=logger)
