"""A crashing piece is started again, with growing delays that start over after a good run."""

from __future__ import annotations

import asyncio
import itertools

from edge_agent.runtime import restart
from tests.support.clock import FakeClock
from tests.support.waiting import eventually


async def test_a_crashing_piece_is_restarted_with_growing_delays() -> None:
    clock = FakeClock()
    starts: list[float] = []

    async def crashes() -> None:
        starts.append(clock.monotonic())
        raise RuntimeError("boom")

    task = asyncio.create_task(restart.keep_running("flaky", crashes, clock))
    await eventually(lambda: len(starts) >= 8)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # 1, 2, 4 ... s up to 30 s (the jitter at its middle): each start waited out the delay before it.
    assert gaps[:7] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert gaps == clock.sleeps[: len(gaps)]


async def test_a_piece_that_ran_long_before_it_crashed_starts_over_at_the_first_delay() -> None:
    clock = FakeClock()
    runs = 0

    async def crashes_after_a_while() -> None:
        nonlocal runs
        runs += 1
        if runs == 4:
            clock.advance(restart.MAX_DELAY_S + 1)  # a good run, longer than the longest delay
        raise RuntimeError("boom")

    task = asyncio.create_task(restart.keep_running("flaky", crashes_after_a_while, clock))
    await eventually(lambda: runs >= 6)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert clock.sleeps[:5] == [1.0, 2.0, 4.0, 1.0, 2.0]


async def test_a_cancelled_piece_is_not_restarted() -> None:
    runs = 0

    async def forever() -> None:
        nonlocal runs
        runs += 1
        await asyncio.Event().wait()

    task = asyncio.create_task(restart.keep_running("steady", forever))
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert runs == 1
