"""The ``treadwalk watch`` table: one row per treadmill publishing under a prefix. Rich only.

Takes any rows shaped like ``treadwalk.telemetry.board.TreadmillRow`` (a Protocol here, so
the dashboard does not import telemetry); the ``cli`` joins the two.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Protocol

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["WatchRow", "format_ago", "render_watch_text", "watch_table"]


class WatchRow(Protocol):
    @property
    def treadmill_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def phase(self) -> str | None: ...
    @property
    def segment(self) -> str | None: ...
    @property
    def speed_kmh(self) -> float | None: ...
    @property
    def incline_pct(self) -> float | None: ...
    @property
    def distance_m(self) -> float | None: ...
    @property
    def heart_rate_bpm(self) -> int | None: ...
    @property
    def last_seen(self) -> float | None: ...
    def status(self, now: float) -> str: ...


_STATUS_STYLE = {"online": "green", "offline": "bold red", "stale": "yellow", "unknown": "dim"}


def format_ago(last_seen: float | None, now: float) -> str:
    if last_seen is None:
        return "never"
    ago = max(0.0, now - last_seen)
    if ago < 2:
        return "now"
    if ago < 90:
        return f"{ago:.0f} s ago"
    if ago < 90 * 60:
        return f"{ago / 60:.0f} min ago"
    return f"{ago / 3600:.1f} h ago"


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def watch_table(rows: Sequence[WatchRow], now: float, *, title: str | None = None) -> Table:
    table = Table(title=title, expand=False, header_style="bold")
    table.add_column("Treadmill")
    table.add_column("Status")
    table.add_column("Phase")
    table.add_column("Segment")
    table.add_column("km/h", justify="right")
    table.add_column("Incl %", justify="right")
    table.add_column("Dist km", justify="right")
    table.add_column("HR", justify="right")
    table.add_column("Last seen", justify="right")
    for row in rows:
        status = row.status(now)
        name = row.name if row.name == row.treadmill_id else f"{row.name} ({row.treadmill_id})"
        dim = "dim" if status == "offline" else ""
        table.add_row(
            Text(name, style=dim),
            Text(status.upper() if status == "offline" else status, style=_STATUS_STYLE.get(status, "")),
            row.phase or "–",
            row.segment or "–",
            _num(row.speed_kmh, ".1f"),
            _num(row.incline_pct, ".1f"),
            _num(None if row.distance_m is None else row.distance_m / 1000, ".2f"),
            "–" if row.heart_rate_bpm is None else str(row.heart_rate_bpm),
            format_ago(row.last_seen, now),
            style=dim or None,
        )
    if not rows:
        table.add_row("(no treadmill has published yet)", "", "", "", "", "", "", "", "")
    return table


def render_watch_text(
    rows: Sequence[WatchRow], now: float, *, width: int = 110, title: str | None = None
) -> str:
    """The table as plain text (no colour): for ``--once`` and for tests."""
    console = Console(record=True, width=width, color_system=None, file=io.StringIO())
    console.print(watch_table(rows, now, title=title))
    return console.export_text()


class WatchView:
    """The live table on the terminal, redrawn by the caller (``Live(auto_refresh=False)``)."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.live import Live

        self.console = console or Console()
        self._live = Live(console=self.console, auto_refresh=False, transient=False)

    def __enter__(self) -> WatchView:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    def update(self, rows: Sequence[WatchRow], now: float, *, title: str | None = None) -> None:
        self._live.update(watch_table(rows, now, title=title), refresh=True)
