"""Real Modbus devices for the driver tests: pymodbus servers (TCP, RTU over a pty pair, RTU over TCP)
and modbus-tk, an implementation that shares no code with pymodbus."""

from __future__ import annotations

import contextlib
import os
import random
import select
import threading
import tty
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


@dataclass
class Tables:
    """A device's four tables, each starting at address 0; a holding register of None is not implemented."""

    holding: list[int | None] = field(default_factory=lambda: [0] * 64)
    input: list[int] = field(default_factory=lambda: [0] * 64)
    coils: list[bool] = field(default_factory=lambda: [False] * 64)
    discrete: list[bool] = field(default_factory=lambda: [False] * 64)


def sim_device(unit: int, tables: Tables) -> SimDevice:
    def bits(values: list[bool]) -> list[bool]:
        return values + [False] * (-len(values) % 16)

    return SimDevice(
        id=unit,
        simdata=(
            [SimData(0, values=bits(tables.coils), datatype=DataType.BITS)],
            [SimData(0, values=bits(tables.discrete), datatype=DataType.BITS)],
            register_blocks(tables.holding),
            [SimData(0, values=list(tables.input), datatype=DataType.REGISTERS)],
        ),
    )


def register_blocks(values: list[int | None]) -> list[SimData]:
    """One block per run of implemented registers: a read that spans a gap is refused (illegal address)."""
    blocks: list[SimData] = []
    run: list[int] = []
    for address, value in enumerate([*values, None]):
        if value is not None:
            run.append(value)
        elif run:
            blocks.append(SimData(address - len(run), values=run, datatype=DataType.REGISTERS))
            run = []
    return blocks


@contextlib.asynccontextmanager
async def pymodbus_tcp(
    devices: dict[int, Tables], *, framer: FramerType = FramerType.SOCKET
) -> AsyncIterator[int]:
    """A pymodbus TCP server (or RTU-framed over TCP, as serial gateways speak); yields its port."""
    server = ModbusTcpServer(
        [sim_device(u, t) for u, t in devices.items()], framer=framer, address=("127.0.0.1", 0)
    )
    await server.serve_forever(background=True)
    try:
        yield server.transport.sockets[0].getsockname()[1]
    finally:
        await server.shutdown()


@contextlib.asynccontextmanager
async def pymodbus_rtu(
    devices: dict[int, Tables], port: str, *, baudrate: int = 19200
) -> AsyncIterator[None]:
    server = ModbusSerialServer(
        [sim_device(u, t) for u, t in devices.items()],
        framer=FramerType.RTU,
        port=port,
        baudrate=baudrate,
        parity="N",
    )
    await server.serve_forever(background=True)
    try:
        yield
    finally:
        await server.shutdown()


class PtyPair:
    """Two pseudo-terminals joined back to back, like two serial ports on one null-modem cable.

    Bytes written to one end's device come out of the other's, in both directions. With ``noise`` above 0,
    that share of the chunks on the line get a random byte flipped, as a noisy RS-485 line does.
    """

    def __init__(self) -> None:
        self.noise = 0.0
        self.corrupted = 0
        self._random = random.Random(11)
        self._masters: list[int] = []
        self._slaves: list[int] = []
        self.ends: list[str] = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            self._masters.append(master)
            self._slaves.append(slave)  # kept open so the master never reads EIO between users
            self.ends.append(os.ttyname(slave))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        a, b = self._masters
        while not self._stop.is_set():
            readable, _, _ = select.select([a, b], [], [], 0.05)
            for fd in readable:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                if data and self._random.random() < self.noise:
                    position = self._random.randrange(len(data))
                    data = (
                        data[:position]
                        + bytes([data[position] ^ 1 << self._random.randrange(8)])
                        + data[position + 1 :]
                    )
                    self.corrupted += 1
                os.write(b if fd == a else a, data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in self._masters + self._slaves:
            os.close(fd)


@contextlib.contextmanager
def pty_pair() -> Iterator[PtyPair]:
    pair = PtyPair()
    try:
        yield pair
    finally:
        pair.close()


@contextlib.contextmanager
def modbus_tk_tcp(unit: int, tables: Tables) -> Iterator[tuple[int, object]]:
    """A modbus-tk TCP server in its own thread; yields (port, slave) so a test can change values."""
    import socket

    from modbus_tk import defines
    from modbus_tk.modbus_tcp import TcpServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = TcpServer(port=port, address="127.0.0.1")
    slave = server.add_slave(unit)
    for name, table, values in (
        ("holding", defines.HOLDING_REGISTERS, tables.holding),
        ("input", defines.ANALOG_INPUTS, tables.input),
        ("coils", defines.COILS, [int(v) for v in tables.coils]),
        ("discrete", defines.DISCRETE_INPUTS, [int(v) for v in tables.discrete]),
    ):
        slave.add_block(name, table, 0, len(values))
        slave.set_values(name, 0, values)
    server.start()
    try:
        yield port, slave
    finally:
        server.stop()
