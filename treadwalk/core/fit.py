"""A small FIT encoder: base types, messages, definitions, developer fields, the CRC. Stdlib only.

Shared by the FIT activity export (``treadwalk.recording.fit``) and the FIT workout export
(``treadwalk.profile.fitworkout``); see the first for why treadwalk writes FIT itself. The format
is small: a 14-byte header, definition and data messages, a CRC-16 at the end. Developer fields
(FIT 2.0) are declared with ``developer_data_id`` and ``field_description`` messages, written by
``FitWriter.developer_fields``.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ENUM",
    "FIT_EPOCH",
    "SINT16",
    "STRING",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT32Z",
    "BaseType",
    "DevField",
    "Field",
    "FitWriter",
    "Message",
    "crc16",
]

FIT_EPOCH = 631_065_600  # 1989-12-31T00:00:00Z in Unix seconds
PROFILE_VERSION = 2100  # 21.00: every field written here is older than that
PROTOCOL_VERSION = 0x20  # 2.0


# ---------------------------------------------------------------------------------------------
# CRC: FIT uses CRC-16/ARC (reflected polynomial 0xA001, initial value 0).


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0) -> int:
    for byte in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


# ---------------------------------------------------------------------------------------------
# Base types and messages


@dataclass(frozen=True, slots=True)
class BaseType:
    code: int
    fmt: str  # struct format, little endian; "s" for strings
    invalid: int
    lo: int
    hi: int


ENUM = BaseType(0x00, "B", 0xFF, 0, 0xFE)
UINT8 = BaseType(0x02, "B", 0xFF, 0, 0xFE)
SINT16 = BaseType(0x83, "h", 0x7FFF, -0x7FFF, 0x7FFE)
UINT16 = BaseType(0x84, "H", 0xFFFF, 0, 0xFFFE)
UINT32 = BaseType(0x86, "I", 0xFFFFFFFF, 0, 0xFFFFFFFE)
UINT32Z = BaseType(0x8C, "I", 0, 1, 0xFFFFFFFF)
STRING = BaseType(0x07, "s", 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Field:
    num: int
    name: str
    base: BaseType
    scale: float = 1.0
    offset: float = 0.0
    size: int = 0  # strings (bytes including the terminating NUL) and byte arrays only

    @property
    def fmt(self) -> str:
        return f"{self.size}s" if self.size else self.base.fmt

    @property
    def nbytes(self) -> int:
        return struct.calcsize("<" + self.fmt)


@dataclass(frozen=True, slots=True)
class Message:
    num: int
    name: str
    fields: tuple[Field, ...]

    @property
    def struct_fmt(self) -> str:
        return "<" + "".join(f.fmt for f in self.fields)


BYTE = BaseType(0x0D, "B", 0xFF, 0, 0xFE)


@dataclass(frozen=True, slots=True)
class DevField:
    """A developer field: its number under one developer, base type, and, for strings, size."""

    num: int
    name: str
    base: BaseType
    scale: float = 1.0
    units: str = ""
    size: int = 0

    def as_field(self, size: int | None = None) -> Field:
        return Field(self.num, self.name, self.base, self.scale, 0.0, self.size if size is None else size)


DEVELOPER_DATA_ID = Message(
    207,
    "developer_data_id",
    (Field(1, "application_id", BYTE, size=16), Field(3, "developer_data_index", UINT8)),
)
FIELD_DESCRIPTION = Message(
    206,
    "field_description",
    (
        Field(0, "developer_data_index", UINT8),
        Field(1, "field_definition_number", UINT8),
        Field(2, "fit_base_type_id", UINT8),
        Field(3, "field_name", STRING, size=32),
        Field(6, "scale", UINT8),
        Field(8, "units", STRING, size=16),
    ),
)


class FitWriter:
    """Writes FIT messages. Each message layout (the message, and the developer fields it
    carries with their sizes) gets a local type, defined at first use; a seventeenth layout
    takes over the least recently defined local type (redefining it, as FIT allows)."""

    def __init__(self) -> None:
        self._body = bytearray()
        self._local: dict[tuple[Any, ...], int] = {}
        self._dev_index = 0

    def developer_fields(self, application_id: bytes, fields: Sequence[DevField]) -> None:
        """Declare developer data 0 and its fields (before any message carries them)."""
        self.write(DEVELOPER_DATA_ID, {"application_id": application_id, "developer_data_index": 0})
        for f in fields:
            self.write(
                FIELD_DESCRIPTION,
                {
                    "developer_data_index": 0,
                    "field_definition_number": f.num,
                    "fit_base_type_id": f.base.code,
                    "field_name": f.name,
                    "scale": f.scale if f.scale != 1.0 else None,
                    "units": f.units,
                },
            )

    def write(
        self,
        message: Message,
        values: Mapping[str, Any],
        dev: Sequence[tuple[Field, Any]] = (),
        sizes: Mapping[str, int] | None = None,
    ) -> None:
        """One data message; ``dev`` are (developer field, value) pairs of developer data 0;
        ``sizes`` gives string fields another size than the message's (a new layout)."""
        if sizes:
            message = Message(
                message.num,
                message.name,
                tuple(
                    Field(f.num, f.name, f.base, f.scale, f.offset, sizes[f.name]) if f.name in sizes else f
                    for f in message.fields
                ),
            )
        layout = (
            message.num,
            tuple(f.size for f in message.fields),
            tuple((f.num, f.nbytes, f.base.code) for f, _ in dev),
        )
        local = self._local.get(layout)
        if local is None:
            if len(self._local) < 16:
                local = len(self._local)
            else:  # reuse the oldest local type
                oldest = next(iter(self._local))
                local = self._local.pop(oldest)
            self._local[layout] = local
            header = 0x40 | (0x20 if dev else 0) | local
            self._body += struct.pack("<BBBHB", header, 0, 0, message.num, len(message.fields))
            for f in message.fields:
                self._body += bytes((f.num, f.nbytes, f.base.code))
            if dev:
                self._body.append(len(dev))
                for f, _ in dev:
                    self._body += bytes((f.num, f.nbytes, self._dev_index))
        unknown = set(values) - {f.name for f in message.fields}
        if unknown:
            raise ValueError(f"{message.name} has no field {sorted(unknown)}")
        packed = [_encode(f, values.get(f.name)) for f in message.fields]
        self._body.append(local)
        self._body += struct.pack(message.struct_fmt, *packed)
        for f, value in dev:
            self._body += struct.pack("<" + f.fmt, _encode(f, value))

    def getvalue(self) -> bytes:
        header = struct.pack("<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(self._body), b".FIT")
        header += struct.pack("<H", crc16(header))
        data = header + bytes(self._body)
        return data + struct.pack("<H", crc16(data))


def _encode(f: Field, value: Any) -> Any:
    if f.base is BYTE and f.size:
        return bytes(value or b"").ljust(f.size, b"\xff")[: f.size]
    if f.base is STRING:
        raw = b"" if value is None else str(value).encode("utf-8")
        if len(raw) > f.size - 1:  # cut on a character boundary, keep the NUL
            raw = raw[: f.size - 1].decode("utf-8", "ignore").encode("utf-8")
        return raw.ljust(f.size, b"\0")
    if value is None:
        return f.base.invalid
    if isinstance(value, float) and not math.isfinite(value):
        return f.base.invalid
    raw_value = round((float(value) + f.offset) * f.scale)
    return min(max(raw_value, f.base.lo), f.base.hi)
