"""The second screen's address as a QR code in text blocks, for any terminal (and plain lines).
segno (pure Python) makes the matrix; imported only with ``--web``."""

from __future__ import annotations

import segno

__all__ = ["qr_text"]

_BLOCKS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def qr_text(data: str, *, border: int = 2) -> str:
    """Two modules a character (upper and lower half blocks), dark on light: light terminal
    text on a dark background scans as the inverse, so the blocks draw the light modules."""
    code = segno.make(data, error="m", boost_error=False)
    rows = [[not dark for dark in row] for row in code.matrix_iter(scale=1, border=border)]
    if len(rows) % 2:
        rows.append([True] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        lines.append("".join(_BLOCKS[(bool(a), bool(b))] for a, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)
