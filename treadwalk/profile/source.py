"""Line numbers for TOML values. Stdlib only.

``tomllib`` reports no positions, so problems are placed by scanning the source text: table
headers (``[[segment]]``, ``[[segment.segment]]``, ``[a.b]``) and ``key = value`` lines are
mapped to the same paths the loader walks (``("segment", 2, "speed")``). Items of an inline
array (``cues = [ {...}, {...} ]``) are placed on the line of their opening brace. The result is
approximate on exotic layouts (several keys on one line, multi-line strings holding ``=``) but
always names a line at or before the problem. Built only when a problem is found.
"""

from __future__ import annotations

import re

__all__ = ["LineIndex"]

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(dotted: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", dotted)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


class LineIndex:
    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        arrays: dict[Path, int] = {}
        table: Path = ()
        in_multiline: str | None = None
        open_array: tuple[Path, int] | None = None  # (path of an inline array, items seen)
        for lineno, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            if open_array is not None:
                array_path, seen = open_array
                for _ in range(line.count("{")):
                    self.lines.setdefault((*array_path, seen), lineno)
                    seen += 1
                open_array = None if line.split("#")[0].rstrip().endswith("]") else (array_path, seen)
                continue
            header = _HEADER.match(line)
            if header:
                open_array = None
                parts = _split_key(header.group(2))
                path: Path = ()
                for part in parts[:-1]:
                    path = (*path, part)
                    if path in arrays:
                        path = (*path, arrays[path] - 1)
                path = (*path, parts[-1])
                if header.group(1) == "[[":
                    index = arrays.get(path, 0)
                    arrays[path] = index + 1
                    path = (*path, index)
                table = path
                self.lines.setdefault(table, lineno)
                continue
            key = _KEY.match(line)
            if key:
                key_path = (*table, *_split_key(key.group(1)))
                self.lines.setdefault(key_path, lineno)
                rest = line[key.end() :]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_multiline = quote
                if rest.strip().startswith("[") and "]" not in rest.split("#")[0]:
                    seen = 0
                    for _ in range(rest.count("{")):
                        self.lines.setdefault((*key_path, seen), lineno)
                        seen += 1
                    open_array = (key_path, seen)
                elif rest.strip().startswith("["):
                    for i in range(rest.count("{")):
                        self.lines.setdefault((*key_path, i), lineno)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return None
