"""The live terminal dashboard and keyboard control: the only module that imports rich.

- ``Dashboard``: an ``Observer`` of the session; ``await dashboard.run()`` draws it (Rich Live,
  driven from the event loop, at most 4 frames a second) and turns keys into ``Command``s.
- ``render(snapshot, width, height, view=None)``: the pure screen for one snapshot.
- ``render_summary(snapshot, summary=None, ...)``: the end-of-session panel.
- ``SessionSummary``: totals per segment kind and per incline band, folded from snapshots.
- ``dashboard.history``: recorded walks drawn over their plan (``history show``, ``export svg``).

The names are imported on first use, so ``treadwalk history show`` (which needs only the charts)
does not pay for the live view, the key reader and asyncio.

May import rich and ``treadwalk.core``; never bleak, Bumble or aiomqtt.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "KEY_HELP": "keys",
    "Controls": "keys",
    "KeyReader": "keys",
    "decode_keys": "keys",
    "Dashboard": "live",
    "SessionSummary": "summary",
    "UNIT_MODES": "view",
    "View": "view",
    "render": "view",
    "render_summary": "view",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
