"""The live terminal dashboard and keyboard control: the only module that imports rich.

- ``Dashboard``: an ``Observer`` of the session; ``await dashboard.run()`` draws it (Rich Live,
  driven from the event loop, at most 4 frames a second) and turns keys into ``Command``s.
- ``render(snapshot, width, height, view=None)``: the pure screen for one snapshot.
- ``render_summary(snapshot, summary=None, ...)``: the end-of-session panel.
- ``SessionSummary``: totals per segment kind and per incline band, folded from snapshots.

May import rich and ``treadwalk.core``; never bleak, Bumble or aiomqtt.
"""

from __future__ import annotations

from .keys import KEY_HELP, Controls, KeyReader, decode_keys
from .live import Dashboard
from .summary import SessionSummary
from .view import UNIT_MODES, View, render, render_summary

__all__ = [
    "KEY_HELP",
    "UNIT_MODES",
    "Controls",
    "Dashboard",
    "KeyReader",
    "SessionSummary",
    "View",
    "decode_keys",
    "render",
    "render_summary",
]
