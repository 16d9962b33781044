"""A crashing piece is started again, with growing delays that start over after a good run."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from edge_agent.runtime import restart


async def test_a_crashing_piece_is_restarted_with_growing_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restart, "FIRST_DELAY_S", 0.01)
    starts: list[float] = []
    loop = asyncio.get_running_loop()

    async def crashes() -> None:
        starts.append(loop.time())
        raise RuntimeError("boom")

    task = asyncio.create_task(restart.keep_running("flaky", crashes))
    await asyncio.sleep(0.5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) >= 4
    assert gaps[2] > gaps[0] * 2  # 0.01, 0.02, 0.04 ... with +-20 % jitter


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
