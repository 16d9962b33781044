"""What every driver's running half looks like to the core."""

from __future__ import annotations

from abc import ABC, abstractmethod

from edge_agent.quality import Quality
from edge_agent.tags import ReadingSink, TagInfo, TagValue


class Source(ABC):
    """A running source of readings, built from one `sources:` entry of the config.

    ``run`` publishes readings into the sink until it is cancelled. A device that misbehaves is a normal
    condition: its tags are published with a Bad quality, and ``run`` keeps trying; it never raises for it.
    """

    name: str

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
