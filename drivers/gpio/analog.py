"""Analog inputs: a channel of an MCP3xxx ADC on the SPI bus, read every `poll`.

An SPI transfer blocks, so each read runs in a worker thread; the reads of one source take turns, as
they share the bus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from edge_agent.quality import Quality
from edge_agent.tags import ReadingSink, now_ns

from .config import GpioAnalogInput
from .points import OpenedDevices, PointRuntime

log = logging.getLogger(__name__)


class AnalogPoint(PointRuntime[GpioAnalogInput]):
    """One ADC channel; its value is raw * scale + offset, raw being gpiozero's 0..1 of full scale."""

    def __init__(
        self,
        point: GpioAnalogInput,
        sink: ReadingSink,
        loop: asyncio.AbstractEventLoop,
        devices: OpenedDevices,
        bus: asyncio.Lock,
    ) -> None:
        super().__init__(point, sink, loop, devices)
        self._bus = bus
        self._device: Any = None
        self._published: float | None = None
        self._quality: Quality | None = None

    def open(self, factory: Any) -> None:
        import gpiozero

        chip = getattr(gpiozero, self.point.kind.upper())
        spi_args: dict[str, Any] = {
            "port": self.point.spi.port,
            "device": self.point.spi.device,
            "pin_factory": factory,
        }
        if self.point.channels > 1:
            spi_args |= {"channel": self.point.input_channel, "differential": self.point.is_differential}
        self._device = self.devices.adopt(chip(**spi_args))

    async def run(self) -> None:
        period = self.point.poll
        next_poll = time.monotonic()
        while True:
            await self._poll_once()
            next_poll += period
            now = time.monotonic()
            if next_poll < now:  # a slow read: skip the periods it overran, do not burst
                next_poll = now + period - ((now - next_poll) % period)
            await asyncio.sleep(max(0.0, next_poll - time.monotonic()))

    async def _poll_once(self) -> None:
        try:
            async with self._bus:
                raw = await asyncio.to_thread(self._read)
        except Exception as exc:
            if self._quality != Quality.BadCommunicationError:
                log.warning("%s: reading the %s failed: %s", self.point.name, self.point.kind, exc)
                self._quality = Quality.BadCommunicationError
                self.publish(self.point.name, None, Quality.BadCommunicationError, now_ns())
            return
        stamp = now_ns()
        value = raw * self.point.scale + self.point.offset
        if (
            self._quality == Quality.Good
            and self._published is not None
            and abs(value - self._published) <= self.point.deadband
        ):
            return
        self._quality = Quality.Good
        self._published = value
        self.publish(self.point.name, value, Quality.Good, stamp)

    def _read(self) -> float:
        return float(self._device.value)
