"""Wire helpers shared by the FTMS codec modules: scaled integers, rounding, range checks.

Stdlib and ``treadwalk.core`` only. Private to ``treadwalk.ftms``.
"""

from __future__ import annotations

import math

from treadwalk.core.units import round_half_up

__all__ = ["to_raw", "u16", "u24"]


def to_raw(value: float, decimals: int, lo: int, hi: int, what: str) -> int:
    """``value`` in its unit -> the wire integer at ``10**-decimals`` resolution, rounded half up.

    Rounded on the decimal value a person wrote (4.1 km/h -> 410, never 409). Raises
    ``ValueError`` when the rounded value falls outside ``[lo, hi]`` (the wire type, minus any
    "not available" sentinel) or is not a finite number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value}")
    if decimals == 0 and isinstance(value, int):
        raw = value
    else:
        # round_half_up on the decimal value, then scale: the product is within 1e-9 of an
        # integer, so round() lands exactly on it (4.1 -> 4.1 -> 410.00000000000006 -> 410).
        raw = round(round_half_up(float(value), decimals) * 10**decimals)
    if not lo <= raw <= hi:
        scale = 10**-decimals
        raise ValueError(
            f"{what} {value} is outside what the wire carries ({lo * scale:g} to {hi * scale:g})"
        )
    return raw


def u16(data: bytes | bytearray | memoryview, offset: int) -> int:
    return data[offset] | (data[offset + 1] << 8)


def u24(data: bytes | bytearray | memoryview, offset: int) -> int:
    return data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16)
