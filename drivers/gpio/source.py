"""A GPIO source: the pins of one board, through gpiozero."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from drivers.base import Source
from edge_agent.quality import Quality
from edge_agent.tags import Reading, ReadingSink, TagInfo, TagValue, now_ns

from .analog import AnalogPoint
from .config import GpioAnalogInput, GpioCounter, GpioInput, GpioOutput, GpioPwm, GpioSourceConfig
from .factories import NoGpioError, open_pin_factory
from .inputs import CounterPoint, InputPoint
from .outputs import OutputPoint, PwmPoint
from .points import DevicesClosedError, OpenedDevices, PointRuntime

log = logging.getLogger(__name__)

_RUNTIMES: dict[type, type[PointRuntime[Any]]] = {
    GpioInput: InputPoint,
    GpioCounter: CounterPoint,
    GpioOutput: OutputPoint,
    GpioPwm: PwmPoint,
}


class GpioSource(Source[GpioSourceConfig]):
    """Opens the board's pin factory and one gpiozero device per point, all off the event loop.

    A machine without GPIO is a configuration problem, not a failure: it is said once, the tags turn
    BadConfigurationError, and ``run`` waits quietly until it is cancelled. A point whose pin cannot be
    used does the same for its own tags while the others run.
    """

    def __init__(self, config: GpioSourceConfig) -> None:
        super().__init__(config)
        self._infos = config.tag_infos()
        self._running: dict[str, PointRuntime[Any]] = {}
        self._unusable: set[str] = set()

    def tag_infos(self) -> list[TagInfo]:
        return list(self._infos)

    async def run(self, sink: ReadingSink) -> None:
        try:
            factory = await asyncio.to_thread(open_pin_factory, self.config.pin_factory)
        except NoGpioError as exc:
            log.error(
                "%s: no GPIO on this machine (%s); its tags stay Bad. "
                "Use pin_factory: mock to try the config without hardware.",
                self.name,
                exc,
            )
            self._mark_unusable(sink, [info.name for info in self._infos])
            await asyncio.Event().wait()  # until cancelled: nothing will change without a new config
            return
        loop = asyncio.get_running_loop()
        devices = OpenedDevices()
        bus = asyncio.Lock()
        points = [self._runtime(point, sink, loop, devices, bus) for point in self.config.points]
        try:
            opened = await asyncio.to_thread(self._open, points, factory)
            for point in opened:
                point.start()
                for tag in point.tags:
                    self._running[tag] = point
            async with asyncio.TaskGroup() as group:
                for point in opened:
                    group.create_task(point.run(), name=f"{self.name}: {point.point.name}")
                await asyncio.Event().wait()
        finally:
            self._running.clear()
            await asyncio.to_thread(devices.close)

    def _runtime(
        self,
        point: Any,
        sink: ReadingSink,
        loop: asyncio.AbstractEventLoop,
        devices: OpenedDevices,
        bus: asyncio.Lock,
    ) -> PointRuntime[Any]:
        if isinstance(point, GpioAnalogInput):
            return AnalogPoint(point, sink, loop, devices, bus)
        return _RUNTIMES[type(point)](point, sink, loop, devices)

    def _open(self, points: list[PointRuntime[Any]], factory: Any) -> list[PointRuntime[Any]]:
        """Open every point's device (in a worker thread); the points that could not be opened are said
        and marked, and the rest returned."""
        opened = []
        for point in points:
            try:
                point.open(factory)
            except DevicesClosedError:
                break
            except Exception as exc:
                config = point.point
                where = (
                    f"the {config.kind} on SPI device {config.spi.device}"
                    if isinstance(config, GpioAnalogInput)
                    else getattr(config, "pin", "its pin")
                )
                log.error(
                    "%s: cannot use %s for '%s' (%s); its tags stay Bad",
                    self.name,
                    where,
                    point.point.name,
                    exc,
                )
                point.loop.call_soon_threadsafe(self._mark_unusable, point.sink, point.tags)
            else:
                opened.append(point)
        return opened

    def _mark_unusable(self, sink: ReadingSink, tags: list[str]) -> None:
        stamp = now_ns()
        for tag in tags:
            self._unusable.add(tag)
            sink.publish(Reading(tag, None, Quality.BadConfigurationError, stamp))

    async def write(self, tag: str, value: TagValue) -> Quality:
        point = self._running.get(tag)
        if point is not None:
            return await point.write(value)
        if tag in self._unusable:
            return Quality.BadConfigurationError
        return Quality.BadNotConnected
