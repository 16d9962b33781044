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


def now_ns() -> int:
    """Wall-clock time in ns since the epoch: the unit of every timestamp in a Reading."""
    return time.time_ns()


@dataclass(frozen=True, slots=True)
class Reading:
    """One observation of one tag: the value, its quality and when it was true.

    ``source_time_ns`` is when the value was sampled at the source; ``server_time_ns`` when the tag store
    stored it (0 until then: sources leave it to the store). Both are wall-clock ns since the epoch.
    A Bad reading without a value keeps the last known value in the store.
    """

    tag: str
    value: TagValue | None
    quality: Quality = Quality.Good
    source_time_ns: int = field(default_factory=now_ns)
    server_time_ns: int = 0


class ReadingSink(Protocol):
    """Where a source publishes its readings (the tag store implements it)."""

    def publish(self, reading: Reading) -> None: ...
