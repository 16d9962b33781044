"""Sparkplug B datatypes, and the one each agent tag is published with.

The numbers are those of the DataType enum in the Sparkplug 3.0 specification's "Data Types" (chapter 6),
repeated here as an IntEnum so that typed code can name them; ``sparkplug_b.proto`` has the same enum
and tests/sparkplug checks that the two agree.

A tag is published with the same exact type its OPC UA variable has (``edge_agent/opcua/tag_values.py``):

| tag | Sparkplug |
|---|---|
| int with number_type int16, uint16, int32, uint32, int64 or uint64 | Int16 ... UInt64 |
| int without one (a GPIO counter, a model statistic) | Int64 |
| float with number_type float32 | Float |
| float otherwise (float64, scaled or offset points, model outputs) | Double |
| bool | Boolean |
| string | String |
"""

from __future__ import annotations

from enum import IntEnum

from ..tags import NumberType, TagInfo


class DataType(IntEnum):
    """A Sparkplug B datatype number (Metric.datatype, PropertyValue.type)."""

    Unknown = 0
    Int8 = 1
    Int16 = 2
    Int32 = 3
    Int64 = 4
    UInt8 = 5
    UInt16 = 6
    UInt32 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    Boolean = 11
    String = 12
    DateTime = 13
    Text = 14
    UUID = 15
    DataSet = 16
    Bytes = 17
    File = 18
    Template = 19
    PropertySet = 20
    PropertySetList = 21
    Int8Array = 22
    Int16Array = 23
    Int32Array = 24
    Int64Array = 25
    UInt8Array = 26
    UInt16Array = 27
    UInt32Array = 28
    UInt64Array = 29
    FloatArray = 30
    DoubleArray = 31
    BooleanArray = 32
    StringArray = 33
    DateTimeArray = 34


INTEGER_RANGES: dict[DataType, tuple[int, int]] = {
    DataType.Int8: (-(2**7), 2**7 - 1),
    DataType.Int16: (-(2**15), 2**15 - 1),
    DataType.Int32: (-(2**31), 2**31 - 1),
    DataType.Int64: (-(2**63), 2**63 - 1),
    DataType.UInt8: (0, 2**8 - 1),
    DataType.UInt16: (0, 2**16 - 1),
    DataType.UInt32: (0, 2**32 - 1),
    DataType.UInt64: (0, 2**64 - 1),
    # ms since 1970 in a uint64: no date before the epoch.
    DataType.DateTime: (0, 2**64 - 1),
}
"""The values each integer datatype holds."""
SIGNED_INTEGERS = frozenset({DataType.Int8, DataType.Int16, DataType.Int32, DataType.Int64})
FLOATS = frozenset({DataType.Float, DataType.Double})
STRINGS = frozenset({DataType.String, DataType.Text, DataType.UUID})
BYTES = frozenset({DataType.Bytes, DataType.File})
SCALARS = frozenset(INTEGER_RANGES) | FLOATS | STRINGS | BYTES | {DataType.Boolean}
"""The datatypes payloads.py encodes and decodes; DataSet, Template and the arrays it does not."""

_NUMBER_TYPES: dict[NumberType, DataType] = {
    "int16": DataType.Int16,
    "uint16": DataType.UInt16,
    "int32": DataType.Int32,
    "uint32": DataType.UInt32,
    "int64": DataType.Int64,
    "uint64": DataType.UInt64,
    "float32": DataType.Float,
    "float64": DataType.Double,
}
_DEFAULT_TYPES: dict[str, DataType] = {
    "int": DataType.Int64,
    "float": DataType.Double,
    "bool": DataType.Boolean,
    "string": DataType.String,
}


def datatype_of(info: TagInfo) -> DataType:
    """The datatype the tag's metric is published with (the module's table)."""
    if info.number_type is not None:
        return _NUMBER_TYPES[info.number_type]
    return _DEFAULT_TYPES[info.data_type]
