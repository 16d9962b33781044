"""The device checked by a peer that shares no code with pymodbus: Modbus TCP frames built by hand."""

from __future__ import annotations

import asyncio
import itertools
import struct

from edge_agent.simulator import SimulatedPumpDevice

_transaction_ids = itertools.count(1)


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, unit: int, pdu: bytes
) -> bytes:
    """Send one request (MBAP header + PDU) and return the response PDU."""
    transaction = next(_transaction_ids)
    writer.write(struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu)
    await writer.drain()
    header = await asyncio.wait_for(reader.readexactly(7), timeout=2)
    answered_transaction, protocol, length, answered_unit = struct.unpack(">HHHB", header)
    assert (answered_transaction, protocol, answered_unit) == (transaction, 0, unit)
    return await reader.readexactly(length - 1)


async def test_a_hand_built_client_reads_and_writes_the_register_map() -> None:
    async with SimulatedPumpDevice(port=0, seed=5) as device:
        reader, writer = await asyncio.open_connection("127.0.0.1", device.port)
        try:
            answer = await exchange(reader, writer, 1, struct.pack(">BHH", 4, 0, 6))
            function, byte_count = struct.unpack(">BB", answer[:2])
            assert (function, byte_count) == (4, 12)
            temperature, vibration, pressure, flow, speed = struct.unpack(">fHHHH", answer[2:])
            assert 55 <= temperature <= 70
            assert 150 <= vibration <= 300
            assert 400 <= pressure <= 600
            assert 400 <= flow <= 600
            assert 2850 <= speed <= 2950

            answer = await exchange(reader, writer, 1, struct.pack(">BHH", 6, 1, 2600))
            assert answer == struct.pack(">BHH", 6, 1, 2600)
            answer = await exchange(reader, writer, 1, struct.pack(">BHH", 3, 0, 2))
            assert answer == struct.pack(">BBHH", 3, 4, 1, 2600)

            answer = await exchange(reader, writer, 1, struct.pack(">BHH", 6, 0, 9))
            assert answer == struct.pack(">BB", 0x86, 3), "an illegal value must be refused"
        finally:
            writer.close()
            await writer.wait_closed()
