"""A clock for pacing tests: time moves when the test or a sleep moves it, and the jitter is chosen."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Stands in for edge_agent.pacing.SYSTEM_CLOCK.

    ``sleep`` moves the time on at once instead of waiting, so a loop paced by this clock runs through
    its delays as fast as the event loop turns. ``uniform`` answers the point ``jitter`` of the way from
    ``low`` to ``high`` (0.5, the middle, unless told).
    """

    def __init__(self, start: float = 1000.0, jitter: float = 0.5) -> None:
        self.now = start
        self.jitter = jitter
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.jitter

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still a turn of the event loop, as a real sleep is
