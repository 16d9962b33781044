"""Tag values <-> OPC UA variants and data values, with the quality a value that does not fit gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from asyncua import ua

from ..quality import Quality
from ..tags import Reading, TagInfo, TagValue

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_VARIANT_TYPES: dict[str, ua.VariantType] = {
    "float": ua.VariantType.Double,
    "int": ua.VariantType.Int64,
    "bool": ua.VariantType.Boolean,
    "string": ua.VariantType.String,
}
DATA_TYPES: dict[str, int] = {
    "float": ua.ObjectIds.Double,
    "int": ua.ObjectIds.Int64,
    "bool": ua.ObjectIds.Boolean,
    "string": ua.ObjectIds.String,
}


class TagValueError(ValueError):
    """A tag value that cannot be carried by the tag's OPC UA data type."""

    def __init__(self, quality: Quality, message: str) -> None:
        super().__init__(message)
        self.quality = quality


def to_variant(info: TagInfo, value: TagValue | None) -> ua.Variant:
    """The OPC UA Variant for a tag value; raises TagValueError when the tag's type cannot carry it.

    Conversions are the lossless ones only: an int tag takes 3.0 but not 3.7, a float tag takes 3.
    """
    if value is None:
        return ua.Variant(None, ua.VariantType.Null)
    converted: TagValue
    match info.data_type, value:
        case "float", bool() | int() | float():
            converted = float(value)
        case "int", bool() | int():
            converted = int(value)
        case "int", float() if value.is_integer():
            converted = int(value)
        case "bool", bool():
            converted = value
        case "bool", int() if value in (0, 1):
            converted = bool(value)
        case "string", _:
            converted = str(value)
        case _:
            raise TagValueError(Quality.BadTypeMismatch, f"{value!r} is not a {info.data_type}")
    if (
        isinstance(converted, int)
        and not isinstance(converted, bool)
        and not _INT64_MIN <= converted <= _INT64_MAX
    ):
        raise TagValueError(Quality.BadOutOfRange, f"{value!r} does not fit an Int64")
    return ua.Variant(converted, _VARIANT_TYPES[info.data_type])


def from_variant(info: TagInfo, variant: ua.Variant | None) -> TagValue:
    """The tag value a client wrote; raises TagValueError unless it has the tag's exact type."""
    expected = _VARIANT_TYPES[info.data_type]
    if variant is None or variant.VariantType != expected or variant.is_array or variant.Value is None:
        got = "nothing" if variant is None or variant.Value is None else variant.VariantType.name
        raise TagValueError(Quality.BadTypeMismatch, f"expected a {expected.name}, got {got}")
    value: TagValue = variant.Value
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
