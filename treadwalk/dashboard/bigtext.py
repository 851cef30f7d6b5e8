"""Big digits for numbers read at arm's length, in three rows of half-block characters.

Stdlib only: returns plain strings, one per row; the caller styles them. ``scale`` enlarges the
glyphs' pixels (each half-block cell is two pixels, top and bottom) ``scale`` times in both
directions and packs them into half blocks again, so 2 gives six solid rows, not a striped copy
of each row. ``read_big`` turns rows back into text: the tests use it to check the numbers the
walker actually sees.
"""

from __future__ import annotations

__all__ = ["FONT", "big_rows", "big_width", "read_big"]

# Each glyph: three rows of equal width. Digits are three columns wide.
FONT: dict[str, tuple[str, str, str]] = {
    "0": ("█▀█", "█ █", "▀▀▀"),
    "1": ("▀█ ", " █ ", "▀▀▀"),
    "2": ("▀▀█", "█▀▀", "▀▀▀"),
    "3": ("▀▀█", " ▀█", "▀▀▀"),
    "4": ("█ █", "▀▀█", "  ▀"),
    "5": ("█▀▀", "▀▀█", "▀▀▀"),
    "6": ("█▀▀", "█▀█", "▀▀▀"),
    "7": ("▀▀█", "  █", "  ▀"),
    "8": ("█▀█", "█▀█", "▀▀▀"),
    "9": ("█▀█", "▀▀█", "▀▀▀"),
    ".": (" ", " ", "▀"),
    ":": (" ", "▀", "▀"),
    "-": ("   ", "▀▀▀", "   "),
    " ": (" ", " ", " "),
}
_GAP = " "


def big_rows(text: str, scale: int = 1) -> list[str]:
    """``text`` (digits, '.', ':', '-', ' '; anything else shows as '-') in 3*scale rows."""
    scale = max(1, scale)
    glyphs = [FONT.get(ch, FONT["-"]) for ch in text]
    lines = [_GAP.join(g[r] for g in glyphs) for r in range(3)]
    if scale == 1:
        return lines
    pixels = _to_pixels(lines)
    big = [[p for p in row for _ in range(scale)] for row in pixels for _ in range(scale)]
    return _to_cells(big)


_PIXELS = {" ": (0, 0), "▀": (1, 0), "▄": (0, 1), "█": (1, 1)}
_CELLS = {v: k for k, v in _PIXELS.items()}


def _to_pixels(rows: list[str]) -> list[list[int]]:
    """Half-block rows -> pixel rows (two per text row)."""
    width = max((len(r) for r in rows), default=0)
    out: list[list[int]] = []
    for row in rows:
        cells = [_PIXELS.get(ch, (0, 0)) for ch in row.ljust(width)]
        out.append([top for top, _ in cells])
        out.append([bottom for _, bottom in cells])
    return out


def _to_cells(pixels: list[list[int]]) -> list[str]:
    """Pixel rows (an even number) -> half-block rows."""
    return [
        "".join(_CELLS[(top, bottom)] for top, bottom in zip(pixels[i], pixels[i + 1], strict=True))
        for i in range(0, len(pixels), 2)
    ]


def big_width(text: str, scale: int = 1) -> int:
    return len(big_rows(text, scale)[0]) if text else 0


def read_big(rows: list[str], scale: int = 1) -> str:
    """Inverse of ``big_rows`` for rows that hold one big number (trailing spaces ignored)."""
    if scale > 1:
        pixels = _to_pixels(rows)
        rows = _to_cells([row[::scale] for row in pixels[::scale]])
    if len(rows) != 3:
        raise ValueError("big text has three rows per scale step")
    width = max(len(r) for r in rows)
    rows = [r.ljust(width) for r in rows]
    by_shape = {g: ch for ch, g in FONT.items() if ch != " "}
    out: list[str] = []
    col = 0
    while col < width:
        if all(r[col] == " " for r in rows):
            col += 1
            continue
        for w in (3, 1):
            shape = tuple(r[col : col + w] for r in rows)
            if shape in by_shape and (col + w >= width or all(r[col + w] == " " for r in rows)):
                out.append(by_shape[shape])
                col += w
                break
        else:
            raise ValueError(f"no glyph at column {col}: {[r[col : col + 3] for r in rows]}")
    return "".join(out)
