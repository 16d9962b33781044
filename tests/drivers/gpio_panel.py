"""A GPIO source named panel, built from point entries as a config gives them, and run as the agent does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from drivers.gpio.config import GpioSourceConfig
from drivers.gpio.source import GpioSource
from edge_agent.tagstore import TagStore


def panel(*points: dict[str, Any], factory: str | None = "mock") -> GpioSource:
    """The source on gpiozero's ``factory``; with None, the environment chooses, as in the config."""
    config: dict[str, Any] = {"name": "panel", "driver": "gpio", "points": list(points)}
    if factory is not None:
        config["pin_factory"] = factory
    return GpioSource(GpioSourceConfig.model_validate(config))


@contextlib.asynccontextmanager
async def running(source: GpioSource) -> AsyncIterator[TagStore]:
    """The source running into a tag store that routes writes to it, as the agent wires them."""
    store = TagStore(source.tag_infos())
    for info in source.tag_infos():
        if info.writable:
            store.set_writer(info.name, source.write)
    task = asyncio.create_task(source.run(store))
    try:
        yield store
        assert not task.done(), "run() returned or raised while the source should be running"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
