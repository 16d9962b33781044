"""What the running half of every GPIO point shares: its device's lifetime and its place on the loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Generic, TypeVar

from edge_agent.config.vocabulary import PointConfigBase
from edge_agent.quality import Quality
from edge_agent.tags import Reading, ReadingSink, TagValue

log = logging.getLogger(__name__)

PointConfig = TypeVar("PointConfig", bound=PointConfigBase)
Device = TypeVar("Device")


class DevicesClosedError(Exception):
    """The source stopped while its devices were being opened."""


class OpenedDevices:
    """The gpiozero devices a source has opened, closed together when it stops.

    Devices are opened in a worker thread that may still be at work when the source is cancelled; a
    device that arrives after ``close`` is closed at once, so no pin stays claimed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: list[Any] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def adopt(self, device: Device) -> Device:
        with self._lock:
            if not self._closed:
                self._devices.append(device)
                return device
        _close(device)
        raise DevicesClosedError

    def close(self) -> None:
        """Close every device, the last opened first (blocking)."""
        with self._lock:
            self._closed = True
            devices, self._devices = self._devices, []
        for device in reversed(devices):
            _close(device)


def _close(device: Any) -> None:
    try:
        device.close()
    except Exception:
        # Closing is best effort: the pins are released when the process ends in any case.
        log.debug("closing %r failed", device, exc_info=True)


class PointRuntime(Generic[PointConfig]):
    """The running half of one point.

    ``open`` runs in a worker thread and creates the gpiozero device; ``start`` then runs on the event
    loop and publishes the first readings; ``run`` does the point's periodic work, if any, until
    cancelled; ``write`` takes a client's value.
    """

    def __init__(
        self,
        point: PointConfig,
        sink: ReadingSink,
        loop: asyncio.AbstractEventLoop,
        devices: OpenedDevices,
    ) -> None:
        self.point = point
        self.sink = sink
        self.loop = loop
        self.devices = devices

    @property
    def tags(self) -> list[str]:
        return [self.point.name]

    def open(self, factory: Any) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Publish the first readings (on the loop, once ``open`` has returned)."""

    async def run(self) -> None:
        """The point's periodic work; most points have none and return at once."""

    async def write(self, value: TagValue) -> Quality:
        return Quality.BadNotWritable

    def publish(self, tag: str, value: TagValue | None, quality: Quality, stamp_ns: int) -> None:
        # Callbacks queued on the loop may still arrive after the source stopped; they are dropped.
        if not self.devices.closed:
            self.sink.publish(Reading(tag, value, quality, stamp_ns))
