"""Ten Modbus TCP devices of 100 points each, served by pymodbus in a process of their own.

A quarter of the registers change on every read, so that the values a poller sees are live.

Run by bench/modbus.py: it prints one port per line, then serves until its stdin closes.
"""

from __future__ import annotations

import asyncio
import sys

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

DEVICES = 10
REGISTERS = 240


async def drift(  # noqa: PLR0917 -- pymodbus calls its action hook with these six, positionally
    function_code: int, start: int, address: int, count: int, registers: list[int], values: object
) -> None:
    """Every read finds a quarter of the registers changed, as a live plant's would be."""
    if function_code in (3, 4):
        for i in range(address - start, address - start + count, 4):
            registers[i] = (registers[i] + 1) & 0xFFFF


def device() -> SimDevice:
    registers = [(i * 37) % 65536 for i in range(REGISTERS)]
    bits = [i % 3 == 0 for i in range(64)]
    return SimDevice(
        id=1,
        simdata=(
            [SimData(0, values=bits, datatype=DataType.BITS)],
            [SimData(0, values=bits, datatype=DataType.BITS)],
            [SimData(0, values=registers, datatype=DataType.REGISTERS)],
            [SimData(0, values=registers, datatype=DataType.REGISTERS)],
        ),
        action=drift,
    )


async def main() -> None:
    servers = []
    for _ in range(DEVICES):
        server = ModbusTcpServer(device(), address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        servers.append(server)
        print(server.transport.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
