"""Digital inputs and pulse counters on GPIO pins, through gpiozero."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from drivers.base import Source
from edge_agent.quality import Quality
from edge_agent.tags import Reading, ReadingSink, TagInfo, now_ns

from .factories import pin_factory, pin_number

log = logging.getLogger(__name__)

COUNTER_PUBLISH_PERIOD_S = 0.5
_PULL_UP = {"up": True, "down": False, "none": None}


class GpioSource(Source):
    """gpiozero calls back from its own threads; every reading is handed to the event loop from there."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.name: str = config.name
        self._infos = config.tag_infos()
        self._devices: list[Any] = []

    def tag_infos(self) -> list[TagInfo]:
        return list(self._infos)

    async def run(self, sink: ReadingSink) -> None:
        from gpiozero import DigitalInputDevice

        loop = asyncio.get_running_loop()
        factory = pin_factory(self.config.pin_factory)
        counters: list[_Counter] = []
        try:
            for point in self.config.points:
                pull_up = _PULL_UP[point.pull]
                device = DigitalInputDevice(
                    pin_number(point.pin),
                    pull_up=pull_up,
                    # gpiozero derives the active state from the pull; it wants one only when floating
                    active_state=None if pull_up is not None else not getattr(point, "active_low", False),
                    bounce_time=getattr(point, "debounce", None),
                    pin_factory=factory,
                )
                self._devices.append(device)
                if point.kind == "input":
                    self._watch_input(device, point, sink, loop)
                else:
                    counter = _Counter(point.name, point.rate_window)
                    device.when_activated = lambda _d, c=counter: c.pulse()
                    counters.append(counter)
            while True:
                for counter in counters:
                    counter.publish(sink)
                await asyncio.sleep(COUNTER_PUBLISH_PERIOD_S)
        finally:
            for device in self._devices:
                device.close()
            self._devices.clear()

    def _watch_input(
        self, device: Any, point: Any, sink: ReadingSink, loop: asyncio.AbstractEventLoop
    ) -> None:
        def level() -> bool:
            # The config's active_low is about the wire (active when the pin reads low), whatever the pull.
            high = bool(device.pin.state)
            return not high if point.active_low else high

        def changed(_device: Any = None) -> None:
            reading = Reading(point.name, level(), Quality.Good, now_ns())
            loop.call_soon_threadsafe(sink.publish, reading)

        device.when_activated = changed
        device.when_deactivated = changed
        sink.publish(Reading(point.name, level(), Quality.Good, now_ns()))


class _Counter:
    def __init__(self, name: str, rate_window: float) -> None:
        self.name = name
        self.rate_window = rate_window
        self.count = 0
        self._edges: collections.deque[float] = collections.deque()
        self._published: tuple[int, float] | None = None
        self._started = time.monotonic()

    def pulse(self) -> None:
        # Called from gpiozero's thread: only appends, the event loop does the rest.
        self._edges.append(time.monotonic())
        self.count += 1

    def publish(self, sink: ReadingSink) -> None:
        now = time.monotonic()
        while self._edges and self._edges[0] < now - self.rate_window:
            self._edges.popleft()
        window = min(self.rate_window, now - self._started) or self.rate_window
        rate = len(self._edges) / window
        state = (self.count, round(rate, 6))
        if state == self._published:
            return
        self._published = state
        stamp = now_ns()
        sink.publish(Reading(self.name, self.count, Quality.Good, stamp))
        sink.publish(Reading(f"{self.name}_rate", rate, Quality.Good, stamp))
