"""The second screen: the live session on a phone or tablet, in a browser (DESIGN.md "web").

``WebView`` (``server.py``) is an observer like the dashboard and telemetry, and the only aiohttp
user; ``settings.py`` and ``payload.py`` are stdlib only. This package loads aiohttp only when
``WebView`` is asked for, so ``--help`` and ``import treadwalk`` never do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import DEFAULT_PORT, WebSettings, parse_listen

if TYPE_CHECKING:
    from .server import WebStats, WebView

__all__ = ["DEFAULT_PORT", "WebSettings", "WebStats", "WebView", "parse_listen"]


def __getattr__(name: str) -> Any:
    if name in ("WebView", "WebStats"):
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
