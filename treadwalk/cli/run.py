"""``treadwalk run PROFILE``: play a profile on a treadmill (the main job). The composition root of
a session: profile -> plan (checked against the walker's caps), treadmill (a real one over the OS
Bluetooth stack or an HCI transport, or the virtual one in-process), recorder, dashboard or plain
lines, MQTT, signal handlers. ``register`` uses argparse only; ``run`` imports the rest inside.

Caps: a profile above ``--max-speed``/``--max-incline`` (or the config's caps) is refused before
anything connects, in one sentence; ``--fit-to-caps`` scales it down instead (speeds by one
factor, inclines by another, so the workout keeps its shape).

Signals: the first Ctrl+C or SIGTERM stops the belt now (an emergency stop, recorded with stop
reason "user"); a second one cancels the session, which still commands a stop on its way out.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from treadwalk.core.errors import UsageError

if TYPE_CHECKING:
    import asyncio

    from treadwalk.core.model import Limits, Plan, SessionEvent, SessionSnapshot
    from treadwalk.engine import Session, Settings

SIM_NAME = "treadwalk-sim"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="play a profile on a treadmill",
        description=(
            "Play a walking profile on an FTMS treadmill (or the virtual one with --sim). The belt "
            "starts only when you press Enter (or with --yes, after the countdown). Examples: "
            "treadwalk run demo --sim; treadwalk run hills --device 'KS-ST A1' --max-speed 6"
        ),
    )
    p.add_argument(
        "profile", metavar="PROFILE", help="a built-in or saved profile name, or a .toml/.zwo/.xml file"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--device", metavar="ADDR|NAME", help="the treadmill's address or name (see 'treadwalk scan')"
    )
    where.add_argument("--sim", action="store_true", help="use the virtual treadmill (no hardware)")
    p.add_argument("--hci", metavar="SPEC", help="reach --device through a Bumble HCI transport, e.g. usb:0")
    p.add_argument("--speedup", type=float, metavar="N", help="with --sim only: run N times faster (N >= 1)")
    p.add_argument("--no-dashboard", action="store_true", help="print one plain line per event instead")
    p.add_argument("--summary-json", metavar="PATH", help="write the session's totals there as JSON")
    p.add_argument(
        "--max-speed", type=float, metavar="KMH", help="your own speed cap (also: config max_speed_kmh)"
    )
    p.add_argument("--max-incline", type=float, metavar="PCT", help="your own incline cap (also: config)")
    p.add_argument(
        "--fit-to-caps",
        action="store_true",
        help="scale a profile that goes above your caps down to them (default: refuse it)",
    )
    p.add_argument(
        "--units", choices=("metric", "imperial"), help="display units (default: config, else metric)"
    )
    p.add_argument("--yes", action="store_true", help="start without a key press; the countdown still shows")
    p.add_argument(
        "--cooldown", type=float, metavar="S", help="easy walk before the belt stops (config cooldown_s)"
    )
    from treadwalk.telemetry.settings import add_mqtt_arguments  # stdlib only: keeps --help fast

    add_mqtt_arguments(p, control=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from treadwalk.core.config import load_config
    from treadwalk.core.model import Limits
    from treadwalk.engine import Settings, check_caps
    from treadwalk.profile import find_profile, load_profile
    from treadwalk.telemetry.settings import apply_config, settings_from_args

    config = load_config()
    apply_config(args, config.mqtt)
    device = args.device or (None if args.sim else config.device)
    if not device and not args.sim:
        raise UsageError(
            "No treadmill given: pass --device ADDR|NAME (find yours with 'treadwalk scan'), "
            "or --sim to try the virtual treadmill."
        )
    if args.speedup is not None and not args.sim:
        raise UsageError(
            "--speedup works only with the virtual treadmill (--sim): a real belt runs in real time."
        )
    speedup = 1.0 if args.speedup is None else args.speedup
    if not (speedup >= 1.0 and math.isfinite(speedup)):
        raise UsageError(f"--speedup must be a number of at least 1, not {args.speedup:g}.")
    if args.hci and args.sim:
        raise UsageError(
            "--hci reaches a real treadmill through a Bluetooth controller; --sim runs the virtual one "
            "in-process: use one or the other."
        )
    for flag, value in (("--max-speed", args.max_speed), ("--max-incline", args.max_incline)):
        if value is not None and not math.isfinite(value):
            raise UsageError(f"{flag} must be a number, not {value}.")
    if args.max_speed is not None and args.max_speed <= 0:
        raise UsageError(f"--max-speed must be above 0 km/h, not {args.max_speed:g}.")
    if args.cooldown is not None and not (0 <= args.cooldown <= 1800):
        raise UsageError(f"--cooldown must be from 0 to 1800 seconds, not {args.cooldown:g}.")
    limits = Limits(
        max_speed_kmh=args.max_speed if args.max_speed is not None else config.max_speed_kmh,
        max_incline_pct=args.max_incline if args.max_incline is not None else config.max_incline_pct,
    )
    mqtt = settings_from_args(args)

    profile_path = find_profile(args.profile)
    plan = load_profile(profile_path).to_plan()
    plan, note = check_caps(plan, limits, fit=args.fit_to_caps)  # refused: CapsExceeded, exit 2
    if note:
        print(f"treadwalk: {note}", flush=True)

    settings = Settings(
        auto_start=args.yes,
        cooldown_s=args.cooldown if args.cooldown is not None else config.cooldown_s,
        units=args.units or config.units,
    )
    composition = _Composition(
        args=args,
        device=device or SIM_NAME,
        plan=plan,
        limits=limits,
        settings=settings,
        speedup=speedup,
        reconnect_grace_s=config.reconnect_grace_s,
        quirks=dict(config.quirks),
        mqtt=mqtt,
    )
    return asyncio.run(composition.main())


class _Composition:
    """Builds and runs one session; kept as an object so tests can reach its parts."""

    def __init__(
        self,
        *,
        args: argparse.Namespace,
        device: str,
        plan: Plan,
        limits: Limits,
        settings: Settings,
        speedup: float,
        reconnect_grace_s: float,
        quirks: dict[str, Any],
        mqtt: Any,
    ) -> None:
        self.args = args
        self.device = device
        self.plan = plan
        self.limits = limits
        self.settings = settings
        self.speedup = speedup
        self.reconnect_grace_s = reconnect_grace_s
        self.quirks = quirks
        self.mqtt = mqtt
        self.session: Session | None = None
        self._signals = 0
        self._main_task: asyncio.Task[Any] | None = None

    async def main(self) -> int:
        import asyncio
        import contextlib
        import signal
        import sys

        from treadwalk.core.clock import LoopClock
        from treadwalk.core.model import StopReason
        from treadwalk.engine import Session
        from treadwalk.recording import Recorder, SessionStore

        self._main_task = asyncio.current_task()
        clock = LoopClock(self.speedup)
        loop = asyncio.get_running_loop()
        async with contextlib.AsyncExitStack() as stack:
            treadmill = await self._treadmill(stack, clock)
            store = stack.enter_context(SessionStore())
            recorder = Recorder(
                store,
                self.plan,
                device=self.device,
                clock_wall=clock.wall,
                profile_text=_read_text(self.plan.source),
            )
            session = Session(
                treadmill,
                self.plan,
                clock,
                limits=self.limits,
                observers=[recorder],
                settings=self.settings,
                session_id=recorder.session_id,
            )
            self.session = session
            display = self._display(session, str(store.path))
            telemetry = await self._telemetry(stack, session)
            if telemetry is not None:
                session.add_observer(telemetry)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._on_signal, sig.name)
                stack.callback(loop.remove_signal_handler, sig)
            result = None
            shown = asyncio.create_task(display.run(), name="display")
            try:
                result = await session.run()
            finally:
                # the display ends by itself on the final snapshot (and prints the summary)
                await asyncio.wait([shown], timeout=2.0)
                if not shown.done():
                    shown.cancel()
                    await asyncio.wait([shown])
                final = result or session.result()
                summary = {"session_id": recorder.session_id, "profile": self.plan.name, **final.to_dict()}
                try:
                    recorder.finish(final.stop_reason, summary)
                finally:
                    if self.args.summary_json:
                        _write_json(self.args.summary_json, summary)
            if final.stop_reason in (StopReason.CONNECTION_LOST, StopReason.ERROR) and final.message:
                print(f"treadwalk: {final.message}", file=sys.stderr)
            return final.stop_reason.exit_code

    def _on_signal(self, name: str) -> None:
        from treadwalk.core.model import Command, CommandKind, CommandSource

        self._signals += 1
        if self._signals == 1 and self.session is not None:
            self.session.submit(Command(CommandKind.EMERGENCY_STOP, source=CommandSource.SIGNAL))
        elif self._main_task is not None:
            self._main_task.cancel(f"{name} twice")

    async def _treadmill(self, stack: Any, clock: Any) -> Any:
        """The Treadmill port: FtmsTreadmill over the OS stack, an HCI transport, or the radio to
        the virtual treadmill. Not entered here: the Session connects it (phase "connecting")."""
        from treadwalk.treadmill.ftms import FtmsTreadmill

        radio: Any = None
        if self.args.sim:
            from treadwalk.radio import VirtualRadio
            from treadwalk.sim import VirtualTreadmill

            radio = await stack.enter_async_context(VirtualRadio())
            peripheral = await radio.new_device(SIM_NAME)
            await stack.enter_async_context(VirtualTreadmill(peripheral, clock, name=SIM_NAME))
        elif self.args.hci:
            radio = await stack.enter_async_context(_open_hci(self.args.hci))
        return FtmsTreadmill(
            self.device,
            clock=clock,
            radio=radio,
            quirks=self.quirks or None,
            reconnect_grace_s=self.reconnect_grace_s,
        )

    def _display(self, session: Session, saved_to: str) -> Any:
        if self.args.no_dashboard:
            lines = PlainLines(session, keys=not self.args.yes, units=self.settings.units, saved_to=saved_to)
            session.add_observer(lines)
            return lines
        from treadwalk.dashboard import Dashboard

        dashboard = Dashboard(submit=session.submit, units=self.settings.units, saved_to=saved_to)
        session.add_observer(dashboard)
        return dashboard

    async def _telemetry(self, stack: Any, session: Session) -> Any:
        if self.mqtt is None:
            return None
        from treadwalk.telemetry import MqttTelemetry, treadmill_id_for

        telemetry = MqttTelemetry(
            self.mqtt,
            getattr(self.args, "mqtt_id", None) or treadmill_id_for(self.device),
            name=self.device,
            submit=session.submit,
            control=bool(getattr(self.args, "mqtt_control", False)),
            limits=session.limits,
        )
        await stack.enter_async_context(telemetry)
        return telemetry


def _open_hci(spec: str) -> Any:
    import contextlib

    from treadwalk.core.errors import TreadmillError
    from treadwalk.radio import HciRadio

    @contextlib.asynccontextmanager
    async def opened() -> Any:
        radio = HciRadio(spec)
        try:
            await radio.__aenter__()
        except (OSError, ValueError, RuntimeError, TimeoutError) as exc:
            raise TreadmillError(
                f"Cannot open the HCI transport '{spec}' ({type(exc).__name__}: {exc}); check the spec "
                "(e.g. usb:0, tcp-client:127.0.0.1:9001) and that the controller is there."
            ) from exc
        try:
            yield radio
        finally:
            await radio.__aexit__(None, None, None)

    return opened()


def _write_json(path: str, data: dict[str, Any]) -> None:
    import json
    from pathlib import Path

    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _read_text(source: str | None) -> str | None:
    if not source:
        return None
    try:
        from pathlib import Path

        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class PlainLines:
    """``--no-dashboard``: one plain line per event on stdout, and keys as lines on stdin
    (Enter starts; q stops; x stops now; p pauses/resumes; + - ] [ n e as on the dashboard)."""

    KEYS = "Enter: start   p: pause/resume   + -: speed   ] [: incline   n: skip   e: extend   q: stop   x: stop now"

    def __init__(
        self, session: Session, *, keys: bool = True, units: str = "metric", saved_to: str | None = None
    ) -> None:
        import asyncio

        self._session = session
        self._keys = keys
        self._units = units
        self._saved_to = saved_to
        self._ended = asyncio.Event()
        self._last: SessionSnapshot | None = None

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        from treadwalk.core.model import Phase

        self._last = snapshot
        if snapshot.phase in (Phase.FINISHED, Phase.ABORTED):
            self._ended.set()

    def on_event(self, event: SessionEvent) -> None:
        from treadwalk.core.model import EventKind
        from treadwalk.core.units import format_duration

        elapsed = self._last.session_elapsed_s if self._last is not None else 0.0
        print(f"{format_duration(elapsed):>8}  {event.kind:<12} {event.message}", flush=True)
        if event.kind == EventKind.PHASE and event.data.get("phase") == "ready" and self._keys:
            print(f"{'':>8}  {'keys':<12} {self.KEYS}", flush=True)

    async def run(self) -> None:
        import asyncio
        import sys

        loop = asyncio.get_running_loop()
        fd: int | None = None
        if self._keys:
            try:
                fd = sys.stdin.fileno()
                loop.add_reader(fd, self._readable, fd)
            except (OSError, ValueError, PermissionError, NotImplementedError):
                fd = None
                print("treadwalk: no keyboard on stdin: run with --yes to start without a key.", flush=True)
        try:
            await self._ended.wait()
        finally:
            if fd is not None:
                loop.remove_reader(fd)
        print(self.summary_line(), flush=True)

    def summary_line(self) -> str:
        """The last line: how it ended, the totals in the walker's units, where it was saved."""
        from treadwalk.core.units import KM_PER_MILE, format_duration

        snap = self._last
        if snap is None:
            return "treadwalk: the session did not start."
        reason = snap.stop_reason.value if snap.stop_reason is not None else snap.phase.value
        if self._units == "imperial":
            distance = f"{snap.distance_m / 1000 / KM_PER_MILE:.2f} mi"
            ascent = f"{snap.ascent_m * 3.28084:.0f} ft up"
        else:
            distance = f"{snap.distance_m / 1000:.2f} km"
            ascent = f"{snap.ascent_m:.0f} m up"
        parts = [reason, f"{format_duration(snap.session_elapsed_s)} moving", distance, ascent]
        if snap.energy_kcal is not None:
            parts.append(f"{snap.energy_kcal:.0f} kcal")
        line = f"{format_duration(snap.session_elapsed_s):>8}  {'summary':<12} " + " · ".join(parts)
        if snap.session_id is not None:
            line += f" · saved as session {snap.session_id} (treadwalk history show {snap.session_id})"
        return line

    def _readable(self, fd: int) -> None:
        import asyncio
        import os

        from treadwalk.core.model import Command, CommandKind

        try:
            data = os.read(fd, 1024)
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(fd)
            return
        for raw in data.decode(errors="replace").splitlines() or [""]:
            key = raw.strip().lower()
            phase = self._last.phase.value if self._last is not None else None
            command: Command | None = None
            if key == "" and phase == "ready":
                command = Command(CommandKind.START)
            elif key in ("p", " ", "space"):
                command = Command(CommandKind.TOGGLE_PAUSE)
            elif key == "q":
                command = Command(CommandKind.STOP)
            elif key == "x":
                command = Command(CommandKind.EMERGENCY_STOP)
            elif key in ("+", "-"):
                command = Command(CommandKind.SPEED, 0.5 if key == "+" else -0.5)
            elif key in ("]", "["):
                command = Command(CommandKind.INCLINE, 0.5 if key == "]" else -0.5)
            elif key == "n":
                command = Command(CommandKind.SKIP)
            elif key == "e":
                command = Command(CommandKind.EXTEND)
            if command is not None:
                self._session.submit(command)
