"""A Modbus source built from a short config and run against a tag store, as the driver tests use it."""

from __future__ import annotations

import asyncio
from typing import Any

from drivers.modbus.config import ModbusSourceConfig
from drivers.modbus.source import ModbusSource
from edge_agent.tagstore import TagStore


def source(config: dict[str, Any]) -> ModbusSource:
    data = {"name": "dev", "driver": "modbus", "poll": "50ms", "timeout": "300ms", "retries": 0, **config}
    return ModbusSource(ModbusSourceConfig.model_validate(data))


async def start(src: ModbusSource) -> tuple[TagStore, asyncio.Task[None]]:
    store = TagStore(src.tag_infos())
    for info in src.tag_infos():
        if info.writable:
            store.set_writer(info.name, src.write)
    return store, asyncio.create_task(src.run(store))


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
