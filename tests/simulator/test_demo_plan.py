"""The demo's simulated pump answers every read the demo's config plans, so the demo shows those reads
as planned (one request per table) and never falls back to reading points one by one."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from drivers.modbus.device import read_table
from drivers.modbus.plan import plan_device
from drivers.modbus.source import ModbusSource
from edge_agent.agent_config import load_config
from edge_agent.demo import DEMO_CONFIG
from edge_agent.quality import Quality
from edge_agent.simulator import SimulatedPumpDevice
from edge_agent.tagstore import TagStore
from tests.support.waiting import eventually


def demo_pump_source(port: int) -> Any:
    """The demo's Modbus source, pointed at ``port``."""
    config = load_config(DEMO_CONFIG)
    (pump,) = [source for source in config.sources if source.driver == "modbus"]
    return pump.model_copy(update={"port": port})


async def test_every_read_of_the_demo_plan_is_answered_in_full(
    pump_device: SimulatedPumpDevice, client: AsyncModbusTcpClient
) -> None:
    config = demo_pump_source(pump_device.port)
    for device in config.devices_resolved():
        for request in plan_device(device):
            answer = await read_table(client, request.kind, request.address, request.count, device.unit)
            assert not answer.isError(), (request.kind, request.address, request.count, answer)
            assert len(answer.registers) == request.count


async def test_the_demo_source_reads_its_plan_without_falling_back_to_single_reads(
    pump_device: SimulatedPumpDevice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = demo_pump_source(pump_device.port)
    source = ModbusSource(config)
    (poller,) = source.pollers
    planned = len(poller.plan)
    store = TagStore(source.tag_infos())
    task = asyncio.create_task(source.run(store))
    try:
        await eventually(
            lambda: (
                all(reading.quality == Quality.Good for reading in store.snapshot().values())
                and poller.cycles >= 3
            ),
            within=15,
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(poller.plan) == planned == 2
    assert "cannot be read at once" not in caplog.text
