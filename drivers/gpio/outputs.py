"""Digital and PWM outputs: pins the agent drives, switched by clients' writes.

A write sets the pin in a worker thread, reads back what the pin now does, and publishes that: the tag
shows the pin's state, never merely the value asked for.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any, TypeVar

from edge_agent.quality import Quality
from edge_agent.tags import ReadingSink, TagValue, now_ns

from .config import GpioOutput, GpioPwm
from .factories import pin_number
from .points import OpenedDevices, PointRuntime

log = logging.getLogger(__name__)

Driven = TypeVar("Driven", bound=GpioOutput | GpioPwm)


class _DrivenPoint(PointRuntime[Driven]):
    """What a digital and a PWM output share: the device, its state, and the path of a write."""

    def __init__(
        self, point: Driven, sink: ReadingSink, loop: asyncio.AbstractEventLoop, devices: OpenedDevices
    ) -> None:
        super().__init__(point, sink, loop, devices)
        self._device: Any = None
        self._state: TagValue | None = None
        self._writing = asyncio.Lock()

    def start(self) -> None:
        self.publish(self.point.name, self._state, Quality.Good, now_ns())

    def _read(self) -> TagValue:
        raise NotImplementedError

    def _refused(self, value: TagValue) -> Quality | None:
        """Why ``value`` cannot be written, or None when it can."""
        raise NotImplementedError

    async def write(self, value: TagValue) -> Quality:
        if not getattr(self.point, "writable", False):
            return Quality.BadNotWritable
        refused = self._refused(value)
        if refused is not None:
            return refused
        async with self._writing:
            if self._device is None or self.devices.closed:
                return Quality.BadNotConnected
            try:
                state = await asyncio.to_thread(self._set, value)
            except Exception as exc:
                log.warning("%s: could not set %s to %r: %s", self.point.name, self.point.pin, value, exc)
                return Quality.BadDeviceFailure
            self._state = state
            self.publish(self.point.name, state, Quality.Good, now_ns())
        return Quality.Good

    def _set(self, value: TagValue) -> TagValue:
        self._device.value = value
        return self._read()


class OutputPoint(_DrivenPoint[GpioOutput]):
    """A digital output: true switches it on (the pin goes high, or low when active_low)."""

    def open(self, factory: Any) -> None:
        from gpiozero import DigitalOutputDevice

        self._device = self.devices.adopt(
            DigitalOutputDevice(
                pin_number(self.point.pin),
                active_high=not self.point.active_low,
                initial_value=self.point.initial,
                pin_factory=factory,
            )
        )
        self._state = self._read()

    def _read(self) -> bool:
        return bool(self._device.value)

    def _refused(self, value: TagValue) -> Quality | None:
        return None if isinstance(value, bool) else Quality.BadTypeMismatch


class PwmPoint(_DrivenPoint[GpioPwm]):
    """A PWM output: its value is the duty cycle, from 0 (off) to 1 (fully on)."""

    def open(self, factory: Any) -> None:
        from gpiozero import PWMOutputDevice

        self._device = self.devices.adopt(
            PWMOutputDevice(
                pin_number(self.point.pin),
                initial_value=self.point.initial,
                frequency=self.point.frequency,
                pin_factory=factory,
            )
        )
        self._state = self._read()

    def _read(self) -> float:
        return float(self._device.value)

    def _refused(self, value: TagValue) -> Quality | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return Quality.BadTypeMismatch
        if not math.isfinite(value) or not 0 <= value <= 1:
            return Quality.BadOutOfRange
        return None
