"""Pacing of periodic work: a ticker that never bursts, and a backoff with jitter.

Shared by drivers, models and the supervisor (drivers may import it, like the reading types).
"""

from __future__ import annotations

import random
import time


class Ticker:
    """Deadlines every ``period`` seconds on the monotonic clock.

    A cycle that overran skips the periods it missed instead of running them back to back: a slow
    device or model is sampled late, never in a burst.
    """

    def __init__(self, period: float) -> None:
        self.period = period
        self.next = time.monotonic()
        self.skipped = 0

    def advance(self) -> float:
        """Move to the next deadline; returns the seconds to wait for it."""
        self.next += self.period
        now = time.monotonic()
        if self.next < now:
            missed = int((now - self.next) // self.period) + 1
            self.skipped += missed
            self.next += missed * self.period
        return max(0.0, self.next - now)

    def restart_in(self, delay: float) -> float:
        """Put the next deadline ``delay`` seconds from now (after a failure); returns ``delay``."""
        self.next = time.monotonic() + delay
        return delay


class Backoff:
    """Growing delays between attempts: first, 2x first, 4x first ... up to ``cap``, each with +-20 % jitter.

    Jitter spreads the retries of many devices that went down together (a switch reboot) over time.
    """

    def __init__(self, first: float, cap: float) -> None:
        self.first = first
        self.cap = max(cap, first)
        self.failures = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * 2**self.failures)
        self.failures += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.failures = 0
