"""A stopped edge node stops: a cancellation is not lost inside an aiomqtt call.

aiomqtt waits with asyncio.wait_for, which before Python 3.12 drops a cancellation that arrives in the
same loop step as the awaited call's result (CPython gh-86296); the edge node's sender then waited for its
next change forever after the agent was told to stop.
"""

from __future__ import annotations

import asyncio

import pytest

from edge_agent.sparkplug.mqtt import _keeping_cancellation


async def _result_and_cancel_in_one_step(call: asyncio.Future[str], waiting: asyncio.Task[str]) -> None:
    await asyncio.sleep(0)  # the task is now waiting inside wait_for
    call.set_result("sent")
    waiting.cancel()


async def test_a_cancellation_arriving_with_the_result_is_raised() -> None:
    call: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(_keeping_cancellation(asyncio.wait_for(call, timeout=10)))
    await _result_and_cancel_in_one_step(call, waiting)
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_call_in_cleanup_after_a_cancellation_returns_its_result() -> None:
    # Cleanup after a cancellation (the NDEATH of a graceful stop) still publishes and gets its result.
    results: list[str] = []

    async def stop_gracefully() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            call: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            call.set_result("death sent")
            results.append(await _keeping_cancellation(asyncio.wait_for(call, timeout=10)))

    task = asyncio.create_task(stop_gracefully())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert results == ["death sent"]


async def test_an_uncancelled_call_returns_its_result() -> None:
    call: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    call.set_result("sent")
    assert await _keeping_cancellation(asyncio.wait_for(call, timeout=10)) == "sent"
