"""Replay a machine capture (``treadwalk-capture/1``, written by ``treadwalk info --capture``) as a
Bluetooth peripheral: the recorded treadmill, back on the air.

``ReplayTreadmill(device, clock, capture)`` is an async context manager like ``VirtualTreadmill``.
On entry it adds to the (powered-on) Bumble device a Fitness Machine service with the
characteristics the capture shows (Feature and the ranges hold the bytes of the capture's ``read``
frames) and a Device Information service with the capture's identity, and advertises under the
recorded name. Once a client has subscribed (to every characteristic the capture notifies, or
for ``START_GRACE_S`` after its first subscription), it notifies the recorded 0x2ACD, 0x2ADA and
0x2AD3 frames at their recorded times, counted on the injected ``Clock`` from that moment (so it
runs in real, accelerated or virtual time), then falls silent.

Control-point writes get the recorded responses, in recorded order, matched by op code (the
op's last response repeats once its recorded ones are used up); an op the machine never
answered gets no answer, as that machine did. Recorded bytes go out as they were; the only bytes
interpreted (control-point requests and responses) go through ``treadwalk.ftms``.

Imports Bumble, ``treadwalk.ftms`` and ``treadwalk.core``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import deque
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bumble.core import UUID
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.profiles.device_information_service import DeviceInformationService

from treadwalk import ftms
from treadwalk.core.clock import Clock
from treadwalk.core.errors import DecodeError, UsageError

from ._peripheral import Advertiser, shut_down, spawn

__all__ = ["CAPTURE_FORMAT", "START_GRACE_S", "Capture", "CaptureFrame", "ReplayTreadmill", "load_capture"]

logger = logging.getLogger("treadwalk.sim")

CAPTURE_FORMAT = "treadwalk-capture/1"
#: After a client's first subscription, playback starts at the latest this long after it.
START_GRACE_S = 1.0
_DIRECTIONS = frozenset({"read", "notify", "indicate", "write"})
_PLAYED = ("2acd", "2ada", "2ad3")  # what the machine sent on its own, replayed on the timeline
_ADVERTISE_TASK = "treadwalk-replay-advertise"
_DEFAULT_NAME = "treadwalk-replay"


@dataclass(frozen=True, slots=True)
class CaptureFrame:
    """One recorded frame: seconds from the capture's start, short UUID, direction, bytes."""

    t: float
    char: str
    dir: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Capture:
    """A parsed ``treadwalk-capture/1`` fixture (only what a replay needs)."""

    identity: Mapping[str, str | None]
    features: tuple[str, ...]
    targets: tuple[str, ...]
    speed_kmh: Mapping[str, float] | None
    incline_pct: Mapping[str, float] | None
    frames: tuple[CaptureFrame, ...] = field(default=())

    @classmethod
    def from_dict(cls, obj: object) -> Capture:
        """Raises ``ValueError`` (one sentence) for anything that is not a capture."""
        if not isinstance(obj, dict):
            raise ValueError("it is not a JSON object")
        if obj.get("format") != CAPTURE_FORMAT:
            raise ValueError(f"its format is {obj.get('format')!r}, not {CAPTURE_FORMAT!r}")
        identity = obj.get("identity")
        if not isinstance(identity, dict) or not all(
            v is None or isinstance(v, str) for v in identity.values()
        ):
            raise ValueError("'identity' is not an object of strings")
        raw_frames = obj.get("frames")
        if not isinstance(raw_frames, list):
            raise ValueError("'frames' is not a list")
        frames = []
        last_t = float("-inf")
        for i, f in enumerate(raw_frames):
            try:
                t = float(f["t"])
                char = ftms.short(str(f["char"]))
                direction = str(f["dir"])
                data = bytes.fromhex(str(f["hex"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"frame {i} is not {{t, char, dir, hex}} ({exc})") from None
            if direction not in _DIRECTIONS:
                raise ValueError(f"frame {i} has direction {direction!r}")
            if t < last_t:
                raise ValueError(f"frame {i} goes back in time ({t} s after {last_t} s)")
            last_t = t
            frames.append(CaptureFrame(t, char, direction, data))

        def grid(key: str) -> Mapping[str, float] | None:
            value = obj.get(key)
            if value is None:
                return None
            if not isinstance(value, dict) or not all(
                isinstance(value.get(k), int | float) for k in ("min", "max", "step")
            ):
                raise ValueError(f"'{key}' is not {{min, max, step}}")
            return {k: float(value[k]) for k in ("min", "max", "step")}

        features = tuple(str(n) for n in obj.get("features") or ())
        targets = tuple(str(n) for n in obj.get("targets") or ())
        try:
            ftms.Features.from_names(features, targets)
        except ValueError as exc:
            raise ValueError(f"its features are not FTMS names ({exc})") from None
        return cls(
            identity=dict(identity),
            features=features,
            targets=targets,
            speed_kmh=grid("speed_kmh"),
            incline_pct=grid("incline_pct"),
            frames=tuple(frames),
        )

    def read_value(self, char: str) -> bytes | None:
        """The bytes of the last ``read`` of ``char`` in the capture."""
        values = [f.data for f in self.frames if f.char == char and f.dir == "read"]
        return values[-1] if values else None

    def shows(self, char: str) -> bool:
        return any(f.char == char for f in self.frames)


def load_capture(path: str | Path) -> Capture:
    """Read a capture file. A file that is not one raises ``UsageError`` (one sentence)."""
    p = Path(path)
    try:
        return Capture.from_dict(json.loads(p.read_text()))
    except OSError as exc:
        raise UsageError(f"Cannot read the capture {p} ({exc.strerror or exc}); check the path.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"{p} is not a treadwalk capture ({exc}); make one with 'treadwalk info --capture'."
        ) from exc


class ReplayTreadmill:
    """A recorded treadmill served on a Bumble device. See the module docstring.

    Read-only views for tests and the CLI: ``received`` (control-point writes: clock time, hex),
    ``sent`` (clock time, short UUID, hex), ``playing`` / ``finished`` (asyncio events).
    """

    def __init__(self, device: Device, clock: Clock, capture: Capture, *, name: str | None = None) -> None:
        self.device = device
        self.clock = clock
        self.capture = capture
        self.name = name or capture.identity.get("name") or _DEFAULT_NAME
        self.received: list[tuple[float, str]] = []
        self.sent: list[tuple[float, str, str]] = []
        self.playing = asyncio.Event()
        self.finished = asyncio.Event()

        self._responses: dict[int, deque[bytes]] = {}
        for f in capture.frames:
            if f.char == "2ad9" and f.dir in ("indicate", "notify"):
                try:
                    response = ftms.decode_control_response(f.data)
                except DecodeError as exc:
                    logger.warning("replay: skipping a recorded control-point frame: %s", exc)
                    continue
                self._responses.setdefault(response.request_op, deque()).append(f.data)
        self._timeline = [f for f in capture.frames if f.char in _PLAYED and f.dir in ("notify", "indicate")]
        self._peers: set[Connection] = set()
        self._subscribed: dict[Connection, set[str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._entered = False
        self._closing = False
        self._advertiser = Advertiser(device, self.name)
        self._build_gatt()

    @property
    def handles(self) -> dict[str, int]:
        """ATT value handles of the FTMS characteristics by short UUID."""
        return {short: c.handle for short, c in self._chars.items()}

    # -- context manager ----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise RuntimeError("a ReplayTreadmill serves once; make a new one")
        self._entered = True
        self.device.add_services([self._ftms_service, self._dis_service])
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self.device.on("characteristic_subscription", self._on_subscription)
        await self._advertise()
        logger.info(
            "replaying '%s' (%d frames) as %s", self.name, len(self._timeline), self.device.random_address
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing = True
        self.device.remove_listener(Device.EVENT_CONNECTION, self._on_connection)
        self.device.remove_listener("characteristic_subscription", self._on_subscription)
        await shut_down(
            self.device,
            self._tasks,
            self._advertiser,
            advertise_task=_ADVERTISE_TASK,
            logger=logger,
            what="replay",
        )

    # -- GATT -----------------------------------------------------------------------------------

    def _build_gatt(self) -> None:
        cap = self.capture
        P = Characteristic.Properties
        chars: dict[str, Characteristic[bytes]] = {}

        feature = cap.read_value("2acc")
        if feature is None:
            feature = ftms.encode_features(ftms.Features.from_names(cap.features, cap.targets))
        chars["2acc"] = Characteristic(UUID(ftms.FEATURE_UUID), P.READ, Characteristic.READABLE, feature)
        chars["2acd"] = Characteristic(UUID(ftms.TREADMILL_DATA_UUID), P.NOTIFY, Characteristic.READABLE, b"")
        if cap.shows("2ad3"):
            chars["2ad3"] = Characteristic(
                UUID(ftms.TRAINING_STATUS_UUID),
                P.READ | P.NOTIFY,
                Characteristic.READABLE,
                CharacteristicValue(read=lambda _c: self._last_sent("2ad3")),
            )
        speed = cap.read_value("2ad4")
        if speed is None and cap.speed_kmh is not None:
            s = cap.speed_kmh
            speed = ftms.encode_speed_range(ftms.SpeedRange(s["min"], s["max"], s["step"]))
        if speed is not None:
            chars["2ad4"] = Characteristic(
                UUID(ftms.SPEED_RANGE_UUID), P.READ, Characteristic.READABLE, speed
            )
        incline = cap.read_value("2ad5")
        if incline is None and cap.incline_pct is not None:
            i = cap.incline_pct
            incline = ftms.encode_incline_range(ftms.InclineRange(i["min"], i["max"], i["step"]))
        if incline is not None:
            chars["2ad5"] = Characteristic(
                UUID(ftms.INCLINE_RANGE_UUID), P.READ, Characteristic.READABLE, incline
            )
        if cap.shows("2ad9") or cap.targets:
            # Responses were notified if the capture says so (else indicated, as FTMS wants).
            notified = any(f.char == "2ad9" and f.dir == "notify" for f in cap.frames)
            chars["2ad9"] = Characteristic(
                UUID(ftms.CONTROL_POINT_UUID),
                P.WRITE | (P.NOTIFY if notified else P.INDICATE),
                Characteristic.WRITEABLE,
                CharacteristicValue(write=self._on_cp_write),
            )
        if cap.shows("2ada") or "2ad9" in chars:
            chars["2ada"] = Characteristic(
                UUID(ftms.MACHINE_STATUS_UUID), P.NOTIFY, Characteristic.READABLE, b""
            )
        self._chars = chars
        self._ftms_service = Service(UUID(ftms.FTMS_SERVICE_UUID), list(chars.values()))
        ident = cap.identity
        self._dis_service = DeviceInformationService(
            manufacturer_name=ident.get("manufacturer"),
            model_number=ident.get("model"),
            firmware_revision=ident.get("firmware"),
        )
        # What a client must subscribe to before playback starts: what the timeline uses.
        self._wanted = {f.char for f in self._timeline if f.char in chars}

    def _last_sent(self, short: str) -> bytes:
        for _t, char, hex_ in reversed(self.sent):
            if char == short:
                return bytes.fromhex(hex_)
        first = next((f.data for f in self._timeline if f.char == short), b"")
        return first

    # -- connections and playback ---------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        self._peers.add(connection)
        self._subscribed[connection] = set()
        connection.on(Connection.EVENT_DISCONNECTION, lambda _reason: self._on_disconnection(connection))
        logger.info("replay: connected: %s", connection.peer_address)

    def _on_disconnection(self, connection: Connection) -> None:
        self._peers.discard(connection)
        self._subscribed.pop(connection, None)
        logger.info("replay: disconnected: %s", connection.peer_address)
        if not self._closing:
            self._spawn(self._advertise(), _ADVERTISE_TASK)

    def _on_subscription(
        self, bearer: Any, characteristic: Characteristic[Any], notify: bool, indicate: bool
    ) -> None:
        subscribed = self._subscribed.get(bearer)
        if subscribed is None or self.playing.is_set():
            return
        short = ftms.short(str(characteristic.uuid))
        if not (notify or indicate):
            subscribed.discard(short)
            return
        first = not subscribed
        subscribed.add(short)
        if self._wanted <= subscribed:
            self._start()
        elif first:
            self._spawn(self._start_after_grace(), "treadwalk-replay-grace")

    async def _start_after_grace(self) -> None:
        await self.clock.sleep(START_GRACE_S)
        self._start()

    def _start(self) -> None:
        if self.playing.is_set() or self._closing:
            return
        self.playing.set()
        self._spawn(self._play(), "treadwalk-replay-play")

    async def _play(self) -> None:
        start = self.clock.now()
        logger.info("replay: playing %d frames", len(self._timeline))
        for t, group in itertools.groupby(self._timeline, key=lambda f: f.t):
            await self.clock.sleep_until(start + t)
            for frame in group:
                for conn in list(self._peers):
                    await self._send(conn, frame.char, frame.data)
        logger.info("replay: the capture is over")
        self.finished.set()

    def _cccd(self, conn: Connection, char: Characteristic[Any]) -> int:
        raw = self.device.gatt_server.read_cccd(conn, char)
        return int.from_bytes(raw[:2], "little")

    async def _send(self, conn: Connection, short: str, data: bytes) -> None:
        char = self._chars.get(short)
        if char is None or conn not in self._peers:
            return
        cccd = self._cccd(conn, char)
        try:
            if cccd & 0x02 and char.properties & Characteristic.Properties.INDICATE:
                await self.device.indicate_subscriber(conn, char, data)
            elif cccd & 0x01:
                await self.device.notify_subscriber(conn, char, data, force=True)
            else:
                return
        except Exception as exc:  # the link went away between the check and the send
            logger.debug("replay: send failed: %s", exc)
            return
        self.sent.append((self.clock.now(), short, data.hex()))

    # -- control point ----------------------------------------------------------------------------

    def _on_cp_write(self, conn: Connection, value: bytes) -> None:
        data = bytes(value)
        self.received.append((self.clock.now(), data.hex()))
        try:
            op = int(ftms.decode_control_request(data).op)
        except DecodeError as exc:
            logger.info("replay: control point <- %s: %s; no answer", data.hex() or "(empty)", exc)
            return
        queue = self._responses.get(op)
        if not queue:
            logger.info("replay: control point <- %s; the machine never answered op %02x", data.hex(), op)
            return
        response = queue.popleft() if len(queue) > 1 else queue[0]
        logger.info("replay: control point <- %s -> %s", data.hex(), response.hex())
        # Runs after this returns, so after Bumble has sent the Write Response.
        self._spawn(self._send(conn, "2ad9", response), "treadwalk-replay-response")

    # -- advertising --------------------------------------------------------------------------------

    async def _advertise(self) -> None:
        await self._advertiser.start(when=lambda: not self._closing and not self.device.connections)

    async def _stop_advertising(self) -> None:
        await self._advertiser.stop()

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        spawn(self._tasks, coro, name, logger=logger)
