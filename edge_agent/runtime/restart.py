"""Keeping a long-running piece alive: restart it with backoff when it fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from edge_agent.pacing import SYSTEM_CLOCK, Backoff, Clock

log = logging.getLogger(__name__)

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0


async def keep_running(name: str, run: Callable[[], Awaitable[None]], clock: Clock = SYSTEM_CLOCK) -> None:
    """Run ``run()`` until cancelled; if it raises, log it and start it again after a growing delay.

    A driver or model that crashes must not take the agent with it: its tags go Bad while it is down
    (the runtime sees to that) and everything else keeps serving.
    """
    backoff = Backoff(FIRST_DELAY_S, MAX_DELAY_S, clock)
    while True:
        started = clock.monotonic()
        crashed = False
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            crashed = True
        if clock.monotonic() - started > MAX_DELAY_S:
            backoff.reset()  # it ran well for a while: this is a new failure, not the same one again
        delay = backoff.next_delay()
        what = "failed" if crashed else "stopped by itself"
        log.error("%s %s; starting it again in %.1f s", name, what, delay, exc_info=crashed)
        await clock.sleep(delay)
