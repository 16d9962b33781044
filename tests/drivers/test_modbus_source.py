"""The Modbus driver against a real Modbus TCP device on loopback (the simulated pump)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.modbus.config import ModbusSourceConfig
from drivers.modbus.source import ModbusTcpSource
from edge_agent.quality import Quality
from edge_agent.simulator.modbus_device import SimulatedPumpDevice
from edge_agent.tagstore import TagStore
from tests.waiting import eventually

POINTS = [
    {"name": "motor_temperature", "kind": "input", "address": 0, "type": "float32", "unit": "degC"},
    {"name": "vibration_rms", "kind": "input", "address": 2, "scale": 0.01},
    {"name": "motor_speed", "kind": "input", "address": 5},
    {"name": "speed_setpoint", "kind": "holding", "address": 1, "writable": True, "range": [0, 3000]},
]


def source_config(port: int, points: list[dict[str, object]] = POINTS) -> ModbusSourceConfig:
    return ModbusSourceConfig.model_validate(
        {
            "name": "pump",
            "driver": "modbus",
            "host": "127.0.0.1",
            "port": port,
            "poll": "50ms",
            "timeout": "200ms",
            "points": points,
        }
    )


@pytest.fixture
async def pump() -> AsyncIterator[SimulatedPumpDevice]:
    async with SimulatedPumpDevice(port=0, seed=5) as device:
        yield device


async def running(source: ModbusTcpSource, store: TagStore) -> asyncio.Task[None]:
    return asyncio.create_task(source.run(store))


async def test_points_are_read_decoded_and_scaled(pump: SimulatedPumpDevice) -> None:
    source = ModbusTcpSource(source_config(pump.port))
    store = TagStore(source.tag_infos())
    task = await running(source, store)
    try:
        await eventually(lambda: all(r.quality == Quality.Good for r in store.snapshot().values()))
    finally:
        task.cancel()
    state = pump.pump.state
    assert store.current("motor_temperature").value == pytest.approx(state.motor_temperature, abs=0.5)
    assert store.current("vibration_rms").value == pytest.approx(state.vibration_rms, abs=0.5)
    assert isinstance(store.current("motor_speed").value, int)
    assert store.current("speed_setpoint").value == 2900


async def test_a_device_that_goes_away_turns_tags_bad_keeping_values_and_they_recover() -> None:
    device = SimulatedPumpDevice(port=0, seed=5)
    await device.start()
    port = device.port
    source = ModbusTcpSource(source_config(port))
    store = TagStore(source.tag_infos())
    task = await running(source, store)
    try:
        await eventually(lambda: store.current("motor_speed").quality == Quality.Good)
        last_speed = store.current("motor_speed").value
        await device.stop()
        await eventually(lambda: store.current("motor_speed").quality.is_bad)
        assert store.current("motor_speed").value == last_speed
        device = SimulatedPumpDevice(port=port, seed=5)
        await device.start()
        await eventually(lambda: store.current("motor_speed").quality == Quality.Good, within=15)
    finally:
        task.cancel()
        await device.stop()


async def test_a_register_the_device_lacks_gives_bad_status_only_to_its_points(
    pump: SimulatedPumpDevice,
) -> None:
    points = [*POINTS, {"name": "missing", "kind": "holding", "address": 500}]
    source = ModbusTcpSource(source_config(pump.port, points))
    store = TagStore(source.tag_infos())
    task = await running(source, store)
    try:
        await eventually(lambda: store.current("missing").quality != Quality.BadWaitingForInitialData)
        await eventually(lambda: store.current("motor_speed").quality == Quality.Good)
    finally:
        task.cancel()
    assert store.current("missing").quality == Quality.BadConfigurationError


async def test_a_write_reaches_the_device_and_out_of_range_is_refused(pump: SimulatedPumpDevice) -> None:
    source = ModbusTcpSource(source_config(pump.port))
    store = TagStore(source.tag_infos())
    store.set_writer("speed_setpoint", source.write)
    assert await store.write("speed_setpoint", 2500) == Quality.Good
    assert pump.pump.speed_setpoint == 2500
    assert await store.write("speed_setpoint", 5000) == Quality.BadOutOfRange
    assert await store.write("motor_speed", 1) == Quality.BadNotWritable
    source._client.close()


async def test_a_merged_read_over_unimplemented_registers_falls_back_to_single_reads(
    pump: SimulatedPumpDevice,
) -> None:
    # The pump implements holding 0, 1 and 10 only; a read of 1..10 is refused with illegal address.
    points = [
        {"name": "speed_setpoint", "kind": "holding", "address": 1},
        {"name": "bearing_fault", "kind": "holding", "address": 10},
    ]
    source = ModbusTcpSource(source_config(pump.port, points))
    store = TagStore(source.tag_infos())
    assert len(source.plan) == 1
    task = await running(source, store)
    try:
        await eventually(lambda: all(r.quality == Quality.Good for r in store.snapshot().values()))
    finally:
        task.cancel()
    assert store.current("speed_setpoint").value == 2900
    assert store.current("bearing_fault").value == 0
    assert len(source.plan) == 2
