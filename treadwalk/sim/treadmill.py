"""The virtual FTMS treadmill: a GATT server on a Bumble ``Device``, with a belt, quirks and faults.

``VirtualTreadmill(device, clock, ...)`` is an async context manager. On entry it adds the
Fitness Machine and Device Information services to the (powered-on) device, advertises the
FTMS service data, and runs the belt in a named task driven by the injected ``Clock``. Every
byte it sends or parses goes through ``treadwalk.ftms``; the belt is ``treadwalk.sim.belt``.

It enforces the FTMS control-point rules itself (REFERENCE §1.7/§1.9: Bumble's GATT server
does not check permissions): ATT 0xFD when the control point's indications are off, 0xFE while
a previous procedure is unanswered, 80 op 05 without control, 03 out of range, 02 unsupported,
04 for an illegal state. The indication follows the write response. Quirks and faults
(``treadwalk.sim.options``) bend these rules the way real treadmills do.

Imports Bumble (the sim is one of the two modules allowed to), ``treadwalk.ftms`` and
``treadwalk.core``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from bumble import hci
from bumble.att import ATT_Error
from bumble.core import UUID
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.profiles.device_information_service import DeviceInformationService

from treadwalk import __version__
from treadwalk.core.clock import Clock
from treadwalk.core.errors import DecodeError
from treadwalk.core.units import Grid, kmh_to_mph, mph_to_kmh, snap
from treadwalk.ftms import (
    CONTROL_POINT_UUID,
    FEATURE_UUID,
    FTMS_SERVICE_UUID,
    INCLINE_RANGE_UUID,
    MACHINE_STATUS_UUID,
    SPEED_RANGE_UUID,
    TRAINING_STATUS_UUID,
    TREADMILL_DATA_UUID,
    Features,
    InclineRange,
    OpCode,
    ResultCode,
    SpeedRange,
    StatusOp,
    StopControl,
    TrainingStatusCode,
    TreadmillData,
    decode_control_request,
    encode_control_request,
    encode_control_response,
    encode_features,
    encode_incline_range,
    encode_machine_status,
    encode_speed_range,
    encode_training_status,
    encode_treadmill_data,
    split_treadmill_record,
    uuids,
)

from ._peripheral import Advertiser, shut_down, spawn
from .belt import Belt, BeltConfig
from .options import Fault, FaultKind, Quirk, parse_fault, parse_quirks

__all__ = ["VirtualTreadmill"]

logger = logging.getLogger("treadwalk.sim")

ATT_CCCD_IMPROPERLY_CONFIGURED = 0xFD
ATT_PROCEDURE_ALREADY_IN_PROGRESS = 0xFE
ATT_INVALID_ATTRIBUTE_LENGTH = 0x0D

# What a treadmill carries out; every other op is answered 80 op 02 (REFERENCE §1.7 item 4).
_SUPPORTED = frozenset(
    {
        OpCode.REQUEST_CONTROL,
        OpCode.RESET,
        OpCode.SET_TARGET_SPEED,
        OpCode.SET_TARGET_INCLINATION,
        OpCode.START_OR_RESUME,
        OpCode.STOP_OR_PAUSE,
    }
)

_ADVERTISE_TASK = "treadwalk-sim-advertise"
_ADVERTISING_INTERVAL_MS = 100.0

# UREVO E1L notifies 0.38 s after the connection, before any CCCD write (P18).
_UNSOLICITED_AFTER_S = 0.38


def _uuid(full: str) -> UUID:
    return UUID(full)


def _floor2(x: float) -> float:
    """Truncate to 0.01 (what UREVO does to its mph range, P12)."""
    return math.floor(x * 100 + 1e-6) / 100


@dataclass(slots=True)
class _Peer:
    """What the sim knows of one connected client."""

    connection: Connection
    busy: bool = False  # a control-point procedure is waiting for its confirmation


class VirtualTreadmill:
    """A virtual FTMS treadmill on a Bumble device. See the module docstring.

    Console API (synchronous; notifications follow in the background): ``press_start``,
    ``press_pause``, ``press_stop``, ``pull_safety_key``, ``insert_safety_key``,
    ``console_set_speed``, ``console_set_incline``, ``revoke_control``, ``drop_link``.
    """

    def __init__(
        self,
        device: Device,
        clock: Clock,
        *,
        name: str = "treadwalk-sim",
        quirks: str | Iterable[str] = (),
        faults: Iterable[str | Fault] = (),
        speed: tuple[float, float, float] = (0.5, 12.0, 0.1),
        incline: tuple[float, float, float] = (0.0, 12.0, 0.5),
        accel_kmh_per_s: float = 1.0,
        decel_kmh_per_s: float = 1.5,
        incline_pct_per_s: float = 0.5,
        notify_hz: float = 4.0,
        max_connections: int = 1,
        manufacturer: str = "treadwalk",
        model: str = "Virtual Treadmill",
        firmware: str = __version__,
        serial: str = "TW-0001",
    ) -> None:
        if notify_hz <= 0:
            raise ValueError("notify_hz must be positive")
        self.device = device
        self.clock = clock
        self.name = name
        self.quirks = parse_quirks(quirks)
        self.faults = tuple(f if isinstance(f, Fault) else parse_fault(f) for f in faults)
        self.notify_hz = float(notify_hz)
        self.max_connections = max_connections
        self.manufacturer = manufacturer
        self.model = model
        self.firmware = firmware
        self.serial = serial
        self.belt = Belt(
            BeltConfig(
                accel_kmh_per_s=accel_kmh_per_s,
                decel_kmh_per_s=decel_kmh_per_s,
                incline_pct_per_s=incline_pct_per_s,
                start_speed_kmh=max(speed[0], 1.0),
            )
        )
        self.speed_grid = Grid(*speed)
        self.incline_grid = Grid(*incline)
        if Quirk.MPH_RANGES in self.quirks:
            # The machine thinks in mph (0.1 mph grid at best); 2AD4 shows it truncated to 0.01 km/h.
            step_mph = max(0.1, round(kmh_to_mph(speed[2]), 1))
            self._mph_grid: Grid | None = Grid(
                round(kmh_to_mph(speed[0]), 1), round(kmh_to_mph(speed[1]), 1), step_mph
            )
            self.advertised_speed = Grid(
                _floor2(mph_to_kmh(self._mph_grid.minimum)),
                _floor2(mph_to_kmh(self._mph_grid.maximum)),
                _floor2(mph_to_kmh(step_mph)),
            )
        else:
            self._mph_grid = None
            self.advertised_speed = self.speed_grid

        # read-only state for tests and the CLI
        self.received: list[tuple[float, str]] = []  # control-point writes: (clock time, hex)
        self.sent: list[tuple[float, str, str]] = []  # (clock time, char short uuid, hex)
        self.start_count = 0
        self.stop_count = 0
        self.safety_key_in = True
        self.controller: Connection | None = None
        self.training_status = int(TrainingStatusCode.IDLE)
        # What the console relays in Treadmill Data (flag bit 8) from a paired chest strap: None
        # leaves the field out; many machines send 0 with no strap paired (hr/REFERENCE.md).
        self.heart_rate_bpm: int | None = None

        self._peers: dict[Connection, _Peer] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._away = False
        self._t0 = 0.0
        self._last = 0.0
        self._entered = False
        self._advertiser = Advertiser(device, name, interval_ms=_ADVERTISING_INTERVAL_MS)
        self._build_gatt()

    # -- read-only views ----------------------------------------------------------------------

    @property
    def belt_speed_kmh(self) -> float:
        return self.belt.speed_kmh

    @property
    def incline_pct(self) -> float:
        return self.belt.incline_pct

    @property
    def target_speed_kmh(self) -> float:
        return self.belt.target_speed_kmh

    @property
    def target_incline_pct(self) -> float:
        return self.belt.target_incline_pct

    @property
    def running(self) -> bool:
        return self.belt.state == "running"

    @property
    def paused(self) -> bool:
        return self.belt.state == "paused"

    @property
    def stopped(self) -> bool:
        return self.belt.state == "stopped"

    @property
    def distance_m(self) -> float:
        return self.belt.distance_m

    @property
    def elapsed_s(self) -> float:
        return self.belt.elapsed_s

    @property
    def energy_kcal(self) -> float:
        return self.belt.energy_kcal

    @property
    def steps(self) -> int:
        return int(self.belt.steps)

    @property
    def has_control(self) -> bool:
        """True while some client holds control permission."""
        return self.controller is not None

    @property
    def connections(self) -> list[Connection]:
        return list(self._peers)

    @property
    def away(self) -> bool:
        """True while the link is dropped on purpose (not advertising, not accepting)."""
        return self._away

    @property
    def handles(self) -> dict[str, int]:
        """ATT value handles of the FTMS characteristics by short UUID (``"2acd"``: 0x0012)."""
        chars = (
            self._feature_char,
            self._data_char,
            self._training_char,
            self._speed_char,
            self._incline_char,
            self._cp_char,
            self._status_char,
        )
        return {uuids.short(str(c.uuid)): c.handle for c in chars}

    def sim_time(self) -> float:
        """Seconds since the sim started serving, in its clock's time (faults count from here)."""
        return self.clock.now() - self._t0

    # -- context manager ----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a VirtualTreadmill serves once; make a new one")
        self._entered = True
        self._t0 = self._last = self.clock.now()
        self.device.add_services([self._ftms_service, self._dis_service])
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        await self._advertise()
        self._spawn(self._run_belt(), "treadwalk-sim-belt")
        for fault in self.faults:
            if fault.at_s is not None:
                self._spawn(self._run_fault(fault), f"treadwalk-sim-fault-{fault.kind}")
        self._log(
            f"serving '{self.name}' as {self.device.random_address}; quirks: {', '.join(sorted(self.quirks)) or 'none (strict)'}"
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
        # Advertising commands in flight finish (cut mid-way, they leave Bumble's advertising
        # set half removed); everything else is cancelled.
        await shut_down(
            self.device,
            self._tasks,
            self._advertiser,
            advertise_task=_ADVERTISE_TASK,
            logger=logger,
            what="sim",
        )
        self._log("stopped serving")

    # -- console ------------------------------------------------------------------------------

    def press_start(self) -> None:
        """The walker presses Start on the console (starts or resumes)."""
        self._advance()
        if self.running or not self.safety_key_in:
            return
        self._start()
        self._log("console: start")
        self._status_later(encode_machine_status(StatusOp.STARTED_OR_RESUMED_BY_USER), origin=None)

    def press_pause(self) -> None:
        self._advance()
        if not self.running:
            return
        self._pause()
        self._log("console: pause")
        self._status_later(encode_machine_status(StatusOp.STOPPED_OR_PAUSED_BY_USER, control=2), origin=None)

    def press_stop(self) -> None:
        self._advance()
        if self.stopped:
            return
        self._stop()
        self._log("console: stop")
        self._status_later(encode_machine_status(StatusOp.STOPPED_OR_PAUSED_BY_USER, control=1), origin=None)

    def pull_safety_key(self) -> None:
        """The safety key comes out: the belt stops at once and will not start until it is back."""
        self._advance()
        self.safety_key_in = False
        was_stopped = self.stopped
        self._stop(emergency=True)
        self._log("console: safety key pulled")
        if not was_stopped:
            self._status_later(encode_machine_status(StatusOp.STOPPED_BY_SAFETY_KEY), origin=None)

    def insert_safety_key(self) -> None:
        self.safety_key_in = True
        self._log("console: safety key back in")

    def console_set_speed(self, speed_kmh: float) -> None:
        """Speed +/- on the console (snapped onto the machine's grid). Only while running."""
        self._advance()
        if not self.running:
            return
        value = self._snap_speed(speed_kmh)
        self.belt.target_speed_kmh = value
        self._log(f"console: speed {value:.2f} km/h")
        self._status_later(self._speed_status(value), origin=None)

    def console_set_incline(self, incline_pct: float) -> None:
        self._advance()
        value = snap(incline_pct, self.incline_grid)
        self.belt.target_incline_pct = value
        self._log(f"console: incline {value:.1f} %")
        self._status_later(
            encode_machine_status(StatusOp.TARGET_INCLINE_CHANGED, target_incline_pct=value), origin=None
        )

    def revoke_control(self) -> None:
        """Control is taken away (console or another app): status 0xFF to the controller."""
        if self.controller is None:
            return
        conn = self.controller
        self.controller = None
        self._log("control revoked")
        frame = encode_machine_status(StatusOp.CONTROL_PERMISSION_LOST)
        self._spawn(self._notify_status_to(conn, frame), "treadwalk-sim-status")

    def drop_link(self, come_back_after_s: float | None = None) -> None:
        """Drop every connection and stop advertising; accept connections again after a while."""
        self._away = True
        self._log(
            "dropping the link" + ("" if come_back_after_s is None else f", back in {come_back_after_s:g} s")
        )
        self._spawn(self._drop(come_back_after_s), "treadwalk-sim-drop")

    # -- belt state changes (shared by console and control point) -----------------------------

    def _start(self) -> None:
        if self.stopped:
            self.start_count += 1
        self.belt.start()
        self._set_training_status(TrainingStatusCode.MANUAL_MODE)

    def _pause(self) -> None:
        self.belt.pause()

    def _stop(self, *, emergency: bool = False) -> None:
        if not self.stopped:
            self.stop_count += 1
        self.belt.stop(emergency=emergency)
        self._set_training_status(TrainingStatusCode.POST_WORKOUT)

    def _snap_speed(self, speed_kmh: float) -> float:
        if self._mph_grid is not None:
            return round(mph_to_kmh(snap(kmh_to_mph(speed_kmh), self._mph_grid)), 4)
        return snap(speed_kmh, self.speed_grid)

    def _speed_status(self, value: float) -> bytes:
        return encode_machine_status(StatusOp.TARGET_SPEED_CHANGED, target_speed_kmh=round(value, 2))

    # -- GATT -----------------------------------------------------------------------------------

    def _build_gatt(self) -> None:
        steps = Quirk.STEP_COUNT_BIT13 in self.quirks
        features = Features.from_names(
            ["average_speed", "total_distance", "inclination", "expended_energy", "elapsed_time"]
            + (["step_count"] if steps else []),
            ["speed_target", "inclination_target"],
        )
        P = Characteristic.Properties
        cp_props = (
            P.INDICATE | P.WRITE_WITHOUT_RESPONSE
            if Quirk.RESPONSES_AS_NOTIFICATIONS in self.quirks
            else P.WRITE | P.INDICATE
        )
        self._feature_char: Characteristic[bytes] = Characteristic(
            _uuid(FEATURE_UUID), P.READ, Characteristic.READABLE, encode_features(features)
        )
        self._data_char: Characteristic[bytes] = Characteristic(
            _uuid(TREADMILL_DATA_UUID),
            P.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _c: self._record_bytes()),
        )
        self._training_char: Characteristic[bytes] = Characteristic(
            _uuid(TRAINING_STATUS_UUID),
            P.READ | P.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _c: self._training_bytes()),
        )
        g = self.advertised_speed
        self._speed_char: Characteristic[bytes] = Characteristic(
            _uuid(SPEED_RANGE_UUID),
            P.READ,
            Characteristic.READABLE,
            encode_speed_range(SpeedRange(g.minimum, g.maximum, g.step)),
        )
        i = self.incline_grid
        self._incline_char: Characteristic[bytes] = Characteristic(
            _uuid(INCLINE_RANGE_UUID),
            P.READ,
            Characteristic.READABLE,
            encode_incline_range(InclineRange(i.minimum, i.maximum, i.step)),
        )
        self._cp_char: Characteristic[bytes] = Characteristic(
            _uuid(CONTROL_POINT_UUID),
            cp_props,
            Characteristic.WRITEABLE,
            CharacteristicValue(write=self._on_cp_write),
        )
        self._status_char: Characteristic[bytes] = Characteristic(
            _uuid(MACHINE_STATUS_UUID), P.NOTIFY, Characteristic.READABLE, b""
        )
        self._ftms_service = Service(
            _uuid(FTMS_SERVICE_UUID),
            [
                self._feature_char,
                self._data_char,
                self._training_char,
                self._speed_char,
                self._incline_char,
                self._cp_char,
                self._status_char,
            ],
        )
        self._dis_service = DeviceInformationService(
            manufacturer_name=self.manufacturer,
            model_number=self.model,
            serial_number=self.serial,
            firmware_revision=self.firmware,
            software_revision=__version__,
        )

    async def _advertise(self) -> None:
        await self._advertiser.start(
            when=lambda: not self._away and len(self.device.connections) < self.max_connections
        )

    async def _stop_advertising(self) -> None:
        await self._advertiser.stop()

    def _on_connection(self, connection: Connection) -> None:
        if self._away:
            self._spawn(connection.disconnect(), "treadwalk-sim-refuse")
            return
        self._peers[connection] = _Peer(connection)
        connection.on(
            Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason)
        )
        self._log(f"connected: {connection.peer_address}")
        if Quirk.NOTIFY_BEFORE_SUBSCRIBE in self.quirks:
            self._spawn(self._unsolicited(connection), "treadwalk-sim-unsolicited")
        self._spawn(self._advertise(), _ADVERTISE_TASK)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        self._peers.pop(connection, None)
        if self.controller is connection:
            self.controller = None
        self._log(f"disconnected: {connection.peer_address} (reason 0x{reason:02x})")
        if not self._away:
            self._spawn(self._advertise(), _ADVERTISE_TASK)

    async def _drop(self, come_back_after_s: float | None) -> None:
        await self._stop_advertising()
        for conn in list(self.device.connections.values()):
            await conn.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)
        if come_back_after_s is None:
            return
        await self.clock.sleep(come_back_after_s)
        self._away = False
        self._log("the link is back: advertising again")
        await self._advertise()

    # -- what goes on the wire ----------------------------------------------------------------

    def _record(self) -> TreadmillData:
        b = self.belt
        steps = Quirk.STEP_COUNT_BIT13 in self.quirks
        return TreadmillData(
            speed_kmh=round(b.speed_kmh, 2),
            avg_speed_kmh=round(b.avg_speed_kmh, 2),
            distance_m=int(b.distance_m),
            incline_pct=round(b.incline_pct, 1),
            ramp_angle_deg=round(math.degrees(math.atan(b.incline_pct / 100)), 1),
            energy_total_kcal=int(b.energy_kcal),
            energy_per_hour_kcal=round(b.kcal_per_min * 60),
            energy_per_min_kcal=round(b.kcal_per_min),
            elapsed_s=int(b.elapsed_s),
            steps=int(b.steps) if steps else None,
            heart_rate_bpm=self.heart_rate_bpm,
        )

    def _record_bytes(self) -> bytes:
        return encode_treadmill_data(self._record())

    def _training_bytes(self) -> bytes:
        code = self.training_status
        if Quirk.RESERVED_TRAINING_STATUS in self.quirks:
            code = {
                int(TrainingStatusCode.MANUAL_MODE): 0x10,
                int(TrainingStatusCode.POST_WORKOUT): 0x11,
            }.get(code, code)
        return encode_training_status(code)

    def _set_training_status(self, code: int) -> None:
        if self.training_status == int(code):
            return
        self.training_status = int(code)
        frame = self._training_bytes()
        for conn in list(self._peers):
            self._spawn(self._notify(conn, self._training_char, frame, "2ad3"), "treadwalk-sim-training")

    def _cccd(self, conn: Connection, char: Characteristic[Any]) -> int:
        raw = self.device.gatt_server.read_cccd(conn, char)
        return int.from_bytes(raw[:2], "little")

    async def _notify(self, conn: Connection, char: Characteristic[Any], value: bytes, short: str) -> None:
        force = Quirk.NOTIFY_BEFORE_SUBSCRIBE in self.quirks
        if conn not in self._peers:
            return
        if not force and not (self._cccd(conn, char) & 0x01):
            return
        try:
            await self.device.notify_subscriber(conn, char, value, force=True)
        except Exception as exc:  # the link went away between the check and the send
            logger.debug("notify failed: %s", exc)
            return
        self.sent.append((self.clock.now(), short, value.hex()))

    def _pad(self, frame: bytes) -> bytes:
        if Quirk.PADDED_STATUS in self.quirks and len(frame) < 3:
            return frame + bytes(3 - len(frame))
        return frame

    async def _notify_status_to(self, conn: Connection, frame: bytes) -> None:
        await self._notify(conn, self._status_char, self._pad(frame), "2ada")

    def _status_later(self, frame: bytes, *, origin: Connection | None) -> None:
        """2ADA to every client (console changes), or to the others (a client's own change)."""
        for conn in list(self._peers):
            if conn is origin and Quirk.ECHO_STATUS not in self.quirks:
                continue
            self._spawn(self._notify_status_to(conn, frame), "treadwalk-sim-status")

    async def _send_data(self) -> None:
        record = self._record()
        for conn in list(self._peers):
            mtu_payload = 20 if Quirk.MULTI_PACKET_MTU23 in self.quirks else conn.att_mtu - 3
            frames = split_treadmill_record(record, max_payload=mtu_payload)
            for frame in frames:
                await self._notify(conn, self._data_char, frame, "2acd")

    async def _unsolicited(self, conn: Connection) -> None:
        await self.clock.sleep(_UNSOLICITED_AFTER_S)
        await self._notify(conn, self._data_char, self._record_bytes(), "2acd")
        await self._notify(conn, self._training_char, self._training_bytes(), "2ad3")
        await self._notify_status_to(conn, self._speed_status(self.belt.target_speed_kmh))

    # -- time ---------------------------------------------------------------------------------

    def _advance(self) -> None:
        now = self.clock.now()
        dt = now - self._last
        self._last = now
        self.belt.advance(dt)

    async def _run_belt(self) -> None:
        period = 1.0 / self.notify_hz
        deadline = self.clock.now()
        while True:
            deadline += period
            now = self.clock.now()
            if now > deadline + period:  # fell behind (a busy machine): skip, do not burst
                deadline = now + period
            await self.clock.sleep_until(deadline)
            self._advance()
            await self._send_data()

    async def _run_fault(self, fault: Fault) -> None:
        assert fault.at_s is not None
        await self.clock.sleep_until(self._t0 + fault.at_s)
        if fault.kind is FaultKind.DROP:
            self._log(f"fault {fault.spec}")
            self.drop_link(fault.back_after_s)
        elif fault.kind is FaultKind.MALFORMED:
            full = self._record_bytes()
            short = full[:4] if len(full) > 4 else full[:1]
            self._log(f"fault {fault.spec}: sending short 2ACD frame {short.hex()}")
            for conn in list(self._peers):
                await self._notify(conn, self._data_char, short, "2acd")
        elif fault.kind is FaultKind.CONSOLE_STOP:
            self._log(f"fault {fault.spec}")
            self.press_stop()
        elif fault.kind is FaultKind.CONTROL_LOST:
            self._log(f"fault {fault.spec}")
            self.revoke_control()

    # -- control point --------------------------------------------------------------------------

    def _fault_for(self, kind: FaultKind, op: int) -> Fault | None:
        for f in self.faults:
            if f.kind is kind and (f.op is None or f.op == op):
                return f
        return None

    def _on_cp_write(self, conn: Connection, value: bytes) -> None:
        data = bytes(value)
        self.received.append((self.clock.now(), data.hex()))
        self._log(f"control point <- {data.hex() or '(empty)'}")
        peer = self._peers.get(conn)
        if peer is None:
            return
        if Quirk.NO_RESPONSE not in self.quirks:
            cccd = self._cccd(conn, self._cp_char)
            wanted = 0x03 if Quirk.RESPONSES_AS_NOTIFICATIONS in self.quirks else 0x02
            if not cccd & wanted:
                self._log("control point: indications are off -> ATT error 0xFD")
                raise ATT_Error(ATT_CCCD_IMPROPERLY_CONFIGURED, self._cp_char.handle)
        if peer.busy:
            self._log("control point: previous procedure in progress -> ATT error 0xFE")
            raise ATT_Error(ATT_PROCEDURE_ALREADY_IN_PROGRESS, self._cp_char.handle)
        if not data:
            raise ATT_Error(ATT_INVALID_ATTRIBUTE_LENGTH, self._cp_char.handle)
        peer.busy = True
        # Runs after this returns, so after Bumble has sent the Write Response (§1.7 item 3).
        self._spawn(self._procedure(peer, data), "treadwalk-sim-procedure")

    async def _procedure(self, peer: _Peer, data: bytes) -> None:
        try:
            await asyncio.sleep(0)
            self._advance()
            op = data[0]
            result = self._execute(peer.connection, data)
            if result is None:
                self._log(f"control point: op {op:02x} gets no answer")
                return
            await self._respond(peer.connection, op, result)
        finally:
            peer.busy = False

    async def _respond(self, conn: Connection, op: int, result: int) -> None:
        frame = encode_control_response(op, result)
        if Quirk.NO_RESPONSE in self.quirks:
            self._log(f"control point: no response to op {op:02x} (quirk no_response)")
            return
        self._log(f"control point -> {frame.hex()}")
        if conn not in self._peers:
            return
        if Quirk.RESPONSES_AS_NOTIFICATIONS in self.quirks:
            await self.device.notify_subscriber(conn, self._cp_char, frame, force=True)
        else:
            await self.device.indicate_subscriber(conn, self._cp_char, frame)
        self.sent.append((self.clock.now(), "2ad9", frame.hex()))

    def _execute(self, conn: Connection, data: bytes) -> int | None:
        """Carry out one control-point request. Returns the result code, or None for no answer."""
        op = data[0]
        lenient = Quirk.NO_CONTROL_ENFORCEMENT in self.quirks
        if op != OpCode.REQUEST_CONTROL and self.controller is not conn and not lenient:
            return int(ResultCode.CONTROL_NOT_PERMITTED)
        if self._fault_for(FaultKind.NO_ANSWER, op):
            return None
        if self._fault_for(FaultKind.REJECT, op):
            return int(ResultCode.OPERATION_FAILED)
        if op not in _SUPPORTED:
            return int(ResultCode.NOT_SUPPORTED)
        try:
            request = decode_control_request(data)
            well_formed = encode_control_request(op, **request.params) == data
        except (DecodeError, ValueError):
            well_formed = False
        if not well_formed:
            return int(ResultCode.INVALID_PARAMETER)
        params = request.params

        ok = int(ResultCode.SUCCESS)
        if op == OpCode.REQUEST_CONTROL:
            if refuse := self._fault_for(FaultKind.REFUSE_CONTROL, op):
                return refuse.result or int(ResultCode.CONTROL_NOT_PERMITTED)
            previous = self.controller
            self.controller = conn
            if previous is not None and previous is not conn:
                self._spawn(
                    self._notify_status_to(previous, encode_machine_status(StatusOp.CONTROL_PERMISSION_LOST)),
                    "treadwalk-sim-status",
                )
            return ok
        if op == OpCode.RESET:
            if not self.stopped:
                self.stop_count += 1
            self.belt.reset()
            if self.controller is conn:
                self.controller = None
            self._set_training_status(TrainingStatusCode.IDLE)
            self._status_later(encode_machine_status(StatusOp.RESET), origin=conn)
            return ok
        if op == OpCode.SET_TARGET_SPEED:
            kmh = float(params["target_speed_kmh"])
            g = self.advertised_speed
            if not g.minimum - 1e-9 <= kmh <= g.maximum + 1e-9:
                return int(ResultCode.INVALID_PARAMETER)
            value = self._snap_speed(kmh)
            self.belt.target_speed_kmh = value
            self._status_later(self._speed_status(value), origin=conn)
            return ok
        if op == OpCode.SET_TARGET_INCLINATION:
            pct = float(params["target_incline_pct"])
            gi = self.incline_grid
            if not gi.minimum - 1e-9 <= pct <= gi.maximum + 1e-9:
                return int(ResultCode.INVALID_PARAMETER)
            value = snap(pct, gi)
            self.belt.target_incline_pct = value
            self._status_later(
                encode_machine_status(StatusOp.TARGET_INCLINE_CHANGED, target_incline_pct=value), origin=conn
            )
            return ok
        if op == OpCode.START_OR_RESUME:
            if self.running:
                return ok if lenient else int(ResultCode.OPERATION_FAILED)
            if not self.safety_key_in:
                return int(ResultCode.OPERATION_FAILED)
            self._start()
            self._status_later(encode_machine_status(StatusOp.STARTED_OR_RESUMED_BY_USER), origin=conn)
            return ok
        # STOP_OR_PAUSE
        control = int(params["control"])
        if control not in (StopControl.STOP, StopControl.PAUSE):
            return int(ResultCode.INVALID_PARAMETER)
        pause = control == StopControl.PAUSE
        if self.stopped or (pause and self.paused):
            return ok if lenient else int(ResultCode.OPERATION_FAILED)
        if pause:
            self._pause()
        else:
            self._stop()
        self._status_later(
            encode_machine_status(StatusOp.STOPPED_OR_PAUSED_BY_USER, control=control), origin=conn
        )
        return ok

    # -- plumbing -----------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        spawn(self._tasks, coro, name, logger=logger)

    def _log(self, message: str) -> None:
        logger.info("[t=%.2f] %s", self.sim_time() if self._entered else 0.0, message)
