"""Keeping a long-running piece alive: restart it with backoff when it fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0


async def keep_running(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run ``run()`` until cancelled; if it raises, log it and start it again after a growing delay.

    A driver or model that crashes must not take the agent with it: its tags go stale (the driver marks
    them Bad on its way down or on restart) while everything else keeps serving.
    """
    delay = FIRST_DELAY_S
    while True:
        try:
            await run()
            log.warning("%s stopped by itself; starting it again in %.0f s", name, delay)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; starting it again in %.0f s", name, delay)
        await asyncio.sleep(delay)
        delay = min(MAX_DELAY_S, delay * 2)
