"""A Modbus TCP server that misbehaves on demand, written from the protocol rather than with pymodbus.

Modes, switchable while clients are connected:

- ``good``: answers FC3/FC4 reads correctly (every register holds its own address);
- ``garbage``: answers each request with random bytes;
- ``wrong_tid``: a correct answer under another transaction id;
- ``truncated``: the header promises more bytes than follow (then nothing more);
- ``oversized``: a header whose length field claims 2,000 bytes, and that many bytes;
- ``wrong_function``: a well-formed answer with another function code;
- ``exception``: Modbus exception 4 (server device failure);
- ``slow``: a correct answer, ``delay`` seconds late;
- ``silent``: reads the request, never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import AsyncIterator

MODES = (
    "good",
    "garbage",
    "wrong_tid",
    "truncated",
    "oversized",
    "wrong_function",
    "exception",
    "slow",
    "silent",
)


class RogueModbusServer:
    def __init__(self, mode: str = "good", *, delay: float = 0.0, seed: int = 7) -> None:
        self.mode = mode
        self.delay = delay
        self.requests = 0
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):
                writer.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                header = await reader.readexactly(7)
                tid, _, length, unit = struct.unpack(">HHHB", header)
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                answer = self._answer(tid, unit, pdu)
                if self.mode == "slow":
                    await asyncio.sleep(self.delay)
                if answer:
                    writer.write(answer)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()

    def _answer(self, tid: int, unit: int, pdu: bytes) -> bytes:
        function = pdu[0]
        address, count = struct.unpack(">HH", pdu[1:5]) if len(pdu) >= 5 else (0, 0)
        registers = b"".join(struct.pack(">H", (address + i) & 0xFFFF) for i in range(count))
        good = bytes([function, len(registers)]) + registers
        match self.mode:
            case "good" | "slow":
                return _frame(tid, unit, good)
            case "garbage":
                return self._random.randbytes(self._random.randint(1, 300))
            case "wrong_tid":
                return _frame((tid + 1) & 0xFFFF, unit, good)
            case "truncated":
                return _frame(tid, unit, good)[: 7 + len(good) // 2]
            case "oversized":
                return struct.pack(">HHHB", tid, 0, 2000, unit) + self._random.randbytes(1999)
            case "wrong_function":
                return _frame(tid, unit, bytes([0x10 if function != 0x10 else 0x03]) + good[1:])
            case "exception":
                return _frame(tid, unit, bytes([function | 0x80, 4]))
            case _:
                return b""


def _frame(tid: int, unit: int, pdu: bytes) -> bytes:
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


@contextlib.asynccontextmanager
async def rogue_server(mode: str = "good", *, delay: float = 0.0) -> AsyncIterator[RogueModbusServer]:
    server = RogueModbusServer(mode, delay=delay)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
