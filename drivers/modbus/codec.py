"""Register <-> engineering value conversion for one Modbus point."""

from __future__ import annotations

import struct
from typing import Protocol

REGISTER_COUNT = {"int16": 1, "uint16": 1, "float32": 2}
_RAW_LIMITS = {"int16": (-32768, 32767), "uint16": (0, 65535)}


class PointEncoding(Protocol):
    type: str
    word_order: str
    scale: float
    offset: float


def register_count(point: PointEncoding) -> int:
    return REGISTER_COUNT[point.type]


def _ordered_words(words: list[int], word_order: str) -> list[int]:
    # ABCD: high word first (Modbus big-endian); CDAB: low word first, common on PLCs.
    return words if word_order == "ABCD" else list(reversed(words))


def decode_raw(point: PointEncoding, registers: list[int]) -> int | float:
    """The raw number in the registers, before scale and offset."""
    if point.type == "uint16":
        return registers[0]
    if point.type == "int16":
        value = registers[0]
        return value - 0x10000 if value >= 0x8000 else value
    if point.type == "float32":
        high, low = _ordered_words(list(registers[:2]), point.word_order)
        return struct.unpack(">f", struct.pack(">HH", high, low))[0]
    raise ValueError(f"unsupported type {point.type!r}")


def decode(point: PointEncoding, registers: list[int], *, as_int: bool) -> int | float:
    """The engineering value: raw * scale + offset."""
    value = decode_raw(point, registers) * point.scale + point.offset
    if as_int:
        return round(value)
    # Scaling an integer register by 0.1 gives 49.400000000000006; the register only ever meant 49.4.
    return float(value) if point.type == "float32" else round(float(value), 10)


def encode(point: PointEncoding, value: float) -> list[int]:
    """Registers that make the device hold ``value``; ValueError if it cannot be represented."""
    raw = (float(value) - point.offset) / point.scale
    if point.type == "float32":
        high, low = struct.unpack(">HH", struct.pack(">f", raw))
        return _ordered_words([high, low], point.word_order)
    whole = round(raw)
    low_limit, high_limit = _RAW_LIMITS[point.type]
    if not low_limit <= whole <= high_limit:
        raise ValueError(f"{value} does not fit a {point.type} register")
    return [whole & 0xFFFF]
