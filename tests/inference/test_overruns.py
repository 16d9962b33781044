"""A model slower than its period skips cycles and counts them; work never piles up behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from edge_agent.inference.pipeline import ModelPipeline
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from tests.support.feeding import model_config, pipeline_for
from tests.support.waiting import eventually

HERE = Path(__file__).resolve().parent  # the room's test models lie beside its tests

SLOW = HERE / "slow.tflite"  # about 100 ms an invocation here


def slow_pipeline() -> ModelPipeline:
    config = model_config(
        name="slow", file=str(SLOW), every="10ms", inputs={"tags": ["x"]}, outputs=[{"name": "y"}]
    )
    pipeline = pipeline_for(config, file=SLOW)
    assert pipeline.model is not None, pipeline.refusal
    pipeline.store.publish(Reading("x", 1.0))
    return pipeline


async def test_a_model_slower_than_its_period_skips_cycles_and_counts_them_as_overruns() -> None:
    pipeline = slow_pipeline()
    model = pipeline.model
    assert model is not None
    assert not pipeline.inline  # far too slow for the event loop: it runs in its own thread

    published: list[int] = []
    pipeline.store.listen(
        lambda r: published.append(r.value) if r.tag == "slow_overruns" and r.value else None
    )
    # What the model's thread does, seen from inside: how many invocations run at once.
    running = 0
    most_at_once = 0
    invoke = model.run

    def counted_run() -> list[Any]:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        try:
            return invoke()
        finally:
            running -= 1

    model.run = counted_run  # type: ignore[method-assign]
    loop_turns = 0

    async def other_work() -> None:
        nonlocal loop_turns
        while True:
            await asyncio.sleep(0.01)
            loop_turns += 1

    tasks = [asyncio.create_task(pipeline.run()), asyncio.create_task(other_work())]
    try:
        # However busy the machine: until the statistics have counted overruns of a few invocations.
        await eventually(lambda: pipeline.invocations >= 3 and bool(published), within=60)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # One invocation at a time and no backlog: a cycle that comes while the model runs is skipped.
    assert most_at_once == 1
    assert pipeline.overruns >= pipeline.invocations
    assert loop_turns > pipeline.invocations  # the event loop went on while the model ran


async def test_an_invocation_still_running_when_the_model_stops_publishes_nothing_afterwards() -> None:
    pipeline = slow_pipeline()
    task = asyncio.create_task(pipeline.run())
    await asyncio.sleep(0.02)  # the first invocation has started
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.3)  # it has finished in its thread by now
    assert pipeline.store.current("y").quality == Quality.BadOutOfService
    assert pipeline.invocations == 0
