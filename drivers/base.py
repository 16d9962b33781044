"""What every driver's running half looks like to the core."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Generic, TypeVar

from edge_agent.quality import Quality
from edge_agent.tags import ReadingSink, TagInfo, TagValue

if TYPE_CHECKING:
    from edge_agent.config.vocabulary import SourceConfigBase

SourceEntry = TypeVar("SourceEntry", bound="SourceConfigBase")


class Source(ABC, Generic[SourceEntry]):
    """A running source of readings, built from one `sources:` entry of the config.

    ``SourceEntry`` is the driver's schema of that entry, which the driver's constructor takes.
    ``run`` publishes readings into the sink until it is cancelled. A device that misbehaves is a normal
    condition: its tags are published with a Bad quality, and ``run`` keeps trying; it never raises for it.
    """

    def __init__(self, config: SourceEntry) -> None:
        self.config = config
        self.name: str = config.name

    @abstractmethod
    def tag_infos(self) -> list[TagInfo]: ...

    @abstractmethod
    async def run(self, sink: ReadingSink) -> None: ...

    async def write(self, tag: str, value: TagValue) -> Quality:
        """Write a client's value to the device; the result is the device's answer."""
        return Quality.BadNotWritable

    def statistics(self) -> dict[str, object]:
        """Counters a person diagnosing the source wants (JSON-ready); empty if the driver keeps none."""
        return {}
