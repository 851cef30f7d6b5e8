"""Recorded walks as text and pictures: ``history show``'s charts, ``history compare``'s speed
charts, and ``export --format svg|png``.

``walk_view`` builds the lines (a title rule, a legend, the charts of ``chart.walk_charts``);
``print_lines`` writes lines to standard output through Rich (colours on a terminal, plain text
when piped); ``svg`` records lines on a Console of a given width and returns Rich's own SVG (the
renderer of docs/dashboard.svg); ``png`` converts that SVG with CairoSVG, imported only here and
only when asked (an optional dependency: ``pip install 'treadwalk[png]'``, which needs the
system's cairo library).

May import rich (and cairosvg, lazily) and ``treadwalk.core`` only.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.text import Text

from treadwalk.core.errors import UsageError

from .chart import WalkEvent, WalkSample, walk_charts, walk_legend
from .format import S_LABEL, rule

__all__ = ["PngUnavailable", "png", "print_lines", "svg", "terminal_width", "walk_view"]


class PngUnavailable(UsageError):
    """PNG export needs CairoSVG (and the cairo library), which are optional."""


def walk_view(
    title: str,
    samples: Sequence[WalkSample],
    events: Sequence[WalkEvent],
    lap_starts: Sequence[float],
    width: int,
    *,
    mode: str = "metric",
    charts: Sequence[str] = ("speed", "incline", "heart"),
    span_s: float | None = None,
    speed_range_kmh: tuple[float, float] | None = None,
    plan_speed_kmh: Sequence[float | None] | None = None,
    plan_incline_pct: Sequence[float | None] | None = None,
) -> list[Text]:
    """A title rule, the legend and the charts of one walk (empty if there is nothing to draw)."""
    drawn = walk_charts(
        samples,
        events,
        lap_starts,
        width,
        mode=mode,
        charts=charts,
        span_s=span_s,
        speed_range_kmh=speed_range_kmh,
        plan_speed_kmh=plan_speed_kmh,
        plan_incline_pct=plan_incline_pct,
    )
    if not drawn:
        return []
    return [rule(Text(title, style="bold"), width), walk_legend(width), *drawn]


def terminal_width() -> int:
    """Standard output's width: the terminal's, else ``$COLUMNS``, else 80."""
    return Console(file=sys.stdout).width


def print_lines(lines: Sequence[Text | str], file: TextIO | None = None, width: int | None = None) -> None:
    """Write ``lines`` as they are (no wrapping, no markup): coloured on a terminal, plain text
    otherwise."""
    console = Console(file=file or sys.stdout, width=width, highlight=False, markup=False, emoji=False)
    for line in lines:
        text = line if isinstance(line, Text) else Text(line)
        text.no_wrap = True
        text.overflow = "crop"
        console.print(text, no_wrap=True, overflow="crop", soft_wrap=False)


def svg(lines: Sequence[Text | str], width: int, title: str) -> str:
    """``lines`` drawn on a Console ``width`` columns wide, exported by Rich as SVG."""
    console = Console(
        record=True,
        width=width,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        highlight=False,
        markup=False,
        emoji=False,
    )
    for line in lines:
        text = line if isinstance(line, Text) else Text(line, style=S_LABEL)
        text.no_wrap = True
        text.overflow = "crop"
        console.print(text, no_wrap=True, overflow="crop", soft_wrap=False)
    return console.export_svg(title=title)


_RICH_FONT = "font-family: Fira Code, monospace;"


def png(svg_text: str, scale: float = 1.0) -> bytes:
    """The SVG rasterised by CairoSVG. Raises ``PngUnavailable`` when it is not installed."""
    try:
        import cairosvg
    except (ImportError, OSError) as exc:  # OSError: the package is there, libcairo is not
        raise PngUnavailable(
            "PNG export needs CairoSVG and the cairo library: run "
            "'pip install \"treadwalk[png]\"' (and 'apt install libcairo2' on Debian/Ubuntu), "
            "or export --format svg"
        ) from exc
    # CairoSVG takes the first font family only, and cannot fetch the web font Rich names
    # (Fira Code): the system's monospace keeps the columns of the charts in line.
    svg_text = svg_text.replace(_RICH_FONT, "font-family: monospace;")
    data = cairosvg.svg2png(bytestring=svg_text.encode("utf-8"), scale=scale)
    assert isinstance(data, bytes)
    return data
