"""Treadmill Data (0x2ACD): decode, encode, split into MTU-sized notifications, reassemble.

Stdlib and ``treadwalk.core`` only; no I/O.

Real-world tolerance (shared/ftms/REFERENCE.md part 2):

- flag bit 13 (RFU in the spec) carries a vendor uint24 step count after the last standard field
  (CITYSPORTS, UREVO, KingSmith): decoded as ``steps``;
- flags that promise more bytes than arrive (Matrix): the fields that fit are decoded, the
  record is marked ``truncated``;
- "not available" values become ``None``: the spec's sentinels (0x7FFF in the signed fields,
  0xFFFF/0xFF in the energy fields) and, for elevation gain, which has none in the spec,
  0x7FFF and 0xFFFF as real machines send them;
- bytes after the last field the flags describe (flag bits 14-15, vendor padding) are ignored.

Speed: decoding is on the notification hot path, so the layout of each flags value (one
``struct.Struct`` and a field table) is built once and cached, instead of walking the bits of
every frame.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from treadwalk.core.errors import DecodeError

from ._wire import to_raw

__all__ = [
    "TreadmillData",
    "TreadmillDataAssembler",
    "decode_treadmill_data",
    "encode_treadmill_data",
    "split_treadmill_record",
]

CHAR = "2acd"


@dataclass(frozen=True)
class TreadmillData:
    """One Treadmill Data notification, or a record merged from several.

    A field is ``None`` when the frame does not carry it or carries it as "not available".
    ``more_data`` is the frame's More Data flag (True: the record continues in the next
    notification and this frame has no speed; never read it as speed 0). ``truncated``: the
    flags promised more bytes than arrived, and the missing fields are ``None``.
    """

    more_data: bool = False
    speed_kmh: float | None = None
    avg_speed_kmh: float | None = None
    distance_m: int | None = None
    incline_pct: float | None = None
    ramp_angle_deg: float | None = None
    elevation_gain_m: float | None = None
    elevation_loss_m: float | None = None
    pace_kmpm: float | None = None
    avg_pace_kmpm: float | None = None
    energy_total_kcal: int | None = None
    energy_per_hour_kcal: int | None = None
    energy_per_min_kcal: int | None = None
    heart_rate_bpm: int | None = None
    met: float | None = None
    elapsed_s: int | None = None
    remaining_s: int | None = None
    force_n: int | None = None
    power_w: int | None = None
    steps: int | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """``more_data``, ``truncated`` and every present field, by canonical name."""
        out: dict[str, Any] = {"more_data": self.more_data}
        for name in _VALUE_NAMES:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["truncated"] = self.truncated
        return out

    def present(self) -> frozenset[str]:
        """Names of the value fields that are not ``None``."""
        return frozenset(n for n in _VALUE_NAMES if getattr(self, n) is not None)

    def merge(self, newer: TreadmillData) -> TreadmillData:
        """This record with ``newer``'s present fields laid over it (``newer``'s More Data)."""
        kw: dict[str, Any] = {}
        for name in _VALUE_NAMES:
            value = getattr(newer, name)
            kw[name] = getattr(self, name) if value is None else value
        return TreadmillData(more_data=newer.more_data, truncated=self.truncated or newer.truncated, **kw)


_VALUE_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(TreadmillData) if f.name not in ("more_data", "truncated")
)
# Every field at its default, in field order: the decoder copies it and fills in what it read.
_ALL_ABSENT: dict[str, Any] = {f.name: f.default for f in fields(TreadmillData)}


def _build(values: dict[str, Any]) -> TreadmillData:
    """A TreadmillData from a complete field dict, skipping the frozen ``__init__`` (which costs
    more than the whole decode: one ``object.__setattr__`` per field). Hot path only."""
    obj = object.__new__(TreadmillData)
    object.__setattr__(obj, "__dict__", values)
    return obj


# ---------------------------------------------------------------------------------------------
# The field table (REFERENCE.md §1.4), in wire order. Bit 0 is inverted: 0 = speed present.


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    code: str  # struct code; "T" = uint24, packed as "HB"
    decimals: int  # wire resolution 10**-decimals of the unit; 0 = integer field
    na: frozenset[int]  # raw values that mean "not available"

    @property
    def size(self) -> int:
        return {"B": 1, "H": 2, "h": 2, "T": 3}[self.code]

    @property
    def raw_range(self) -> tuple[int, int]:
        lo, hi = {"B": (0, 0xFF), "H": (0, 0xFFFF), "h": (-0x8000, 0x7FFF), "T": (0, 0xFFFFFF)}[self.code]
        # An encodable value never collides with a sentinel (they sit at the top of each type).
        return (lo, min(hi, min(self.na) - 1)) if self.na else (lo, hi)


_NONE: frozenset[int] = frozenset()
_S16_NA = frozenset({0x7FFF})
_ELEV_NA = frozenset({0x7FFF, 0xFFFF})  # P2: Life Fitness sends 0x7FFF, Matrix 0xFFFF

_GROUPS: tuple[tuple[int, tuple[_Field, ...]], ...] = (
    (0, (_Field("speed_kmh", "H", 2, _NONE),)),
    (1, (_Field("avg_speed_kmh", "H", 2, _NONE),)),
    (2, (_Field("distance_m", "T", 0, _NONE),)),
    (3, (_Field("incline_pct", "h", 1, _S16_NA), _Field("ramp_angle_deg", "h", 1, _S16_NA))),
    (4, (_Field("elevation_gain_m", "H", 1, _ELEV_NA), _Field("elevation_loss_m", "H", 1, _ELEV_NA))),
    (5, (_Field("pace_kmpm", "B", 1, _NONE),)),
    (6, (_Field("avg_pace_kmpm", "B", 1, _NONE),)),
    (
        7,
        (
            _Field("energy_total_kcal", "H", 0, frozenset({0xFFFF})),
            _Field("energy_per_hour_kcal", "H", 0, frozenset({0xFFFF})),
            _Field("energy_per_min_kcal", "B", 0, frozenset({0xFF})),
        ),
    ),
    (8, (_Field("heart_rate_bpm", "B", 0, _NONE),)),
    (9, (_Field("met", "B", 1, _NONE),)),
    (10, (_Field("elapsed_s", "H", 0, _NONE),)),
    (11, (_Field("remaining_s", "H", 0, _NONE),)),
    (12, (_Field("force_n", "h", 0, _S16_NA), _Field("power_w", "h", 0, _S16_NA))),
    (13, (_Field("steps", "T", 0, _NONE),)),  # vendor: RFU in the spec (P1)
)
_KNOWN_BITS = 0x3FFF
_FIELD_BY_NAME: dict[str, _Field] = {f.name: f for _, group in _GROUPS for f in group}


def _present_groups(flags: int) -> list[tuple[_Field, ...]]:
    out = []
    for bit, group in _GROUPS:
        on = flags & (1 << bit)
        if (not on) if bit == 0 else on:
            out.append(group)
    return out


class _Layout:
    """Everything needed to decode one flags value, built once per flags value seen."""

    __slots__ = ("more_data", "plan", "size", "struct", "walk")

    def __init__(self, flags: int) -> None:
        self.more_data = bool(flags & 1)
        codes: list[str] = []
        # plan: (name, index of the raw value, uint24 high byte index or -1, divisor or 0, na)
        plan: list[tuple[str, int, int, int, frozenset[int]]] = []
        walk: list[tuple[_Field, int]] = []  # (field, byte offset) for truncated frames
        offset = 2
        for group in _present_groups(flags):
            for f in group:
                walk.append((f, offset))
                offset += f.size
                index = len(codes)
                if f.code == "T":
                    codes += ["H", "B"]
                    plan.append((f.name, index, index + 1, 0, f.na))
                else:
                    codes.append(f.code)
                    plan.append((f.name, index, -1, 10**f.decimals if f.decimals else 0, f.na))
        self.struct = struct.Struct("<" + "".join(codes))
        self.size = offset
        self.plan = tuple(plan)
        self.walk = tuple(walk)


_LAYOUTS: dict[int, _Layout] = {}
_UNPACK_ONE = {"B": struct.Struct("<B"), "H": struct.Struct("<H"), "h": struct.Struct("<h")}


def _layout(flags: int) -> _Layout:
    layout = _LAYOUTS.get(flags)
    if layout is None:
        layout = _LAYOUTS[flags] = _Layout(flags)
    return layout


def decode_treadmill_data(data: bytes | bytearray | memoryview) -> TreadmillData:
    """Decode one 0x2ACD notification. Raises ``DecodeError`` when there are no flags."""
    n = len(data)
    if n < 2:
        raise DecodeError(
            CHAR, bytes(data), f"{n} byte(s) is shorter than the 2-byte flags every frame starts with"
        )
    layout = _layout((data[0] | (data[1] << 8)) & _KNOWN_BITS)
    kw = _ALL_ABSENT.copy()
    kw["more_data"] = layout.more_data
    if n >= layout.size:
        raw = layout.struct.unpack_from(data, 2)
        for name, i, hi, divisor, na in layout.plan:
            v = raw[i] if hi < 0 else raw[i] | (raw[hi] << 16)
            if na and v in na:
                continue
            kw[name] = v / divisor if divisor else v
        return _build(kw)
    # Truncated (P3): decode the fields that arrived whole.
    for f, offset in layout.walk:
        if offset + f.size > n:
            break
        if f.code == "T":
            v = data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16)
        else:
            (v,) = _UNPACK_ONE[f.code].unpack_from(data, offset)
        if v in f.na:
            continue
        kw[f.name] = v / 10**f.decimals if f.decimals else v
    kw["truncated"] = True
    return _build(kw)


# ---------------------------------------------------------------------------------------------
# Encoding


def _encode_group(d: TreadmillData, group: tuple[_Field, ...]) -> bytes | None:
    """The group's bytes, or None when none of its fields is present. Absent fields of a
    present group go out as their "not available" sentinel."""
    values = [getattr(d, f.name) for f in group]
    if all(v is None for v in values):
        return None
    out = bytearray()
    for f, v in zip(group, values, strict=True):
        if v is None:
            raw = max(f.na)
        else:
            lo, hi = f.raw_range
            raw = to_raw(v, f.decimals, lo, hi, f.name)
        if f.code == "T":
            out += raw.to_bytes(3, "little")
        else:
            out += _UNPACK_ONE[f.code].pack(raw)
    return bytes(out)


def _groups_of(d: TreadmillData) -> list[tuple[int, bytes]]:
    out = []
    for bit, group in _GROUPS:
        chunk = _encode_group(d, group)
        if chunk is not None:
            out.append((bit, chunk))
    return out


def _frame(groups: Iterable[tuple[int, bytes]], more_data: bool) -> bytes:
    flags = 1 if more_data else 0
    body = bytearray()
    for bit, chunk in groups:
        if bit:
            flags |= 1 << bit
        body += chunk
    return flags.to_bytes(2, "little") + bytes(body)


def encode_treadmill_data(d: TreadmillData) -> bytes:
    """One 0x2ACD frame carrying every present field of ``d``.

    The flags follow from the present fields: More Data is set exactly when ``speed_kmh`` is
    None (``d.more_data`` is not consulted), ``steps`` sets vendor bit 13 and goes last as a
    uint24. Values are rounded half up onto the wire resolution; a value the wire type cannot
    carry raises ``ValueError``.
    """
    return _frame(_groups_of(d), more_data=d.speed_kmh is None)


def split_treadmill_record(d: TreadmillData, max_payload: int = 20) -> list[bytes]:
    """``d`` as the notifications of one Data Record, each at most ``max_payload`` bytes.

    A record that fits is one frame. Otherwise (REFERENCE.md §1.4, as Matrix and Technogym do):
    the fields of flag bits 1-7 go first, in frames with More Data = 1; speed and the fields of
    bits 8-12 (and the vendor steps) go in the last frame, More Data = 0. When the last frame
    would still be too long, its leading groups move into the More Data frames before it.
    Raises ``ValueError`` when a record that needs splitting has no speed (only the last frame
    carries speed), or when one field group alone does not fit ``max_payload``.
    """
    groups = _groups_of(d)
    whole = _frame(groups, more_data=d.speed_kmh is None)
    if len(whole) <= max_payload:
        return [whole]
    if d.speed_kmh is None:
        raise ValueError("a record split over several notifications needs speed_kmh for its last frame")
    for bit, chunk in groups:
        if 2 + len(chunk) > max_payload:
            raise ValueError(f"max_payload {max_payload} cannot hold the field group of flag bit {bit}")
    early = [g for g in groups if 1 <= g[0] <= 7]
    last = [g for g in groups if g[0] == 0 or g[0] >= 8]  # speed first
    while 2 + sum(len(c) for _, c in last) > max_payload:
        early.append(last.pop(1))
    frames: list[bytes] = []
    current: list[tuple[int, bytes]] = []
    size = 2
    for g in early:
        if size + len(g[1]) > max_payload:
            frames.append(_frame(current, more_data=True))
            current, size = [], 2
        current.append(g)
        size += len(g[1])
    if current:
        frames.append(_frame(current, more_data=True))
    frames.append(_frame(last, more_data=False))
    return frames


# ---------------------------------------------------------------------------------------------
# Reassembly


class TreadmillDataAssembler:
    """Merges multi-packet Data Records: ``feed`` returns a record when a frame with More Data = 0
    completes it, and None before that.

    A frame that repeats a field already collected for the pending record means the end of that
    record was lost: the stale part is dropped (counted in ``discarded``) and the new frame starts
    afresh, so old values never leak into a new record. Call ``reset()`` when the link drops (the
    spec discards a partial record then, §4.18).
    """

    __slots__ = ("_pending", "_pending_fields", "discarded")

    def __init__(self) -> None:
        self._pending: TreadmillData | None = None
        self._pending_fields: frozenset[str] = frozenset()
        self.discarded = 0

    def reset(self) -> None:
        if self._pending is not None:
            self.discarded += 1
        self._pending = None
        self._pending_fields = frozenset()

    def feed(self, data: bytes | bytearray | memoryview) -> TreadmillData | None:
        """Decode one notification (``DecodeError`` propagates; the pending part is kept)."""
        return self.add(decode_treadmill_data(data))

    def add(self, frame: TreadmillData) -> TreadmillData | None:
        """Like ``feed``, for an already decoded frame."""
        pending = self._pending
        if pending is not None:
            present = frame.present()
            if present & self._pending_fields:
                self.reset()
                pending = None
            else:
                frame = pending.merge(frame)
        if frame.more_data:
            self._pending = frame
            self._pending_fields = frame.present()
            return None
        self._pending = None
        self._pending_fields = frozenset()
        return frame
