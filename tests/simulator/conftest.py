from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient

from edge_agent.simulator import SimulatedPumpDevice


@pytest.fixture
async def pump_device() -> AsyncIterator[SimulatedPumpDevice]:
    async with SimulatedPumpDevice(port=0, seed=1234) as device:
        yield device


@pytest.fixture
async def client(pump_device: SimulatedPumpDevice) -> AsyncIterator[AsyncModbusTcpClient]:
    modbus_client = AsyncModbusTcpClient("127.0.0.1", port=pump_device.port, timeout=2, retries=0)
    assert await modbus_client.connect()
    yield modbus_client
    modbus_client.close()
