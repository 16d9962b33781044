"""``python -m edge_agent.simulator``: the pump as a standalone process for other Modbus tools."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

from pymodbus.client import AsyncModbusTcpClient


async def test_the_standalone_simulator_serves_until_terminated() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge_agent.simulator",
        "--port",
        "0",
        "--fault",
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        listening = None
        while listening is None:
            line = (await asyncio.wait_for(process.stderr.readline(), timeout=20)).decode()
            assert line, "the simulator exited before listening"
            listening = re.search(r"listening on 127\.0\.0\.1:(\d+), unit 1, bearing fault on", line)
        client = AsyncModbusTcpClient("127.0.0.1", port=int(listening[1]), timeout=2, retries=0)
        assert await client.connect()
        fault = await client.read_holding_registers(10, count=1, device_id=1)
        client.close()
        assert fault.registers == [1]

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
