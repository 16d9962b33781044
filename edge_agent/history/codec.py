"""Tag values <-> what a sample row holds: a kind code and a value SQLite stores as it is given.

The kind keeps what SQLite alone would lose: a bool is stored as the integer 0 or 1, NaN as NULL, an int
beyond 64 bits as its decimal text, and text that is not valid UTF-8 (lone surrogates) as its bytes.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Final

from ..tags import TagValue

StoredValue = int | float | str | bytes | None

NOTHING: Final = 0
BOOL: Final = 1
INT: Final = 2
FLOAT: Final = 3
TEXT: Final = 4

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def encode(value: TagValue | None) -> tuple[int, StoredValue]:
    """The kind and the stored value of a tag value; anything that is no tag value is kept as its text."""
    if value is None:
        return NOTHING, None
    if isinstance(value, bool):
        return BOOL, int(value)
    if isinstance(value, int):
        return INT, value if _INT64_MIN <= value <= _INT64_MAX else str(value)
    if isinstance(value, float):
        return FLOAT, value
    if isinstance(value, str):
        return TEXT, _text(value)
    # Values of numeric types from outside Python (numpy scalars) keep their number.
    if isinstance(value, Integral):
        return encode(int(value))
    if isinstance(value, Real):
        return FLOAT, float(value)
    return TEXT, _text(str(value))


def decode(kind: int, stored: StoredValue) -> TagValue | None:
    """The tag value of a sample row; None for a row without a value or of a kind unknown here."""
    if kind == FLOAT:
        return math.nan if stored is None else float(stored)
    if kind == INT:
        return int(stored) if stored is not None else None
    if kind == BOOL:
        return bool(stored)
    if kind == TEXT:
        return stored.decode("utf-8", "surrogatepass") if isinstance(stored, bytes) else str(stored)
    return None


def _text(value: str) -> str | bytes:
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")
    return value
