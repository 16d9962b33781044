"""The simulated pump as a Modbus TCP peer: a real pymodbus client on loopback, the physics in real time."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from pymodbus.client import AsyncModbusTcpClient

from edge_agent.simulator import SimulatedPumpDevice

UNIT = 1


@dataclass(frozen=True)
class Measurements:
    motor_temperature: float
    vibration_rms: float
    discharge_pressure: float
    flow_rate: float
    motor_speed: int


async def read_measurements(client: AsyncModbusTcpClient) -> Measurements:
    response = await client.read_input_registers(0, count=6, device_id=UNIT)
    assert not response.isError(), response
    registers = response.registers
    temperature = client.convert_from_registers(registers[0:2], client.DATATYPE.FLOAT32, word_order="big")
    assert isinstance(temperature, float)
    return Measurements(
        motor_temperature=temperature,
        vibration_rms=registers[2] * 0.01,
        discharge_pressure=registers[3] * 0.01,
        flow_rate=registers[4] * 0.1,
        motor_speed=registers[5],
    )


async def read_holding(client: AsyncModbusTcpClient, address: int) -> int:
    response = await client.read_holding_registers(address, count=1, device_id=UNIT)
    assert not response.isError(), response
    return response.registers[0]


async def poll(client: AsyncModbusTcpClient, seconds: float, period: float = 0.1) -> list[Measurements]:
    readings = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        readings.append(await read_measurements(client))
        await asyncio.sleep(period)
    return readings


async def test_the_register_map_reads_as_a_running_pump(client: AsyncModbusTcpClient) -> None:
    now = await read_measurements(client)

    assert 55 <= now.motor_temperature <= 70
    assert 1.5 <= now.vibration_rms <= 3.0
    assert 4 <= now.discharge_pressure <= 6
    assert 40 <= now.flow_rate <= 60
    assert abs(now.motor_speed - 2900) < 20
    assert await read_holding(client, 0) == 1
    assert await read_holding(client, 1) == 2900
    assert await read_holding(client, 10) == 0


async def test_port_zero_binds_a_free_port_that_serves_clients() -> None:
    async with SimulatedPumpDevice(port=0) as device:
        assert device.port != 0
        client = AsyncModbusTcpClient("127.0.0.1", port=device.port, timeout=2, retries=0)
        assert await client.connect()
        assert (await read_measurements(client)).motor_speed > 0
        client.close()


async def test_a_stopped_device_refuses_connections() -> None:
    device = SimulatedPumpDevice(port=0)
    await device.start()
    port = device.port
    await device.stop()

    with pytest.raises(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()


async def test_writing_the_bearing_fault_register_makes_the_pump_shake(client: AsyncModbusTcpClient) -> None:
    healthy = await poll(client, 0.5)
    baseline = sum(m.vibration_rms for m in healthy) / len(healthy)

    response = await client.write_register(10, 1, device_id=UNIT)
    assert not response.isError(), response

    readings = await poll(client, 4.0)
    assert max(m.vibration_rms for m in readings[-10:]) > 2 * baseline
    assert await read_holding(client, 10) == 1


async def test_a_fault_started_from_python_shows_in_the_fault_register(
    pump_device: SimulatedPumpDevice, client: AsyncModbusTcpClient
) -> None:
    pump_device.set_bearing_fault(True)
    assert await read_holding(client, 10) == 1
    pump_device.set_bearing_fault(False)
    assert await read_holding(client, 10) == 0


async def test_writing_running_zero_ramps_the_pump_down(client: AsyncModbusTcpClient) -> None:
    response = await client.write_register(0, 0, device_id=UNIT)
    assert not response.isError(), response

    readings = await poll(client, 4.0)
    speeds = [m.motor_speed for m in readings]
    assert any(0 < speed < 2800 for speed in speeds), "speed jumped instead of ramping"
    assert speeds[-1] == 0
    assert readings[-1].flow_rate == 0 and readings[-1].discharge_pressure == 0
    assert await read_holding(client, 0) == 0


async def test_a_new_speed_setpoint_changes_the_speed(client: AsyncModbusTcpClient) -> None:
    response = await client.write_registers(0, [1, 2500], device_id=UNIT)
    assert not response.isError(), response

    readings = await poll(client, 1.5)
    assert abs(readings[-1].motor_speed - 2500) < 20
    assert await read_holding(client, 1) == 2500


@pytest.mark.parametrize(("address", "value"), [(0, 2), (1, 5000), (10, 7)])
async def test_out_of_range_writes_are_refused_and_change_nothing(
    client: AsyncModbusTcpClient, address: int, value: int
) -> None:
    before = await read_holding(client, address)
    response = await client.write_register(address, value, device_id=UNIT)
    assert response.isError()
    assert await read_holding(client, address) == before


async def test_registers_outside_the_map_are_illegal_addresses(client: AsyncModbusTcpClient) -> None:
    for response in (
        await client.read_input_registers(6, count=1, device_id=UNIT),
        await client.read_holding_registers(12, count=1, device_id=UNIT),
        await client.read_coils(0, count=1, device_id=UNIT),
        await client.read_discrete_inputs(0, count=1, device_id=UNIT),
    ):
        assert response.isError()
        assert response.exception_code == 2


async def test_the_holding_registers_read_as_one_block_whose_reserved_registers_refuse_writes(
    client: AsyncModbusTcpClient,
) -> None:
    response = await client.read_holding_registers(0, count=12, device_id=UNIT)
    assert not response.isError(), response
    assert response.registers == [1, 2900, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    refused = await client.write_register(5, 0, device_id=UNIT)
    assert refused.isError() and refused.exception_code == 2


async def test_a_request_for_another_unit_gets_no_data(client: AsyncModbusTcpClient) -> None:
    response = await client.read_input_registers(0, count=6, device_id=UNIT + 1)
    assert response.isError()
