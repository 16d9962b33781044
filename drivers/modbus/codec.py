"""Wire values <-> tag values for one Modbus point: registers or bits in, a bool, number or text out.

pymodbus has converters of its own (``convert_from_registers``), but they know only big- and little-endian
word order, not bytes swapped inside each register (BADC, DCBA), which many devices use; so the byte
shuffling is done here, with ``struct`` as pymodbus does underneath.
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .point_config import ModbusPoint

WireValues = Sequence[int] | Sequence[bool]

_FORMATS: dict[str, struct.Struct] = {
    "int16": struct.Struct(">h"),
    "uint16": struct.Struct(">H"),
    "int32": struct.Struct(">i"),
    "uint32": struct.Struct(">I"),
    "float32": struct.Struct(">f"),
    "int64": struct.Struct(">q"),
    "uint64": struct.Struct(">Q"),
    "float64": struct.Struct(">d"),
}
_INTEGER_LIMITS: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


def _swap_bytes(register: int) -> int:
    return ((register & 0xFF) << 8) | (register >> 8)


def _reorder(registers: Sequence[int], word_order: str) -> list[int]:
    """Registers in the device's word order <-> big-endian (ABCD) order; the same shuffle both ways.

    CDAB reverses the order of the registers, BADC swaps the two bytes inside each, DCBA does both.
    """
    words = list(registers)
    if word_order in ("CDAB", "DCBA"):
        words.reverse()
    if word_order in ("BADC", "DCBA"):
        words = [_swap_bytes(word) for word in words]
    return words


def _big_endian_bytes(point: ModbusPoint, registers: Sequence[int]) -> bytes:
    words = registers if point.word_order == "ABCD" else _reorder(registers, point.word_order)
    return struct.pack(f">{len(words)}H", *words)


def _registers(point: ModbusPoint, data: bytes) -> list[int]:
    words = list(struct.unpack(f">{len(data) // 2}H", data))
    return words if point.word_order == "ABCD" else _reorder(words, point.word_order)


def decode(point: ModbusPoint, values: WireValues) -> bool | int | float | str:
    """The tag value held by ``values``: exactly the point's registers, or its one bit."""
    kind = point.type
    if kind == "bool":
        return bool(values[0])
    if kind == "bit":
        register = int(values[0])
        if point.word_order == "BADC":
            register = _swap_bytes(register)
        return bool((register >> (point.bit or 0)) & 1)
    if kind == "string":
        data = _big_endian_bytes(point, [int(v) for v in values])[: point.length]
        return data.split(b"\0", 1)[0].decode("utf-8", errors="replace").rstrip(" ")
    raw = _FORMATS[kind].unpack(_big_endian_bytes(point, [int(v) for v in values]))[0]
    if point.data_type == "int":
        return int(raw)
    if point.scale == 1 and point.offset == 0:
        return float(raw)
    value = raw * point.scale + point.offset
    if kind in ("float32", "float64"):
        return float(value)
    # Scaling the integer 494 by 0.1 gives 49.400000000000006; the register only ever meant 49.4.
    return round(float(value), 10)


def decoder(point: ModbusPoint) -> Callable[[WireValues], bool | int | float | str]:
    """``decode`` for one point, specialised once: what the poller calls for every value it reads.

    The same results as :func:`decode`, which stays the reference; this only moves the decisions
    (type, word order, scaling) out of the per-value path.
    """
    kind = point.type
    if kind in ("bool", "bit", "string"):
        return partial(decode, point)
    unpack = _FORMATS[kind].unpack
    pack = struct.Struct(f">{point.register_count}H").pack
    order = point.word_order
    raw_of: Callable[[WireValues], int | float]
    if kind == "uint16" and order == "ABCD":
        raw_of = operator.itemgetter(0)
    elif kind == "int16" and order == "ABCD":
        raw_of = lambda v: v[0] - 0x10000 if v[0] >= 0x8000 else v[0]  # noqa: E731
    elif order == "ABCD":
        raw_of = lambda v: unpack(pack(*v))[0]  # noqa: E731
    else:
        raw_of = lambda v: unpack(pack(*_reorder(v, order)))[0]  # noqa: E731
    scale, offset = point.scale, point.offset
    if point.data_type == "int":
        return lambda v: int(raw_of(v))
    if scale == 1 and offset == 0:
        return lambda v: float(raw_of(v))
    if kind in ("float32", "float64"):
        return lambda v: float(raw_of(v) * scale + offset)
    return lambda v: round(float(raw_of(v) * scale + offset), 10)


def value_decoder(point: ModbusPoint) -> Callable[[int | bool], bool | int | float | str]:
    """:func:`decoder` for a point of one register or one bit, taking that value itself.

    The poller compares such a point by its one value; decoding it without a sequence around it saves
    a tuple and a call for every value it reads, the commonest points of all.
    """
    if point.register_count != 1:
        raise ValueError(f"point '{point.name}' takes {point.register_count} registers, not one")
    kind = point.type
    if kind not in ("int16", "uint16") or point.word_order in ("BADC", "DCBA"):
        whole = decoder(point)
        return lambda v: whole((v,))
    # An unscaled integer stays an int (data_type int); a scaled one is rounded as decode rounds it.
    scale, offset = point.scale, point.offset
    if kind == "int16":
        if point.data_type == "int":
            return lambda v: int(v - 0x10000 if v >= 0x8000 else v)
        return lambda v: round(float((v - 0x10000 if v >= 0x8000 else v) * scale + offset), 10)
    if point.data_type == "int":
        return int
    return lambda v: round(float(v * scale + offset), 10)


def encode(point: ModbusPoint, value: object) -> list[int] | list[bool]:
    """What to write so the device holds ``value``: registers, or one bit for a coil.

    A bit of a register is written with :func:`encode_bit`, which keeps the register's other bits.
    ValueError, in words for the person who wrote the value, when the point cannot hold it.
    """
    kind = point.type
    if kind == "bool":
        return [_as_bool(value)]
    if kind == "bit":
        raise ValueError("a bit of a register is written with encode_bit, keeping the other bits")
    if kind == "string":
        return _encode_string(point, value)
    if kind in ("float32", "float64"):
        raw = _raw_number(point, value)
        try:
            data = _FORMATS[kind].pack(raw)
        except OverflowError:
            raise ValueError(f"{value!r} is too large for a {kind} point") from None
        return _registers(point, data)
    whole = _raw_integer(point, value)
    low, high = _INTEGER_LIMITS[kind]
    if not low <= whole <= high:
        ends = sorted((low * point.scale + point.offset, high * point.scale + point.offset))
        raise ValueError(f"{value!r} does not fit a {kind} point, which holds {ends[0]:g} to {ends[1]:g}")
    return _registers(point, _FORMATS[kind].pack(whole))


def encode_bit(point: ModbusPoint, register: int, value: object) -> int:
    """The register with the point's bit set to ``value`` and every other bit as in ``register``."""
    if point.type != "bit":
        raise ValueError(f"encode_bit is for bit points; this one is {point.type}")
    bit = 1 << (point.bit or 0)
    swapped = point.word_order == "BADC"
    plain = _swap_bytes(register) if swapped else register
    plain = plain | bit if _as_bool(value) else plain & ~bit & 0xFFFF
    return _swap_bytes(plain) if swapped else plain


def _as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise ValueError(f"expected true or false, got {value!r}")


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return value


def _raw_number(point: ModbusPoint, value: object) -> float:
    number = _number(value)
    if point.scale == 1 and point.offset == 0:
        return float(number)
    return (float(number) - point.offset) / point.scale


def _raw_integer(point: ModbusPoint, value: object) -> int:
    number = _number(value)
    # An integer written unscaled stays exact: a float would lose digits of a large 64-bit value.
    if point.scale == 1 and point.offset == 0 and isinstance(number, int):
        return number
    raw = (float(number) - point.offset) / point.scale
    if not math.isfinite(raw):
        raise ValueError(f"{value!r} does not fit a {point.type} point")
    return round(raw)


def _encode_string(point: ModbusPoint, value: object) -> list[int]:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    data = value.encode("utf-8")
    length = point.length or 0
    if len(data) > length:
        raise ValueError(f"{value!r} takes {len(data)} bytes; this point holds at most {length}")
    if b"\0" in data:
        raise ValueError(f"{value!r} holds a NUL character, which ends a string on the device")
    # NUL padding: a reader stops at the first NUL, so the text ends where it was meant to.
    return _registers(point, data.ljust(2 * point.register_count, b"\0"))
