"""A Modbus TCP server that misbehaves on demand, written from the protocol rather than with pymodbus.

When good, it answers reads of all four tables (holding register ``a`` holds ``a``, input register ``a``
holds ``1000 + a``, coil ``a`` is on when ``a`` is odd, discrete input ``a`` when ``a`` is even) and
acknowledges writes (storing nothing). Modes, switchable while clients are connected:

- ``good``: every answer as the protocol says;
- ``garbage``: answers each request with random bytes;
- ``wrong_tid``: a correct answer under another transaction id;
- ``truncated``: the header promises more bytes than follow (then nothing more);
- ``oversized``: a header whose length field claims 2,000 bytes, and that many bytes;
- ``wrong_function``: a well-formed answer with function code 0x10;
- ``swapped_function``: the answer of the neighbouring table (FC04 for FC03 and back, FC02 for FC01 and
  back), its function code and its values;
- ``more_values`` / ``fewer_values``: one register (or one byte of bits) more or fewer than asked;
- ``wrong_unit``: a correct answer from unit ``unit + 100``;
- ``wrong_echo``: a write answer that echoes the next address (reads are answered correctly);
- ``exception``: Modbus exception 4 (server device failure);
- ``slow``: a correct answer, ``delay`` seconds late;
- ``silent``: reads the request, never answers.

``faulty_units`` limits the misbehaviour to those units (the others get good answers); ``framing="rtu"``
speaks RTU frames over the TCP connection, as serial gateways do (for the modes that keep frames whole).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
from collections.abc import AsyncIterator, Collection

MODES = (
    "good",
    "garbage",
    "wrong_tid",
    "truncated",
    "oversized",
    "wrong_function",
    "swapped_function",
    "more_values",
    "fewer_values",
    "wrong_unit",
    "wrong_echo",
    "exception",
    "slow",
    "silent",
)
INPUT_OFFSET = 1000
SWAPPED = {1: 2, 2: 1, 3: 4, 4: 3}
WRITES = (5, 6, 15, 16)
RTU_FIXED_REQUESTS = (1, 2, 3, 4, 5, 6)


def holding_value(address: int) -> int:
    return address & 0xFFFF


def input_value(address: int) -> int:
    return (INPUT_OFFSET + address) & 0xFFFF


def coil_value(address: int) -> bool:
    return address % 2 == 1


def discrete_value(address: int) -> bool:
    return address % 2 == 0


_TABLES = {1: coil_value, 2: discrete_value, 3: holding_value, 4: input_value}


class RogueModbusServer:
    def __init__(
        self,
        mode: str = "good",
        *,
        delay: float = 0.0,
        seed: int = 7,
        framing: str = "socket",
        faulty_units: Collection[int] | None = None,
    ) -> None:
        self.mode = mode
        self.delay = delay
        self.framing = framing
        self.faulty_units = faulty_units
        self.requests = 0
        self.writes = 0
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
                if self.framing == "rtu":
                    tid = 0
                    unit, pdu = await _read_rtu_request(reader)
                else:
                    header = await reader.readexactly(7)
                    tid, _, length, unit = struct.unpack(">HHHB", header)
                    pdu = await reader.readexactly(length - 1)
                self.requests += 1
                self.writes += pdu[0] in WRITES
                mode = self.mode if self.faulty_units is None or unit in self.faulty_units else "good"
                answer = self._answer(mode, tid, unit, pdu)
                if mode == "slow":
                    await asyncio.sleep(self.delay)
                if answer:
                    writer.write(answer)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()

    def _answer(self, mode: str, tid: int, unit: int, pdu: bytes) -> bytes:
        function = pdu[0]
        good = _good_answer(pdu)
        match mode:
            case "good" | "slow":
                return self._frame(tid, unit, good)
            case "garbage":
                return self._random.randbytes(self._random.randint(1, 300))
            case "wrong_tid":
                return self._frame((tid + 1) & 0xFFFF, unit, good)
            case "truncated":
                return self._frame(tid, unit, good)[: 7 + len(good) // 2]
            case "oversized":
                return struct.pack(">HHHB", tid, 0, 2000, unit) + self._random.randbytes(1999)
            case "wrong_function":
                return self._frame(tid, unit, bytes([0x10 if function != 0x10 else 0x03]) + good[1:])
            case "swapped_function" if function in SWAPPED:
                return self._frame(tid, unit, _good_answer(bytes([SWAPPED[function]]) + pdu[1:]))
            case "more_values" | "fewer_values" if function in SWAPPED:
                count = struct.unpack(">H", pdu[3:5])[0]
                step = (8 if function < 3 else 1) * (1 if mode == "more_values" else -1)
                return self._frame(tid, unit, _good_answer(pdu[:3] + struct.pack(">H", max(count + step, 0))))
            case "wrong_unit":
                return self._frame(tid, (unit + 100) & 0xFF, good)
            case "wrong_echo" if function in WRITES:
                address = struct.unpack(">H", pdu[1:3])[0]
                return self._frame(tid, unit, bytes([function]) + struct.pack(">H", address + 1) + good[3:])
            case "exception":
                return self._frame(tid, unit, bytes([function | 0x80, 4]))
            case "silent":
                return b""
            case _:
                return self._frame(tid, unit, good)

    def _frame(self, tid: int, unit: int, pdu: bytes) -> bytes:
        if self.framing == "rtu":
            adu = bytes([unit]) + pdu
            return adu + struct.pack("<H", crc16(adu))
        return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def _good_answer(pdu: bytes) -> bytes:
    function = pdu[0]
    if function not in _TABLES and function not in WRITES:
        return bytes([function | 0x80, 1])  # illegal function
    address, count = struct.unpack(">HH", pdu[1:5])
    if function in WRITES:
        return pdu[:5]  # FC05/06 echo address and value, FC15/16 address and count
    value = _TABLES[function]
    if function in (3, 4):
        data = b"".join(struct.pack(">H", value(address + i)) for i in range(count))
    else:
        data = _pack_bits([bool(value(address + i)) for i in range(count)])
    return bytes([function, len(data)]) + data


def _pack_bits(bits: list[bool]) -> bytes:
    packed = bytearray((len(bits) + 7) // 8)
    for index, bit in enumerate(bits):
        if bit:
            packed[index // 8] |= 1 << (index % 8)
    return bytes(packed)


async def _read_rtu_request(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One request frame (unit and PDU, CRC dropped) off an RTU byte stream."""
    unit, function = await reader.readexactly(2)
    if function in RTU_FIXED_REQUESTS:
        rest = await reader.readexactly(4 + 2)
    else:
        head = await reader.readexactly(5)
        rest = head + await reader.readexactly(head[4] + 2)
    return unit, bytes([function]) + rest[:-2]


def crc16(data: bytes) -> int:
    """Modbus RTU's CRC-16 (polynomial 0xA001, reflected, start 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@contextlib.asynccontextmanager
async def rogue_server(
    mode: str = "good",
    *,
    delay: float = 0.0,
    framing: str = "socket",
    faulty_units: Collection[int] | None = None,
) -> AsyncIterator[RogueModbusServer]:
    server = RogueModbusServer(mode, delay=delay, framing=framing, faulty_units=faulty_units)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
