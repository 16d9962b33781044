"""A client's new value for a live property: the body of a PATCH of its $value, as the tag's own type."""

from __future__ import annotations

import math
from typing import Any

from aas_core3 import types as aas

from .model import TagValue
from .results import bad_request

XSD = aas.DataTypeDefXSD

_INTEGER_BOUNDS: dict[aas.DataTypeDefXSD, tuple[int | None, int | None]] = {
    XSD.BYTE: (-(2**7), 2**7 - 1),
    XSD.SHORT: (-(2**15), 2**15 - 1),
    XSD.INT: (-(2**31), 2**31 - 1),
    XSD.LONG: (-(2**63), 2**63 - 1),
    XSD.UNSIGNED_BYTE: (0, 2**8 - 1),
    XSD.UNSIGNED_SHORT: (0, 2**16 - 1),
    XSD.UNSIGNED_INT: (0, 2**32 - 1),
    XSD.UNSIGNED_LONG: (0, 2**64 - 1),
    XSD.INTEGER: (None, None),
    XSD.NON_NEGATIVE_INTEGER: (0, None),
    XSD.POSITIVE_INTEGER: (1, None),
    XSD.NON_POSITIVE_INTEGER: (None, 0),
    XSD.NEGATIVE_INTEGER: (None, -1),
}
"""What each XSD integer type can hold; a value outside it is refused before it reaches the device."""

_FLOATS = {XSD.DOUBLE, XSD.FLOAT, XSD.DECIMAL}
_SPECIAL_FLOATS = {"INF": math.inf, "-INF": -math.inf, "NaN": math.nan}


def new_value(body: Any, prop: aas.Property) -> TagValue:
    """The value a PATCH body gives ``prop``: its ValueOnly form ``{idShort: value}`` or the bare value,
    as a JSON value of the property's type or its XSD lexical form; 400 for anything else."""
    if isinstance(body, dict):
        if set(body) != {prop.id_short}:
            raise bad_request(
                f"the value of {prop.id_short} is {{{prop.id_short!r}: value}} or the bare value"
            )
        body = body[prop.id_short]
    value_type = prop.value_type
    if value_type == XSD.BOOLEAN:
        return _boolean(body)
    if value_type in _INTEGER_BOUNDS:
        return _integer(body, value_type)
    if value_type in _FLOATS:
        return _float(body)
    if value_type == XSD.STRING:
        if isinstance(body, str):
            return body
        raise bad_request(f"{prop.id_short} takes a string, not {body!r}")
    raise bad_request(f"a value of type {value_type.value} cannot be written")


def _boolean(body: Any) -> bool:
    if isinstance(body, bool):
        return body
    if body in ("true", "1"):
        return True
    if body in ("false", "0"):
        return False
    raise bad_request(f"an xs:boolean is true or false, not {body!r}")


def _integer(body: Any, value_type: aas.DataTypeDefXSD) -> int:
    number: int | None = None
    if isinstance(body, int) and not isinstance(body, bool):
        number = body
    elif (isinstance(body, float) and body.is_integer()) or (
        isinstance(body, str) and body.strip().lstrip("+-").isdigit()
    ):
        number = int(body)
    if number is None:
        raise bad_request(f"an {value_type.value} is an integer, not {body!r}")
    low, high = _INTEGER_BOUNDS[value_type]
    if (low is not None and number < low) or (high is not None and number > high):
        raise bad_request(f"{number} is out of the range of {value_type.value}")
    return number


def _float(body: Any) -> float:
    if isinstance(body, int | float) and not isinstance(body, bool):
        return float(body)
    if isinstance(body, str):
        text = body.strip()
        if text in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[text]
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            # Python's float() also reads "inf" and "nan", and overflows to inf: XSD says neither.
            if math.isfinite(number):
                return number
    raise bad_request(f"a number is expected, not {body!r}")
