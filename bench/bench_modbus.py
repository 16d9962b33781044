"""Cost of one poll cycle of the Modbus driver against the bare pymodbus client doing the same reads."""

from __future__ import annotations

import asyncio

from pymodbus.client import AsyncModbusTcpClient

from bench.common import best_of_async, print_table
from drivers.modbus.source import ModbusTcpSource
from edge_agent.config import load_config
from edge_agent.demo import DEMO_CONFIG
from edge_agent.simulator.modbus_device import SimulatedPumpDevice
from edge_agent.tagstore import TagStore


async def run() -> None:
    async with SimulatedPumpDevice(port=0, seed=1) as pump:
        config = load_config(DEMO_CONFIG)
        source_config = next(s for s in config.sources if s.driver == "modbus")
        source_config = source_config.model_copy(update={"port": pump.port})
        source = ModbusTcpSource(source_config)
        store = TagStore(source.tag_infos())
        plan = source.plan

        raw = AsyncModbusTcpClient("127.0.0.1", port=pump.port)
        await raw.connect()

        async def raw_cycle() -> None:
            for request in plan:
                if request.kind == "holding":
                    await raw.read_holding_registers(request.address, count=request.count, device_id=1)
                else:
                    await raw.read_input_registers(request.address, count=request.count, device_id=1)

        async def our_cycle() -> None:
            await source._poll_once(store)

        ours = await best_of_async(our_cycle)
        bare = await best_of_async(raw_cycle)
        raw.close()
        source._client.close()
        points = len(source_config.points)
        print_table(
            f"modbus TCP poll over loopback ({len(plan)} requests, {points} points, simulated pump)",
            [("one poll cycle: read + decode + publish", ours, bare)],
        )


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
