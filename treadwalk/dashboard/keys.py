"""Keys: terminal bytes to key names, key names to ``Command``s, and a cbreak reader on the loop.

- ``decode_keys(bytes)``: what was pressed (``"a"``, ``"enter"``, ``"up"``, ``"escape"``...).
- ``Controls``: the key map and the q-confirmation, as a small state machine with no I/O.
- ``KeyReader``: puts a terminal in cbreak mode (no echo, no line buffering; Ctrl+C still
  raises SIGINT) and calls back on each key from ``loop.add_reader``, so the event loop never
  blocks. The original terminal mode is restored on exit, whatever the exit.

Stdlib and ``treadwalk.core`` only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
import tty
from collections.abc import Callable
from types import TracebackType
from typing import Any

from treadwalk.core.model import Command, CommandKind, Phase, SessionSnapshot

__all__ = ["KEY_HELP", "Controls", "KeyReader", "decode_keys"]

_CSI_NAMES = {"A": "up", "B": "down", "C": "right", "D": "left"}

# The key map as users read it (README and help). Values are the Command they send.
KEY_HELP: tuple[tuple[str, str], ...] = (
    ("Enter (or s)", "start the belt from the ready screen (after a countdown)"),
    ("space", "pause / resume (during the countdown: not yet, back to the ready screen)"),
    ("+ or =, up", "speed up"),
    ("- , down", "slow down"),
    ("]", "incline up"),
    ("[", "incline down"),
    ("n", "skip to the next segment"),
    ("e", "extend the segment (1 min, or 100 m)"),
    ("u", "units: km/h → min/km → mph → min/mi"),
    ("q", "stop (cool-down, then stop); asks first: q or y confirms, any other key cancels"),
    ("x", "EMERGENCY STOP: the belt stops now, no cool-down, no question"),
    ("Ctrl+C", "stop and leave"),
)


def decode_keys(data: bytes) -> list[str]:
    """Split what the terminal sent into key names. Printable keys are themselves; a few
    special keys get names; unknown escape sequences become ``"unknown"``."""
    text = data.decode("utf-8", errors="replace")
    keys: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\x1b":
            if i + 1 < len(text) and text[i + 1] in "[O":
                j = i + 2
                while j < len(text) and not ("@" <= text[j] <= "~"):
                    j += 1
                final = text[j] if j < len(text) else ""
                keys.append(_CSI_NAMES.get(final, "unknown"))
                i = j + 1
                continue
            keys.append("escape")
        elif ch in "\r\n":
            keys.append("enter")
        elif ch == "\x7f":
            keys.append("backspace")
        elif ch == "\t":
            keys.append("tab")
        elif ch < " ":
            keys.append("unknown")
        else:
            keys.append(ch)
        i += 1
    return keys


class Controls:
    """The key map. ``press`` returns the Command to submit (or None) and updates local state:
    the pending stop confirmation and the display units."""

    def __init__(
        self,
        *,
        speed_step_kmh: float = 0.5,
        incline_step_pct: float = 0.5,
        extend_s: float = 60.0,
        extend_m: float = 100.0,
        on_units: Callable[[], None] | None = None,
    ) -> None:
        self.speed_step_kmh = speed_step_kmh
        self.incline_step_pct = incline_step_pct
        self.extend_s = extend_s
        self.extend_m = extend_m
        self.confirm_stop = False
        self.notice: str | None = None
        self._on_units = on_units

    def press(self, key: str, snap: SessionSnapshot | None) -> Command | None:
        phase = snap.phase if snap is not None else None
        k = key.lower() if len(key) == 1 else key
        self.notice = None
        if k == "x":  # always, whatever else is going on
            self.confirm_stop = False
            return Command(CommandKind.EMERGENCY_STOP)
        if self.confirm_stop:
            self.confirm_stop = False
            if k in ("q", "y"):
                return Command(CommandKind.STOP)
            self.notice = "Carrying on."
            return None
        if phase in (Phase.FINISHED, Phase.ABORTED):
            return None
        if k == "q":
            if phase in (Phase.READY, Phase.CONNECTING, Phase.COUNTDOWN, None):
                return Command(CommandKind.STOP)  # the belt is not moving yet: no question
            self.confirm_stop = True
            return None
        if k == "u":
            if self._on_units is not None:
                self._on_units()
            return None
        if phase in (Phase.READY, Phase.CONNECTING, None):
            if k in ("enter", "s") and phase == Phase.READY:
                return Command(CommandKind.START)
            if k == "enter" or len(k) == 1:
                self.notice = "Press Enter to start the belt."
            return None
        if phase == Phase.COUNTDOWN:  # space: back to ready; q (above) quits; x stops
            return Command(CommandKind.TOGGLE_PAUSE) if k == " " else None
        if k == " ":
            return Command(CommandKind.TOGGLE_PAUSE)
        cooldown = phase == Phase.COOLDOWN or (
            phase == Phase.PAUSED and snap is not None and snap.segment is None
        )
        if cooldown and k in ("+", "=", "up", "-", "_", "down", "]", "}", "[", "{", "e"):
            self.notice = "The cool-down keeps its own easy pace: q ends it now."
            return None
        if k in ("+", "=", "up"):
            return Command(CommandKind.SPEED, self.speed_step_kmh)
        if k in ("-", "_", "down"):
            return Command(CommandKind.SPEED, -self.speed_step_kmh)
        if k in ("]", "}"):
            return Command(CommandKind.INCLINE, self.incline_step_pct)
        if k in ("[", "{"):
            return Command(CommandKind.INCLINE, -self.incline_step_pct)
        if k == "n":
            return Command(CommandKind.SKIP)
        if k == "e":
            seg = snap.segment if snap is not None else None
            by_distance = seg is not None and seg.distance_m is not None
            return Command(CommandKind.EXTEND, self.extend_m if by_distance else self.extend_s)
        return None


class KeyReader:
    """Read keys from a terminal without blocking the loop. A context manager; use inside a
    running loop. On a file descriptor that is not a terminal it does nothing (``active`` is
    False), so piped input never changes any terminal mode."""

    def __init__(self, on_key: Callable[[str], None], fd: int | None = None) -> None:
        self._on_key = on_key
        self._fd = fd
        self._saved: list[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.active = False

    def __enter__(self) -> KeyReader:
        fd = self._fd
        if fd is None:
            try:
                fd = sys.stdin.fileno()
            except (AttributeError, ValueError, OSError):
                return self
            self._fd = fd
        if not os.isatty(fd):
            return self
        self._loop = asyncio.get_running_loop()
        self._saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd, termios.TCSANOW)
            self._loop.add_reader(fd, self._readable)
        except BaseException:
            termios.tcsetattr(fd, termios.TCSANOW, self._saved)
            self._saved = None
            raise
        self.active = True
        return self

    def _readable(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the terminal went away: stop reading, keep running
            self._remove_reader()
            return
        for key in decode_keys(data):
            self._on_key(key)

    def _remove_reader(self) -> None:
        if self._loop is not None and self._fd is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._fd)
        self._loop = None

    def close(self) -> None:
        """Stop reading and put the terminal back as it was. Safe to call twice."""
        self._remove_reader()
        if self._saved is not None and self._fd is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
        self._saved = None
        self.active = False

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
