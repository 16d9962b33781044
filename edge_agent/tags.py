"""The record types shared by sources, sinks and the tag store.

Drivers may import this module (and ``edge_agent.quality``) and nothing else of ``edge_agent``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .quality import Quality

TagValue = bool | int | float | str
DataType = Literal["bool", "int", "float", "string"]
NumberType = Literal["int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]
"""The exact type of a number a source holds, where it knows one (a Modbus register's uint16)."""

INTEGER_NUMBER_TYPES: frozenset[NumberType] = frozenset(
    {"int16", "uint16", "int32", "uint32", "int64", "uint64"}
)
FLOAT_NUMBER_TYPES: frozenset[NumberType] = frozenset({"float32", "float64"})


@dataclass(frozen=True, slots=True)
class TagInfo:
    """What a source declares about one of its tags."""

    name: str
    source: str
    data_type: DataType
    unit: str | None = None
    range: tuple[float, float] | None = None
    writable: bool = False
    description: str = ""
    number_type: NumberType | None = None
    """The exact type of the tag's values, an int or float one to match ``data_type``; None for an int
    tag means int64, for a float tag float64. Clients see the tag with this type (a uint16 as a UInt16)."""
    semantic_id: str | None = None
    """What the value means, as a global concept id (an ECLASS or IEC CDD IRDI, or an IRI): the AAS
    semanticId of the tag's live property, carried to every northbound face."""

    def __post_init__(self) -> None:
        number_type = self.number_type
        if number_type is None:
            return
        fits = (self.data_type == "int" and number_type in INTEGER_NUMBER_TYPES) or (
            self.data_type == "float" and number_type in FLOAT_NUMBER_TYPES
        )
        if not fits:
            raise ValueError(f"tag {self.name}: a {self.data_type} tag cannot hold {number_type} values")


def now_ns() -> int:
    """Wall-clock time in ns since the epoch: the unit of every timestamp in a Reading."""
    return time.time_ns()


@dataclass(frozen=True, slots=True, init=False)
class Reading:
    """One observation of one tag: the value, its quality and when it was true.

    ``source_time_ns`` is when the value was sampled at the source (now, unless given); ``server_time_ns``
    when the agent got it: 0 leaves it to the tag store, which stamps its own moment; a poll that stamps
    its answer's arrival gives it itself. Both are wall-clock ns since the epoch.
    A Bad reading without a value keeps the last known value in the store.
    """

    tag: str
    value: TagValue | None
    quality: Quality = Quality.Good
    source_time_ns: int = field(default_factory=now_ns)
    server_time_ns: int = 0

    def __init__(
        self,
        tag: str,
        value: TagValue | None,
        quality: Quality = Quality.Good,
        source_time_ns: int | None = None,
        server_time_ns: int = 0,
    ) -> None:
        # A frozen dataclass's generated __init__ stores each field through object.__setattr__, which
        # costs twice what the slots' own setters do; a poll makes a Reading for every changed value.
        _set_tag(self, tag)
        _set_value(self, value)
        _set_quality(self, quality)
        _set_source_time(self, now_ns() if source_time_ns is None else source_time_ns)
        _set_server_time(self, server_time_ns)


_set_tag = Reading.__dict__["tag"].__set__
_set_value = Reading.__dict__["value"].__set__
_set_quality = Reading.__dict__["quality"].__set__
_set_source_time = Reading.__dict__["source_time_ns"].__set__
_set_server_time = Reading.__dict__["server_time_ns"].__set__


class ReadingSink(Protocol):
    """Where a source publishes its readings (the tag store implements it)."""

    def publish(self, reading: Reading) -> None: ...
