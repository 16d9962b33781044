"""Pacing of periodic work: a ticker that never bursts, and a backoff with jitter.

Shared by drivers, models and the supervisor (drivers may import it, like the reading types).
Both take a Clock, so that a test can move time on instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Protocol


class Clock(Protocol):
    """Where pacing gets the time, the jitter and the waiting from."""

    def monotonic(self) -> float:
        """Seconds on a clock that only moves forward."""
        ...

    def uniform(self, low: float, high: float) -> float:
        """A random number between ``low`` and ``high``."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds`` on this clock."""
        ...


class SystemClock:
    """The monotonic clock, the random module and the event loop's sleep."""

    def monotonic(self) -> float:
        return time.monotonic()

    def uniform(self, low: float, high: float) -> float:
        return random.uniform(low, high)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class Ticker:
    """Deadlines every ``period`` seconds on the monotonic clock.

    A cycle that overran skips the periods it missed instead of running them back to back: a slow
    device or model is sampled late, never in a burst.
    """

    def __init__(self, period: float, clock: Clock = SYSTEM_CLOCK) -> None:
        self.period = period
        self.clock = clock
        self.next = clock.monotonic()
        self.skipped = 0

    def advance(self) -> float:
        """Move to the next deadline; returns the seconds to wait for it."""
        self.next += self.period
        now = self.clock.monotonic()
        if self.next < now:
            missed = int((now - self.next) // self.period) + 1
            self.skipped += missed
            self.next += missed * self.period
        return max(0.0, self.next - now)

    def restart_in(self, delay: float) -> float:
        """Put the next deadline ``delay`` seconds from now (after a failure); returns ``delay``."""
        self.next = self.clock.monotonic() + delay
        return delay


class Backoff:
    """Growing delays between attempts: first, 2x first, 4x first ... up to ``cap``, each with +-20 % jitter.

    Jitter spreads the retries of many devices that went down together (a switch reboot) over time.
    """

    def __init__(self, first: float, cap: float, clock: Clock = SYSTEM_CLOCK) -> None:
        self.first = first
        self.cap = max(cap, first)
        self.clock = clock
        self.failures = 0

    def next_delay(self) -> float:
        delay: float = min(self.cap, self.first * 2**self.failures)  # int ** int is Any to mypy
        self.failures += 1
        return delay * self.clock.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.failures = 0
