"""Tag values <-> OPC UA variants and data values, with the quality a value that does not fit gets.

Each tag is served with one OPC UA built-in type, the tag's exact type where its source declares one:

| tag | OPC UA |
|---|---|
| int with number_type int16, uint16, int32, uint32, int64 or uint64 | the same: Int16 ... UInt64 |
| int without one (a GPIO counter, a model statistic) | Int64 |
| float with number_type float32 | Float |
| float otherwise (float64, scaled or offset points, model outputs) | Double |
| bool | Boolean |
| string | String |
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime, timedelta

from asyncua import ua

from ..quality import Quality
from ..tags import NumberType, Reading, TagInfo, TagValue

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_NUMBER_VARIANTS: dict[NumberType, ua.VariantType] = {
    "int16": ua.VariantType.Int16,
    "uint16": ua.VariantType.UInt16,
    "int32": ua.VariantType.Int32,
    "uint32": ua.VariantType.UInt32,
    "int64": ua.VariantType.Int64,
    "uint64": ua.VariantType.UInt64,
    "float32": ua.VariantType.Float,
    "float64": ua.VariantType.Double,
}
_DEFAULT_VARIANTS: dict[str, ua.VariantType] = {
    "float": ua.VariantType.Double,
    "int": ua.VariantType.Int64,
    "bool": ua.VariantType.Boolean,
    "string": ua.VariantType.String,
}
DATA_TYPES: dict[str, int] = {name: variant.value for name, variant in _DEFAULT_VARIANTS.items()}
"""The DataType of a tag without a number_type, by its data type; ``data_type_id`` gives any tag's."""
_INTEGER_RANGES: dict[ua.VariantType, tuple[int, int]] = {
    ua.VariantType.SByte: (-(2**7), 2**7 - 1),
    ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-(2**15), 2**15 - 1),
    ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-(2**31), 2**31 - 1),
    ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-(2**63), 2**63 - 1),
    ua.VariantType.UInt64: (0, 2**64 - 1),
}
_FLOATS = (ua.VariantType.Float, ua.VariantType.Double)
_FLOAT32 = struct.Struct("<f")
_FLOAT32_MAX = 3.4028234663852886e38


class TagValueError(ValueError):
    """A tag value that cannot be carried by the tag's OPC UA data type."""

    def __init__(self, quality: Quality, message: str) -> None:
        super().__init__(message)
        self.quality = quality


def variant_type(info: TagInfo) -> ua.VariantType:
    """The OPC UA built-in type the tag is served with (the module's table)."""
    if info.number_type is not None:
        return _NUMBER_VARIANTS[info.number_type]
    return _DEFAULT_VARIANTS[info.data_type]


def data_type_id(info: TagInfo) -> ua.NodeId:
    """The DataType attribute of the tag's variables; built-in types' NodeIds are their type numbers."""
    return ua.NodeId(variant_type(info).value)


def to_variant(info: TagInfo, value: TagValue | None) -> ua.Variant:
    """The OPC UA Variant for a tag value; raises TagValueError when the tag's type cannot carry it.

    Conversions are the lossless ones only: an int tag takes 3.0 but not 3.7, a float tag takes 3, a
    UInt16 tag takes 65535 but not 65536 (BadOutOfRange).
    """
    if value is None:
        return ua.Variant(None, ua.VariantType.Null)
    target = variant_type(info)
    converted: TagValue
    match info.data_type, value:
        case "float", bool() | int() | float():
            converted = _servable_float(float(value), target)
        case "int", bool() | int():
            converted = _fitting_integer(int(value), target)
        case "int", float() if value.is_integer():
            converted = _fitting_integer(int(value), target)
        case "bool", bool():
            converted = value
        case "bool", int() if value in (0, 1):
            converted = bool(value)
        case "string", _:
            converted = str(value)
        case _:
            raise TagValueError(Quality.BadTypeMismatch, f"{value!r} is not a {info.data_type}")
    return ua.Variant(converted, target)


def from_variant(info: TagInfo, variant: ua.Variant | None) -> TagValue:
    """The tag value a client wrote; raises TagValueError unless the tag's type holds it exactly.

    The tag's own type always works. A number of another numeric type is taken when the tag's type
    holds it without loss (an Int64 1500 for a UInt16 tag, a UInt16 for a Double tag); an integer
    type's number out of the tag's range is BadOutOfRange, anything else BadTypeMismatch.
    """
    expected = variant_type(info)
    if variant is None or variant.is_array or variant.Value is None:
        raise TagValueError(Quality.BadTypeMismatch, f"expected a {expected.name}, got nothing")
    got, value = variant.VariantType, variant.Value
    if got == expected:
        written: TagValue = value
        return written
    mismatch = TagValueError(Quality.BadTypeMismatch, f"expected a {expected.name}, got {got.name}")
    if expected in _INTEGER_RANGES and got in _INTEGER_RANGES:
        return _fitting_integer(int(value), expected)
    if expected in _FLOATS and (got in _INTEGER_RANGES or got in _FLOATS):
        number = float(value)
        if got in _INTEGER_RANGES and number != value:
            raise mismatch  # an integer beyond 2**53 that a double would round
        try:
            return _fitting_float(number, expected)
        except TagValueError:
            raise mismatch from None
    raise mismatch


def _fitting_integer(value: int, target: ua.VariantType) -> int:
    low, high = _INTEGER_RANGES[target]
    if not low <= value <= high:
        raise TagValueError(Quality.BadOutOfRange, f"{value!r} does not fit a {target.name}")
    return value


def _servable_float(value: float, target: ua.VariantType) -> float:
    """``value``, which a Float carries rounded to 32 bits, as the source's own float32 was."""
    if target is ua.VariantType.Float and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
        raise TagValueError(Quality.BadOutOfRange, f"{value!r} does not fit a Float")
    return value


def _fitting_float(value: float, target: ua.VariantType) -> float:
    """``value`` if a float of ``target`` holds it exactly; a Float must round-trip through 32 bits."""
    if target is ua.VariantType.Float and math.isfinite(value):
        try:
            narrowed: float = _FLOAT32.unpack(_FLOAT32.pack(value))[0]
        except OverflowError:
            raise TagValueError(Quality.BadOutOfRange, f"{value!r} does not fit a Float") from None
        if narrowed != value:
            raise TagValueError(Quality.BadTypeMismatch, f"{value!r} is not exactly a Float")
    return value


def to_datavalue(variant: ua.Variant, quality: Quality, reading: Reading) -> ua.DataValue:
    return ua.DataValue(
        Value=variant,
        StatusCode=ua.StatusCode(int(quality)),
        SourceTimestamp=_datetime(reading.source_time_ns),
        ServerTimestamp=_datetime(reading.server_time_ns),
    )


def _datetime(ns: int) -> datetime:
    # Integer arithmetic: a float of ns since 1970 has lost the microseconds already.
    return _EPOCH + timedelta(microseconds=ns // 1000)
