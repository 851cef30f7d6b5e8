"""The live dashboard: an ``Observer`` of the session that draws it and turns keys into Commands.

``Dashboard`` keeps only the latest ``SessionSnapshot`` and a few recent events. ``run()`` drives
Rich ``Live`` from the event loop (``auto_refresh=False``, no thread), at most ``max_fps`` times
a second and only when something changed or the terminal was resized, and reads keys with
``KeyReader`` (cbreak + ``loop.add_reader``). It returns when the session reaches a final phase
(or when cancelled), always leaving the terminal as it found it, then prints the summary.

Without a terminal it prints plain lines instead: one per event and a status line every
``status_every_s`` seconds of session time.

May import rich and ``treadwalk.core`` only.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import IO

from rich.console import Console
from rich.live import Live

from treadwalk.core.model import Command, EventKind, Phase, SessionEvent, SessionSnapshot

from .keys import Controls, KeyReader
from .summary import SessionSummary
from .view import (
    UNIT_MODES,
    Lines,
    View,
    next_units,
    plain_event_line,
    plain_status_line,
    plan_position_s,
    render,
    render_summary,
)

__all__ = ["Dashboard"]

log = logging.getLogger(__name__)

_FINAL = (Phase.FINISHED, Phase.ABORTED)
_CONFIRM_TIMEOUT_S = 10.0  # a pending "stop?" question goes away by itself after this long
_NOTICE_S = 5.0  # the answer to a key ("Carrying on.") stays this long


class Dashboard:
    """What the walker sees and presses. An ``Observer``; ``run()`` is its one task.

    - ``console``: where to draw (default: a new Console on stdout). Not a terminal: plain lines.
    - ``submit``: receives each ``Command`` from the keyboard (``engine.submit`` or a queue's
      ``put_nowait``). It must not block; an exception in it is logged, never raised.
    - ``units``: first display mode: ``metric`` | ``imperial`` | ``pace`` | ``pace_imperial``;
      ``u`` cycles them.
    - ``keys``: read the keyboard (True: stdin, an int: that file descriptor, False: never).
    - ``saved_to``: where the session store is, shown in the summary.
    - ``screen``: use the terminal's alternate screen (restored on exit, so the shell's
      scroll-back is untouched and the summary prints below it).
    """

    def __init__(
        self,
        console: Console | None = None,
        submit: Callable[[Command], None] | None = None,
        *,
        units: str = "metric",
        keys: bool | int = True,
        saved_to: str | None = None,
        screen: bool = True,
        max_fps: float = 4.0,
        status_every_s: float = 30.0,
        speed_step_kmh: float = 0.5,
        incline_step_pct: float = 0.5,
        print_summary: bool = True,
    ) -> None:
        self.console = console if console is not None else terminal_console()
        self._submit = submit
        self.units = units if units in UNIT_MODES else "metric"
        self._keys = keys
        self.saved_to = saved_to
        self.not_saved: str | None = None  # the recorder's last word while it cannot save
        self._screen = screen
        self._interval = 1.0 / max(0.1, min(max_fps, 4.0))
        self._status_every_s = status_every_s
        self._print_summary = print_summary
        self.controls = Controls(
            speed_step_kmh=speed_step_kmh, incline_step_pct=incline_step_pct, on_units=self._cycle_units
        )
        self.snapshot: SessionSnapshot | None = None
        self.events: collections.deque[SessionEvent] = collections.deque(maxlen=50)
        self.summary = SessionSummary()
        self.renders = 0  # how many frames were drawn (for tests and the benchmark)
        self._dirty = asyncio.Event()
        self._ended = False
        self._confirm_since: float | None = None
        self._notice_since: float | None = None
        self._last_status_at: float | None = None
        self._position_s: float | None = None
        self.second_screen: str | None = None  # the web page's address, shown on the ready screen
        self._plain = not self.console.is_terminal

    # ---- Observer ------------------------------------------------------------------------

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        self.snapshot = snapshot
        self.summary.add(snapshot)
        if snapshot.segment_index is not None:
            self._position_s = plan_position_s(snapshot)
        if snapshot.phase in _FINAL:
            self._ended = True
        if self._plain:
            self._plain_status(snapshot)
        self._dirty.set()

    def on_event(self, event: SessionEvent) -> None:
        if event.kind == EventKind.RECORDING:
            self.not_saved = None if event.data.get("saved") else event.message
        self.events.append(event)
        if self._plain:
            self.console.out(plain_event_line(event, self.snapshot), highlight=False)
        self._dirty.set()

    # ---- keys ----------------------------------------------------------------------------

    def _cycle_units(self) -> None:
        self.units = next_units(self.units)

    def press(self, key: str) -> None:
        """Handle one key (``KeyReader`` calls this; tests may too)."""
        cmd = self.controls.press(key, self.snapshot)
        now = asyncio.get_running_loop().time()
        self._confirm_since = now if self.controls.confirm_stop else None
        self._notice_since = now if self.controls.notice else None
        if cmd is not None and self._submit is not None:
            try:
                self._submit(cmd)
            except Exception:
                log.exception("the session did not take the command %s", cmd.kind.value)
        self._dirty.set()

    # ---- drawing -------------------------------------------------------------------------

    def view(self) -> View:
        return View(
            units=self.units,
            confirm_stop=self.controls.confirm_stop,
            events=tuple(self.events),
            summary=self.summary,
            saved_to=self.saved_to,
            not_saved=self.not_saved,
            notice=self.controls.notice,
            position_s=self._position_s,
            second_screen=self.second_screen,
        )

    def frame(self, width: int, height: int) -> object:
        """The renderable for the latest snapshot at this size (what ``run`` draws)."""
        return render(self.snapshot, width, height, self.view())

    def end_panel(self) -> object | None:
        if self.snapshot is None:
            return None
        return render_summary(
            self.snapshot,
            self.summary,
            units=self.units,
            saved_to=self.saved_to,
            not_saved=self.not_saved,
            width=self.console.width,
        )

    def _plain_status(self, snap: SessionSnapshot) -> None:
        if snap.phase not in (Phase.RUNNING, Phase.PAUSED, Phase.COOLDOWN):
            return
        last = self._last_status_at
        if last is None or snap.at - last >= self._status_every_s or snap.at < last:
            self._last_status_at = snap.at
            self.console.out(plain_status_line(snap, self.units), highlight=False)

    async def run(self) -> None:
        """Draw until the session ends (or this task is cancelled), then print the summary."""
        try:
            if self._plain:
                with self._key_reader():
                    while not self._ended:
                        self._dirty.clear()
                        await self._dirty.wait()
            else:
                await self._run_live()
        finally:
            if (
                self._print_summary
                and self.snapshot is not None
                and (self._ended or self.summary.moving_s > 0)
            ):
                panel = self.end_panel()
                if panel is not None:
                    with contextlib.suppress(Exception):
                        self.console.print(panel)

    @contextlib.contextmanager
    def _key_reader(self) -> Iterator[KeyReader | None]:
        if self._keys is False:
            yield None
            return
        fd = None if self._keys is True else int(self._keys)
        with KeyReader(self.press, fd) as reader:
            yield reader

    async def _run_live(self) -> None:
        loop = asyncio.get_running_loop()
        live = Live(
            console=self.console,
            screen=self._screen,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
            transient=False,
        )
        # Order matters on the way out: leave the screen first, then give the keyboard back.
        with self._key_reader(), _logs_held(self), live:
            last_size: tuple[int, int] | None = None
            last_key: tuple[object, ...] | None = None
            last_draw = float("-inf")
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval):
                        await self._dirty.wait()
                now = loop.time()
                if self._confirm_since is not None and now - self._confirm_since > _CONFIRM_TIMEOUT_S:
                    self.controls.confirm_stop = False
                    self._confirm_since = None
                    self._dirty.set()
                if self._notice_since is not None and now - self._notice_since > _NOTICE_S:
                    self.controls.notice = None
                    self._notice_since = None
                    self._dirty.set()
                size = (self.console.width, self.console.height)
                if self._dirty.is_set() or size != last_size or now - last_draw >= 1.0:
                    self._dirty.clear()
                    frame = self.frame(*size)
                    # Most frames repeat the last one (the numbers move once a second):
                    # writing them again would only cost CPU.
                    key = frame.key() if isinstance(frame, Lines) else None
                    if key is None or key != last_key or size != last_size:
                        live.update(frame, refresh=True)  # type: ignore[arg-type]
                        self.renders += 1
                    last_key, last_size, last_draw = key, size, now
                if self._ended:
                    return
                # at most max_fps frames a second
                await asyncio.sleep(max(0.0, last_draw + self._interval - loop.time()))


def terminal_console() -> Console:
    """A Console on stdout that follows the terminal's real size.

    Rich takes ``COLUMNS``/``LINES`` from the environment over the terminal's own size, and
    shells export them (bash updates them after every command): the screen would then never
    follow a resize. ``_environ`` is Rich's own hook for the environment it reads.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return Console(_environ=env)


class _HeldLogs(logging.Handler):
    """Holds log records while the screen is ours; shows warnings on it."""

    def __init__(self, dashboard: Dashboard) -> None:
        super().__init__(logging.NOTSET)
        self.records: collections.deque[logging.LogRecord] = collections.deque(maxlen=2000)
        self._dashboard = dashboard

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.levelno >= logging.WARNING:
            try:
                text = record.getMessage()
            except Exception:
                text = str(record.msg)
            self._dashboard.events.append(
                SessionEvent(at=0.0, wall=record.created, kind=EventKind.LOG, message=text)
            )
            self._dashboard._dirty.set()


def _is_tty(stream: IO[str] | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


@contextlib.contextmanager
def _logs_held(dashboard: Dashboard) -> Iterator[None]:
    """While the dashboard owns the terminal, log lines meant for it would tear the screen:
    hold them, show warnings on the dashboard, and write them all out afterwards."""
    root = logging.getLogger()
    moved: list[logging.Handler] = [
        h for h in root.handlers if isinstance(h, logging.StreamHandler) and _is_tty(h.stream)
    ]
    had_handlers = bool(root.handlers)
    held = _HeldLogs(dashboard)
    for h in moved:
        root.removeHandler(h)
    root.addHandler(held)
    try:
        yield
    finally:
        root.removeHandler(held)
        for h in moved:
            root.addHandler(h)
        targets: list[logging.Handler] = list(moved)
        if not had_handlers and logging.lastResort is not None:
            targets = [logging.lastResort]
        for record in held.records:
            for h in targets:
                if record.levelno >= h.level:
                    with contextlib.suppress(Exception):
                        h.handle(record)
