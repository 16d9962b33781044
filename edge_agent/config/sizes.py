"""Sizes in bytes written with a unit: 512kB, 2MB, 1GiB."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from .vocabulary import invalid, parse_quantity

_UNITS = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
SIZE_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*(B|kB|KB|MB|GB|KiB|MiB|GiB)\s*$"
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([^\s0-9.]*)\s*")
_EXAMPLES = "e.g. 512kB, 2MB, 1GiB"


def parse_size(value: Any) -> int:
    """Bytes in a size like ``2MB`` (decimal units) or ``1GiB`` (binary units)."""
    return round(
        parse_quantity(
            value,
            kind="size",
            pattern=_SIZE,
            units=_UNITS,
            use="B, kB, MB, GB, KiB, MiB or GiB",
            examples=_EXAMPLES,
        )
    )


def format_size(size: int) -> str:
    """The shortest exact way to write ``size``: 2000000 -> '2MB', 1048576 -> '1MiB'."""
    for unit in ("GiB", "GB", "MiB", "MB", "KiB", "kB"):
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return f"{size}B"


ByteSize = Annotated[
    int,
    BeforeValidator(parse_size),
    PlainSerializer(format_size, return_type=str),
    WithJsonSchema({"type": "string", "pattern": SIZE_PATTERN, "examples": ["512kB", "2MB", "1GiB"]}),
]
"""A number of bytes, written with a unit; in Python an int."""


def size_between(smallest: str, largest: str) -> AfterValidator:
    """A size within bounds: use as ``Annotated[ByteSize, size_between("64kB", "100MB")]``."""
    low, high = parse_size(smallest), parse_size(largest)

    def check(size: int) -> int:
        if size < low:
            raise invalid("size_too_small", f"must be at least {smallest} (got {format_size(size)})")
        if size > high:
            raise invalid("size_too_large", f"must be at most {largest} (got {format_size(size)})")
        return size

    return AfterValidator(check)
