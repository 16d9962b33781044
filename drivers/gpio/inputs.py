"""Digital inputs and pulse counters: pins watched for edges.

gpiozero reports edges from its own threads. An input hands each new level to the event loop; a counter
only counts under a lock (pulses may come far faster than the loop should wake) and the loop publishes
the count every COUNTER_PUBLISH_PERIOD_S.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from typing import Any

from edge_agent.quality import Quality
from edge_agent.tags import ReadingSink, now_ns

from .config import GpioCounter, GpioInput, Pull
from .factories import pin_number
from .points import OpenedDevices, PointRuntime

COUNTER_PUBLISH_PERIOD_S = 0.5
_PULL_UP: dict[Pull, bool | None] = {"up": True, "down": False, "none": None}


def _open_input(factory: Any, pin: str, pull: Pull) -> Any:
    from gpiozero import InputDevice

    pull_up = _PULL_UP[pull]
    return InputDevice(
        pin_number(pin),
        pull_up=pull_up,
        # gpiozero derives the active state from the pull and wants one only for a floating pin; the
        # driver reads the pin's level itself, so that choice does not matter here.
        active_state=True if pull_up is None else None,
        pin_factory=factory,
    )


class InputPoint(PointRuntime[GpioInput]):
    """A digital input: its tag follows the pin's level (inverted when active_low), debounced if asked."""

    def __init__(
        self, point: GpioInput, sink: ReadingSink, loop: asyncio.AbstractEventLoop, devices: OpenedDevices
    ) -> None:
        super().__init__(point, sink, loop, devices)
        self._first: tuple[bool, int] | None = None
        self._seen_edge = False
        self._published: bool | None = None
        self._pending: tuple[bool, int] | None = None
        self._settle_timer: asyncio.TimerHandle | None = None

    def open(self, factory: Any) -> None:
        device = self.devices.adopt(_open_input(factory, self.point.pin, self.point.pull))
        device.pin.edges = "both"
        # gpiozero keeps only a weak reference to the callback; this object lives as long as the source.
        device.pin.when_changed = self._changed
        self._first = (self._level(device.pin.state), now_ns())

    def start(self) -> None:
        if self._first is not None and not self._seen_edge:
            self._publish(*self._first)

    def _level(self, pin_state: Any) -> bool:
        return bool(pin_state) != self.point.active_low

    def _changed(self, _ticks: Any, state: Any) -> None:
        # In gpiozero's thread: the level and time of this edge go to the loop.
        self.loop.call_soon_threadsafe(self._on_level, self._level(state), now_ns())

    def _on_level(self, level: bool, stamp_ns: int) -> None:
        self._seen_edge = True
        if self.point.debounce is None:
            self._publish(level, stamp_ns)
            return
        # A level counts once it has held for the debounce time; every edge starts the wait again.
        self._pending = (level, stamp_ns)
        if self._settle_timer is not None:
            self._settle_timer.cancel()
        self._settle_timer = self.loop.call_later(self.point.debounce, self._settle)

    def _settle(self) -> None:
        self._settle_timer = None
        if self._pending is not None:
            self._publish(*self._pending)
            self._pending = None

    def _publish(self, level: bool, stamp_ns: int) -> None:
        if level == self._published:
            return
        self._published = level
        self.publish(self.point.name, level, Quality.Good, stamp_ns)


class CounterPoint(PointRuntime[GpioCounter]):
    """A pulse counter: the count of the chosen edges, and their rate over the last rate_window.

    The count's source timestamp is the time of its last edge; the rate's is the time it was worked
    out, since it falls over time without any edge.
    """

    def __init__(
        self, point: GpioCounter, sink: ReadingSink, loop: asyncio.AbstractEventLoop, devices: OpenedDevices
    ) -> None:
        super().__init__(point, sink, loop, devices)
        self._lock = threading.Lock()
        self._count = 0
        self._last_edge_ns = now_ns()
        self._edge_times: collections.deque[float] = collections.deque()
        self._started = time.monotonic()
        self._published_count: int | None = None
        self._published_rate: float | None = None

    @property
    def tags(self) -> list[str]:
        return [self.point.name, self.point.rate_tag]

    def open(self, factory: Any) -> None:
        device = self.devices.adopt(_open_input(factory, self.point.pin, self.point.pull))
        device.pin.edges = self.point.counted_edge
        device.pin.when_changed = self._edge
        self._started = time.monotonic()
        self._last_edge_ns = now_ns()

    def _edge(self, _ticks: Any, _state: Any) -> None:
        # In gpiozero's thread; the pin reports only the edges that count.
        with self._lock:
            self._count += 1
            self._edge_times.append(time.monotonic())
            self._last_edge_ns = now_ns()

    def start(self) -> None:
        self._publish()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(COUNTER_PUBLISH_PERIOD_S)
            self._publish()

    def _publish(self) -> None:
        now = time.monotonic()
        window = self.point.rate_window
        with self._lock:
            while self._edge_times and self._edge_times[0] < now - window:
                self._edge_times.popleft()
            count, recent, last_edge_ns = self._count, len(self._edge_times), self._last_edge_ns
        # Until a whole window has passed, the rate is over the time the counter has been watching.
        watched = min(window, now - self._started) or window
        rate = recent / watched
        if count != self._published_count:
            self._published_count = count
            self.publish(self.point.name, count, Quality.Good, last_edge_ns)
        if self._published_rate is None or round(rate, 6) != round(self._published_rate, 6):
            self._published_rate = rate
            self.publish(self.point.rate_tag, rate, Quality.Good, now_ns())
