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
import logging
import math
from typing import TYPE_CHECKING, Any

from treadwalk.core.errors import UsageError

if TYPE_CHECKING:
    import asyncio

    from treadwalk.core.model import Limits, Plan, SessionEvent, SessionSnapshot
    from treadwalk.core.zones import HeartRateConfig, Zone
    from treadwalk.engine import Session, Settings

log = logging.getLogger(__name__)

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
    p.add_argument(
        "--hr",
        metavar="NAME|ADDR|machine|none",
        help="heart-rate source: a strap's name or address, the treadmill's own reading (machine), or "
        "none (config hr; default: the treadmill's reading, and with --sim the virtual strap)",
    )
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
    add_voice_arguments(p)
    from treadwalk.telemetry.settings import add_mqtt_arguments  # stdlib only: keeps --help fast

    add_mqtt_arguments(p, control=True)
    from treadwalk.web.settings import add_web_arguments  # stdlib only: aiohttp loads with --web

    add_web_arguments(p, control=True)
    p.set_defaults(func=run)


def add_voice_arguments(p: Any) -> None:
    """``--voice``, ``--voice-log``, ``--voice-out`` (run and demo)."""
    p.add_argument(
        "--voice",
        action="store_true",
        help="speak segment changes, cues, the count-in and every safety message (config [voice])",
    )
    p.add_argument(
        "--voice-log", metavar="FILE", help="append every utterance (said or dropped) as a JSON line"
    )
    p.add_argument(
        "--voice-out",
        metavar="DIR",
        help="write each utterance as a sound file into DIR instead of playing it",
    )


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
    _check_max_incline(args.max_incline)
    if args.summary_json:
        _check_summary_path(args.summary_json)
    if args.cooldown is not None and not (0 <= args.cooldown <= 1800):
        raise UsageError(f"--cooldown must be from 0 to 1800 seconds, not {args.cooldown:g}.")
    ceiling = config.heart_rate.ceiling_bpm
    limits = Limits(
        max_speed_kmh=args.max_speed if args.max_speed is not None else config.max_speed_kmh,
        max_incline_pct=args.max_incline if args.max_incline is not None else config.max_incline_pct,
        ceiling_bpm=float(ceiling) if ceiling is not None else None,
    )
    mqtt = settings_from_args(args)
    from treadwalk.web.settings import settings_from_args as web_settings_from_args

    web = web_settings_from_args(args, config.web)
    voice = _voice_settings(args, config.voice)
    from treadwalk.cli.heart import choose

    hr = choose(args.hr, config.hr, sim=args.sim)

    profile_path = find_profile(args.profile)
    loaded = load_profile(profile_path)
    for import_note in loaded.notes:  # what an importer decided (a FIT open target, ...)
        print(f"treadwalk: {import_note}", flush=True)
    plan = loaded.to_plan()
    plan, note = check_caps(plan, limits, fit=args.fit_to_caps)  # refused: CapsExceeded, exit 2
    from treadwalk.core.zones import resolve_plan

    plan = resolve_plan(plan, config.heart_rate)  # a zone without its config: ConfigError, exit 2
    if note:
        print(f"treadwalk: {note}", flush=True)

    if not args.yes:
        _check_keys_reachable()

    settings = Settings(
        auto_start=args.yes,
        cooldown_s=args.cooldown if args.cooldown is not None else config.cooldown_s,
        units=args.units or config.units,
        hr_zones=_zones_or_none(config.heart_rate),
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
        web=web,
        voice=voice,
    )
    composition.hr_choice = hr
    return asyncio.run(composition.main())


def _voice_settings(args: argparse.Namespace, table: dict[str, Any]) -> dict[str, Any] | None:
    """The voice's settings (flags over config), or None when it is off. Paths are checked
    now, before anything connects: a log or a folder that cannot be written is exit 2."""
    from pathlib import Path

    wanted = bool(getattr(args, "voice", False) or table.get("enabled", False))
    log_path = getattr(args, "voice_log", None)
    out_dir = getattr(args, "voice_out", None)
    if not wanted and (log_path or out_dir):
        raise UsageError(
            "--voice-log and --voice-out need --voice (or [voice] enabled = true in the config)."
        )
    if not wanted:
        return None
    if log_path and not Path(log_path).parent.is_dir():
        raise UsageError(f"--voice-log {log_path}: the folder {Path(log_path).parent} does not exist.")
    if out_dir and not Path(out_dir).is_dir():
        raise UsageError(f"--voice-out {out_dir}: no such folder; create it first.")
    return {
        "rate_wpm": int(table.get("rate", 175)),
        "volume": float(table.get("volume", 100)) / 100.0,
        "voice": table.get("voice"),
        "beeps_only": bool(table.get("beeps_only", False)),
        "say": tuple(table.get("say", ("segments", "cues", "countdown", "heart_rate"))),
        "log_path": log_path,
        "out_dir": out_dir,
    }


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
        web: Any = None,
        voice: dict[str, Any] | None = None,
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
        self.web_settings = web
        self.web: Any = None  # the second screen's WebView, with --web
        self.web_error: str | None = None
        self.voice_settings = voice
        self.voice: Any = None  # the Voice observer, with --voice
        self.session: Session | None = None
        self.hr_choice: Any = None  # treadwalk.cli.heart.HrChoice; None: no heart rate
        self.heart_rate: Any = None  # the HeartRate source, once built
        self._radio: Any = None
        self._belt: Any = None
        self._signals = 0
        self.display_error: str | None = None
        self.sim: Any = None  # the virtual treadmill, with --sim
        self.sim_faults: tuple[str, ...] = ()  # faults for it (tests: a stop that is refused, ...)
        self._main_task: asyncio.Task[Any] | None = None

    async def main(self) -> int:
        import asyncio
        import contextlib
        import signal
        import sys

        from treadwalk.core.clock import LoopClock
        from treadwalk.core.model import StopReason
        from treadwalk.engine import Session
        from treadwalk.engine.session import STOP_NOT_CONFIRMED
        from treadwalk.recording import Recorder, SessionStore

        self._main_task = asyncio.current_task()
        clock = LoopClock(self.speedup)
        loop = asyncio.get_running_loop()
        async with contextlib.AsyncExitStack() as stack:
            treadmill = await self._treadmill(stack, clock)
            await self._heart_rate(stack, clock, treadmill)
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
                heart_rate=self.heart_rate,
            )
            self.session = session
            recorder.notify = session.notify  # "recording is failing" reaches every observer
            if self.heart_rate is not None:
                recorder.take_rr = self.heart_rate.take_rr  # RR intervals kept with the samples
            display = self._display(session, str(store.path))
            self.voice = self._voice(session)
            telemetry = await self._telemetry(stack, session)
            if telemetry is not None:
                session.add_observer(telemetry)
            web = await self._web(stack, session)
            if web is not None and hasattr(display, "second_screen"):
                display.second_screen = web.url()  # the dashboard covers the QR code printed above
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self._on_signal, sig.name)
                stack.callback(loop.remove_signal_handler, sig)
            final = None
            try:
                # One TaskGroup: the session and the display (which owns the keys). A display
                # that fails ends the session at once (belt stopped, no cool-down): the walker
                # has lost their keys. A session that fails cancels the display, which gives
                # the terminal back on its way out.
                async with asyncio.TaskGroup() as tg:
                    walk = tg.create_task(session.run(), name="session")
                    tg.create_task(self._supervise(display, session), name="display")
                    if web is not None:
                        tg.create_task(self._supervise_web(web, walk), name="web")
                    if self.voice is not None:
                        tg.create_task(self._speak(self.voice), name="voice")
                    if self.heart_rate is not None:
                        tg.create_task(self._hold_heart_rate(treadmill, walk), name="heart-rate")
                final = walk.result()
            except BaseExceptionGroup as group:
                raise _first(group) from None
            finally:
                final = final or session.result()
                kept = None if recorder.discarded else recorder.session_id  # never connected: not kept
                summary = {"session_id": kept, "profile": self.plan.name, **final.to_dict()}
                try:
                    recorder.finish(final.stop_reason, summary)
                finally:
                    if self.args.summary_json:
                        _write_json(self.args.summary_json, summary)
            why = self.display_error
            if why is None and final.stop_reason in (StopReason.CONNECTION_LOST, StopReason.ERROR):
                why = final.message
            if not final.belt_stopped:  # safety rule 7: said out loud, in the same sentence as why
                unconfirmed = STOP_NOT_CONFIRMED[0].lower() + STOP_NOT_CONFIRMED[1:]
                why = f"{why.rstrip('.')}, and {unconfirmed}" if why else STOP_NOT_CONFIRMED
            if why:
                print(f"treadwalk: {why}", file=sys.stderr)
            if not final.belt_stopped:
                return 1
            return int(final.stop_reason.exit_code)

    async def _supervise(self, display: Any, session: Session) -> None:
        """Run the display (and its key reader) for as long as the session. If it fails, or
        ends before the session does, the session ends now with the belt stopped, and says why."""
        from treadwalk.core.model import Phase

        try:
            await display.run()
        except Exception as exc:
            log.debug("the display failed", exc_info=True)
            what = "dashboard" if not self.args.no_dashboard else "key reader"
            self.display_error = (
                f"The {what} failed ({type(exc).__name__}: {exc}), so the belt was stopped: "
                "run again (--no-dashboard prints plain lines instead; --debug shows the details)."
            )
            session.fail(self.display_error)
            return
        snap = session.snapshot
        if snap is None or snap.phase not in (Phase.FINISHED, Phase.ABORTED):
            self.display_error = "The display ended before the session, so the belt was stopped: run again."
            session.fail(self.display_error)

    async def _supervise_web(self, web: Any, walk: asyncio.Task[Any]) -> None:
        """Run the second screen for as long as the session. A web server that fails ends
        nothing else: it says so once, and the walk goes on."""
        import asyncio
        import contextlib

        serve = asyncio.create_task(web.run(), name="web-serve")
        try:
            await asyncio.wait({serve, walk}, return_when=asyncio.FIRST_COMPLETED)
            if walk.done() and not serve.done():
                with contextlib.suppress(TimeoutError):  # bounded: the last state to the page
                    await asyncio.wait_for(asyncio.shield(serve), 1.0)
            if serve.done() and not serve.cancelled() and serve.exception() is not None:
                exc = serve.exception()
                log.debug("the web page failed", exc_info=exc)
                self.web_error = (
                    f"The web page stopped ({type(exc).__name__}: {exc}); the walk goes on "
                    "(the belt, the keys and the record are not affected)."
                )
                log.warning("%s", self.web_error)  # once; shown on the dashboard, or on stderr
        finally:
            if not serve.done():
                serve.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serve

    async def _web(self, stack: Any, session: Session) -> Any:
        """The second screen, bound before the belt can move (a port in use: one sentence, exit
        1); its address and QR code printed."""
        if self.web_settings is None:
            return None
        from treadwalk.web.qr import qr_text
        from treadwalk.web.server import WebView

        web = WebView(
            self.web_settings,
            submit=session.submit if self.web_settings.control else None,
            units=self.settings.units,
        )
        await stack.enter_async_context(web)
        session.add_observer(web)
        self.web = web
        url = web.url()
        what = "with its buttons" if self.web_settings.control else "read-only"
        print(f"treadwalk: second screen ({what}) at {url}", flush=True)
        print(qr_text(url), flush=True)
        return web

    def _voice(self, session: Session) -> Any:
        """The voice observer (imported only with --voice), or None: without a synthesiser the
        walk goes on silently, after one sentence."""
        if self.voice_settings is None:
            return None
        import sys
        from pathlib import Path

        from treadwalk.voice import NoSynthesizer, Voice, find_synthesizer

        v = self.voice_settings
        try:
            synth = find_synthesizer(
                rate_wpm=v["rate_wpm"],
                volume=v["volume"],
                voice=v["voice"],
                out_dir=Path(v["out_dir"]) if v["out_dir"] else None,
            )
        except NoSynthesizer as exc:
            print(f"treadwalk: {exc}; the walk goes on without voice.", file=sys.stderr, flush=True)
            return None
        voice = Voice(
            synth,
            plan=self.plan,
            units=self.settings.units,
            say=v["say"],
            beeps_only=v["beeps_only"],
            log_path=v["log_path"],
            time_scale=self.speedup,
        )
        session.add_observer(voice)
        return voice

    async def _speak(self, voice: Any) -> None:
        """The voice is an observer: if it fails, the walk goes on silently, after one sentence."""
        import sys

        try:
            await voice.run()
        except Exception as exc:
            log.debug("the voice failed", exc_info=True)
            print(
                f"treadwalk: the voice stopped ({type(exc).__name__}: {exc}); the walk goes on without it.",
                file=sys.stderr,
                flush=True,
            )

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
            from treadwalk.testing import virtual_rig  # the virtual treadmill users' tests get

            rig = await stack.enter_async_context(virtual_rig(clock, name=SIM_NAME, faults=self.sim_faults))
            radio, self.sim = rig.radio, rig.machine
            self._belt = self.sim
        elif self.args.hci:
            radio = await stack.enter_async_context(_open_hci(self.args.hci))
        self._radio = radio
        return FtmsTreadmill(
            self.device,
            clock=clock,
            radio=radio,
            quirks=self.quirks or None,
            reconnect_grace_s=self.reconnect_grace_s,
        )

    async def _heart_rate(self, stack: Any, clock: Any, treadmill: Any) -> None:
        """The HeartRate source (``self.heart_rate``) the Session reads; a strap is connected by
        ``_hold_heart_rate`` in the session's TaskGroup, after the treadmill."""
        from treadwalk.cli.heart import open_source

        if self.hr_choice is None:
            return
        self.heart_rate = await open_source(
            stack, self.hr_choice, clock=clock, treadmill=treadmill, radio=self._radio, belt=self._belt
        )

    async def _hold_heart_rate(self, treadmill: Any, walk: asyncio.Task[Any]) -> None:
        """Keep the strap connected (it reconnects by itself, never touching the belt) until the
        walk ends. A source that fails is logged and the walk goes on without heart rate."""
        import asyncio

        from treadwalk.cli.heart import hold

        holder = asyncio.ensure_future(hold(self.heart_rate, treadmill))
        try:
            await asyncio.wait([holder, walk], return_when=asyncio.FIRST_COMPLETED)
        finally:
            holder.cancel()
            results = await asyncio.gather(holder, return_exceptions=True)
        if isinstance(results[0], Exception):
            log.warning("heart rate stopped (%s); the walk went on without it", results[0])

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


def _first(group: BaseExceptionGroup[Any]) -> BaseException:
    """The error that ended a TaskGroup, unwrapped (a nested group's first leaf)."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def _check_max_incline(value: float | None) -> None:
    """``--max-incline`` within what the config allows for ``max_incline_pct``."""
    from treadwalk.core.config import NUMBER_RANGES

    lo, hi = NUMBER_RANGES["max_incline_pct"]
    if value is not None and not lo <= value <= hi:
        raise UsageError(f"--max-incline must be from {lo:g} to {hi:g} %, not {value:g}.")


def _check_summary_path(raw: str) -> None:
    """``--summary-json`` must be writable before the belt starts, not after the walk."""
    import os
    from pathlib import Path

    path = Path(raw).expanduser()
    folder = path.parent
    if path.is_dir():
        raise UsageError(f"--summary-json {raw} is a folder; give a file name, e.g. {path / 'summary.json'}.")
    if not folder.is_dir():
        raise UsageError(
            f"--summary-json: the folder {folder} does not exist; create it or choose another path."
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"--summary-json: cannot write to {path}; choose a path you may write to.")


def _check_keys_reachable() -> None:
    """Without ``--yes`` the belt starts on a key: stdin must be a terminal, or a pipe a program
    writes keys into. /dev/null, a file or no stdin would leave the session waiting for ever."""
    import os
    import stat
    import sys

    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
        ok = os.isatty(fd) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
    except (AttributeError, OSError, ValueError):
        ok = False
    if not ok:
        raise UsageError(
            "the belt starts on a key press and stdin is not a terminal: run it in a terminal, "
            "or add --yes to start after the countdown."
        )


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
        self._not_saved: str | None = None  # the recorder's last word while it cannot save

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        from treadwalk.core.model import Phase

        self._last = snapshot
        if snapshot.phase in (Phase.FINISHED, Phase.ABORTED):
            self._ended.set()

    def on_event(self, event: SessionEvent) -> None:
        from treadwalk.core.model import EventKind
        from treadwalk.core.units import format_duration

        if event.kind == EventKind.RECORDING:
            self._not_saved = None if event.data.get("saved") else event.message
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
        from treadwalk.core.units import ascent_text, distance_text, format_duration

        snap = self._last
        if snap is None:
            return "treadwalk: the session did not start."
        reason = snap.stop_reason.value if snap.stop_reason is not None else snap.phase.value
        imperial = self._units == "imperial"
        distance = distance_text(snap.distance_m, imperial)
        ascent = f"{ascent_text(snap.ascent_m, imperial)} up"
        parts = [reason, f"{format_duration(snap.session_elapsed_s)} moving", distance, ascent]
        if snap.energy_kcal is not None:
            parts.append(f"{snap.energy_kcal:.0f} kcal")
        line = f"{format_duration(snap.session_elapsed_s):>8}  {'summary':<12} " + " · ".join(parts)
        if self._not_saved is not None:
            line += f" · {self._not_saved}"
        elif snap.session_id is not None:
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


def _zones_or_none(hr: HeartRateConfig) -> tuple[Zone, ...]:
    """The walker's zones to show a reading's zone in, or none when the config cannot draw them."""
    from treadwalk.core.zones import zones

    return zones(hr) if hr.missing() is None else ()
