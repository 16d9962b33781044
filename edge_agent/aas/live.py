"""One tag as a live AAS Property: its type, unit, range, whether clients may write it, its value now."""

from __future__ import annotations

from typing import SupportsFloat, SupportsIndex

from aas_core3 import types as aas

from edge_agent.tags import DataType, NumberType, Reading, TagInfo

from . import ids
from .elements import iec61360, prop, qualifier

VALUE_TYPES: dict[DataType, aas.DataTypeDefXSD] = {
    "float": aas.DataTypeDefXSD.DOUBLE,
    "int": aas.DataTypeDefXSD.LONG,
    "bool": aas.DataTypeDefXSD.BOOLEAN,
    "string": aas.DataTypeDefXSD.STRING,
}
"""The XSD type of each tag data type; the OPC UA projection maps these to Double, Int64, Boolean, String."""

NUMBER_VALUE_TYPES: dict[NumberType, aas.DataTypeDefXSD] = {
    "int16": aas.DataTypeDefXSD.SHORT,
    "uint16": aas.DataTypeDefXSD.UNSIGNED_SHORT,
    "int32": aas.DataTypeDefXSD.INT,
    "uint32": aas.DataTypeDefXSD.UNSIGNED_INT,
    "int64": aas.DataTypeDefXSD.LONG,
    "uint64": aas.DataTypeDefXSD.UNSIGNED_LONG,
    "float32": aas.DataTypeDefXSD.FLOAT,
    "float64": aas.DataTypeDefXSD.DOUBLE,
}
"""The XSD type of a tag whose source declares its exact number type, as OPC UA serves it (a UInt16)."""


def value_type(info: TagInfo) -> aas.DataTypeDefXSD:
    if info.number_type is not None:
        return NUMBER_VALUE_TYPES[info.number_type]
    return VALUE_TYPES[info.data_type]


_IEC61360_TYPES: dict[DataType, aas.DataTypeIEC61360] = {
    "float": aas.DataTypeIEC61360.REAL_MEASURE,
    "int": aas.DataTypeIEC61360.INTEGER_MEASURE,
    "bool": aas.DataTypeIEC61360.BOOLEAN,
    "string": aas.DataTypeIEC61360.STRING,
}


def as_tag_type(value: object, data_type: DataType) -> bool | int | float | str | None:
    """A stored value in the tag's own type; None when it has none yet or cannot be one."""
    if value is None:
        return None
    try:
        if data_type == "bool":
            return bool(value)
        if data_type == "int":
            number = _float(value)
            return int(number) if number.is_integer() else None
        if data_type == "float":
            return _float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return str(value)


def _float(value: object) -> float:
    """``float(value)`` for whatever float() takes; TypeError for anything else, as float() raises."""
    # Plain numbers first (isinstance stops at the first match): a check against the Supports* protocols
    # costs microseconds, and runs for every live value an HTTP request is answered with.
    if isinstance(value, float | int | str | bytes | bytearray | SupportsFloat | SupportsIndex):
        return float(value)
    raise TypeError(f"float() cannot take {type(value).__name__}")


def _data_specification(info: TagInfo) -> aas.EmbeddedDataSpecification:
    # A number without a unit is no measure; the data type would then claim more than the config says.
    measured = info.data_type in ("float", "int")
    data_type = _IEC61360_TYPES[info.data_type] if info.unit or not measured else None
    return iec61360(info.name, unit=info.unit, data_type=data_type, definition=info.description or None)


def _qualifiers(info: TagInfo) -> list[aas.Qualifier]:
    access = ids.READ_WRITE if info.writable else ids.READ_ONLY
    found = [qualifier(aas.QualifierKind.VALUE_QUALIFIER, ids.ACCESS_MODE_QUALIFIER, access)]
    if info.range is not None:
        low, high = info.range
        for type_, bound in ((ids.RANGE_LOW_QUALIFIER, low), (ids.RANGE_HIGH_QUALIFIER, high)):
            found.append(
                qualifier(aas.QualifierKind.CONCEPT_QUALIFIER, type_, float(bound), aas.DataTypeDefXSD.DOUBLE)
            )
    return found


LIVE_CATEGORY = "VARIABLE"
"""The category of a live property: the AAS metamodel's own word for a value that changes while it runs."""


def live_tag_name(element: aas.SubmodelElement) -> str | None:
    """The tag a live property shows, or None for any other element."""
    if isinstance(element, aas.Property) and element.category == LIVE_CATEGORY:
        return element.id_short
    return None


def live_property(info: TagInfo, value: object | None = None) -> aas.Property:
    """The tag's Property; ``value`` is its current value (or its Reading from the tag store), if known."""
    if isinstance(value, Reading):
        value = value.value
    return prop(
        info.name,
        as_tag_type(value, info.data_type),
        category=LIVE_CATEGORY,
        value_type=value_type(info),
        concept=ids.Concept(info.semantic_id) if info.semantic_id else None,
        description=info.description or None,
        qualifiers=_qualifiers(info),
        data_specification=_data_specification(info),
    )
