"""``treadwalk decode --char UUID HEX... [--json]``: FTMS and heart-rate bytes to values, one line
per frame.

Registers with argparse only; ``run`` imports the codec (``treadwalk.ftms``, stdlib only).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from treadwalk.core.errors import DecodeError, UsageError

_UNITS = (
    ("_per_min", "/min"),
    ("_kmpm", "km/min"),
    ("_kmh", "km/h"),
    ("_pct", "%"),
    ("_deg", "°"),
    ("_kcal", "kcal"),
    ("_kj", "kJ"),
    ("_ms", "ms"),
    ("_bpm", "bpm"),
    ("_mps", "m/s"),
    ("_mm", "mm"),
    ("_m", "m"),
    ("_s", "s"),
    ("_n", "N"),
    ("_w", "W"),
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "decode",
        help="FTMS and heart-rate bytes to values",
        description=(
            "Decode FTMS and heart-rate characteristic values, one line per frame (readable text, "
            "or JSON with --json). Characteristics: 2acc 2acd 2ad3 2ad4 2ad5 2ad9 2ada, adv (the "
            "FTMS advertisement service data, e.g. 010100), and the heart-rate strap's 2a37 "
            "(measurement), 2a38 (body sensor location), 2a19 (battery level)."
        ),
        epilog="example: treadwalk decode --char 2acd 8424960000000000000000000100010000",
    )
    p.add_argument("--char", required=True, metavar="UUID", help="2acd, 0x2ACD, the full UUID, or adv")
    p.add_argument(
        "hex", nargs="+", metavar="HEX", help="a frame as hex (spaces, : and - between bytes are fine)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line, canonical field names")
    p.set_defaults(func=run)


def parse_hex(text: str) -> bytes:
    cleaned = text.strip().lower().removeprefix("0x").replace(":", "").replace("-", "").replace(" ", "")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise UsageError(
            f"'{text}' is not hex bytes: give each frame as hex digits, two per byte (e.g. 8424960000)."
        ) from None


def _label(key: str) -> str:
    for suffix, unit in _UNITS:
        if key.endswith(suffix):
            return f"{key[: -len(suffix)].replace('_', ' ')} {{}} {unit}"
    return f"{key.replace('_', ' ')} {{}}"


def to_text(values: dict[str, Any]) -> str:
    """One readable line from a decoded ``to_dict()``."""
    d = dict(values)
    head = ""
    if "result_name" in d:
        head = f"{d.pop('result_name')} (response to {d.pop('request_name')})"
        d.pop("request_op", None)
        d.pop("result", None)
    elif "event" in d:
        head = f"{d.pop('event')} (0x{d.pop('op'):02x})"
    elif "name" in d and "op" in d:
        head = f"{d.pop('name')} (0x{d.pop('op'):02x})"
    elif "status_name" in d:
        head = f"{d.pop('status_name')} (0x{d.pop('status'):02x})"
    parts = []
    if d.pop("more_data", False):
        parts.append("more data follows (no speed in this frame)")
    truncated = d.pop("truncated", False)
    for key, value in d.items():
        if isinstance(value, list) and all(isinstance(v, int | float) for v in value):
            label = _label(key)
            parts.append(label.format(", ".join(f"{v:g}" for v in value) or "none"))
        elif isinstance(value, list):
            parts.append(f"{key.replace('_', ' ')}: {', '.join(value) or 'none'}")
        elif isinstance(value, str):
            parts.append(f"{key.replace('_', ' ')} {value!r}")
        elif key == "control" and value in (1, 2):
            parts.append(f"control {value} ({'stop' if value == 1 else 'pause'})")
        elif value is not None:
            parts.append(_label(key).format(value))
    if truncated:
        parts.append("TRUNCATED: the flags promised more bytes than arrived")
    body = ", ".join(parts)
    return f"{head}: {body}" if head and body else head or body or "(no fields)"


def run(args: argparse.Namespace) -> int:
    from treadwalk.ftms import CHARACTERISTICS, decode, short

    char = short(args.char)
    if char not in CHARACTERISTICS:
        raise UsageError(
            f"--char {args.char} is not a characteristic decode knows: use one of {', '.join(CHARACTERISTICS)}."
        )
    frames = [parse_hex(h) for h in args.hex]
    for data in frames:
        try:
            values = decode(char, data).to_dict()
        except DecodeError as exc:
            raise DecodeError(
                exc.char,
                exc.data,
                f"{exc.reason}; check the bytes, and that --char {char} is their characteristic.",
            ) from exc
        print(json.dumps(values, ensure_ascii=False) if args.json else to_text(values), flush=True)
    return 0
