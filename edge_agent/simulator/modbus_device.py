"""The simulated pump as a Modbus TCP device, its physics advancing with real time.

Register map (unit id 1 by default):

=============  =======  ==================  =========================================
table          address  tag                 encoding
=============  =======  ==================  =========================================
input (fc 4)   0-1      motor_temperature   float32, word order ABCD (high word first)
input          2        vibration_rms       uint16, 0.01 mm/s
input          3        discharge_pressure  uint16, 0.01 bar
input          4        flow_rate           uint16, 0.1 m3/h
input          5        motor_speed         uint16, rpm
holding        0        running             0/1, default 1
holding        1        speed_setpoint      rpm, 0..3600, default 2900
holding        2-9      (reserved)          read as 0, writes refused (ILLEGAL_ADDRESS)
holding        10       bearing_fault       0/1, default 0
holding        11       cavitation          0/1, default 0
=============  =======  ==================  =========================================

Measured values are clamped into the uint16 range. Writes outside the ranges above are refused with
ILLEGAL_VALUE; the pump has no coils or discrete inputs. The holding registers are one block, as a PLC's
usually are, so that a client reads all of them in one request.
"""

from __future__ import annotations

import asyncio
import struct
import time
from types import TracebackType
from typing import Self

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from .pump import MAX_SPEED_RPM, PumpSimulator, PumpState

TEMPERATURE_ADDRESS = 0
VIBRATION_ADDRESS = 2
PRESSURE_ADDRESS = 3
FLOW_ADDRESS = 4
SPEED_ADDRESS = 5
INPUT_REGISTER_COUNT = 6

RUNNING_ADDRESS = 0
SPEED_SETPOINT_ADDRESS = 1
RESERVED_ADDRESS = 2  # up to BEARING_FAULT_ADDRESS
BEARING_FAULT_ADDRESS = 10
CAVITATION_ADDRESS = 11

VIBRATION_SCALE = 0.01
PRESSURE_SCALE = 0.01
FLOW_SCALE = 0.1

# Beyond this gap between requests the pump has long settled; simulating more adds nothing.
MAX_CATCH_UP_S = 600.0

_READ_INPUT_REGISTERS = 4
_HOLDING_FUNCTION_CODES = frozenset({3, 6, 16, 22, 23})
_UINT16_MAX = 0xFFFF


def _to_uint16(value: float, scale: float = 1.0) -> int:
    return min(max(round(value / scale), 0), _UINT16_MAX)


def encode_input_registers(state: PumpState) -> list[int]:
    """The six input registers (addresses 0-5) that report ``state``."""
    temperature_high, temperature_low = struct.unpack(">HH", struct.pack(">f", state.motor_temperature))
    return [
        temperature_high,
        temperature_low,
        _to_uint16(state.vibration_rms, VIBRATION_SCALE),
        _to_uint16(state.discharge_pressure, PRESSURE_SCALE),
        _to_uint16(state.flow_rate, FLOW_SCALE),
        _to_uint16(state.motor_speed),
    ]


class SimulatedPumpDevice:
    """A Modbus TCP server that answers for a :class:`PumpSimulator` running in real time.

    Each request first brings the physics up to the present, so a client polling at any rate sees a
    continuous process. Use ``async with`` or ``start()``/``stop()``; after start, ``port`` is the port
    actually bound (pass ``port=0`` to let the OS choose).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5020,
        unit: int = 1,
        seed: int | None = None,
        bearing_fault: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.unit = unit
        self.pump = PumpSimulator(seed)
        self.pump.bearing_fault = bearing_fault
        self._last_update: float | None = None
        self._server: ModbusTcpServer | None = None

    def set_bearing_fault(self, on: bool) -> None:
        """Start or stop the bearing fault, as a write of holding register 10 would."""
        self._catch_up()
        self.pump.bearing_fault = on

    async def start(self) -> None:
        """Bind and start serving; the device accepts connections when this returns."""
        if self._server is not None:
            raise RuntimeError("the simulated pump is already running")
        device = SimDevice(id=self.unit, simdata=self._register_layout(), action=self._on_request)
        server = ModbusTcpServer(device, address=(self.host, self.port))
        await server.serve_forever(background=True)
        self._server = server
        self._last_update = time.monotonic()
        listener = server.transport  # typed as a transport; a listening pymodbus server keeps its Server
        if not isinstance(listener, asyncio.Server):
            raise RuntimeError(f"the simulated pump's listener is {type(listener).__name__}, not a server")
        self.port = listener.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every client connection."""
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()
            # Let the transports finish closing before the loop may end.
            await asyncio.sleep(0)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def _register_layout(self) -> tuple[list[SimData], list[SimData], list[SimData], list[SimData]]:
        # pymodbus needs a block for every table; the coil and discrete input ones are never served
        # because _on_request refuses their function codes.
        unused_bits = [SimData(0, values=[False] * 16, datatype=DataType.BITS, readonly=True)]
        reserved_count = BEARING_FAULT_ADDRESS - RESERVED_ADDRESS
        holding = [
            SimData(RUNNING_ADDRESS, values=[int(self.pump.running)], datatype=DataType.REGISTERS),
            SimData(
                SPEED_SETPOINT_ADDRESS, values=[round(self.pump.speed_setpoint)], datatype=DataType.REGISTERS
            ),
            SimData(
                RESERVED_ADDRESS, values=[0] * reserved_count, datatype=DataType.REGISTERS, readonly=True
            ),
            SimData(
                BEARING_FAULT_ADDRESS,
                values=[int(self.pump.bearing_fault), int(self.pump.cavitation)],
                datatype=DataType.REGISTERS,
            ),
        ]
        inputs = [
            SimData(
                TEMPERATURE_ADDRESS,
                values=encode_input_registers(self.pump.state),
                datatype=DataType.REGISTERS,
                readonly=True,
            )
        ]
        return (list(unused_bits), list(unused_bits), holding, inputs)

    def _catch_up(self) -> None:
        """Advance the physics to the present."""
        if self._last_update is None:
            return
        now = time.monotonic()
        elapsed = min(now - self._last_update, MAX_CATCH_UP_S)
        self._last_update = now
        if elapsed > 0:
            self.pump.step(elapsed)

    async def _on_request(  # noqa: PLR0917 -- pymodbus passes these six positionally
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if function_code == _READ_INPUT_REGISTERS:
            self._catch_up()
            # The input block starts at address 0 and holds exactly the six measured values.
            registers[start_address : start_address + INPUT_REGISTER_COUNT] = encode_input_registers(
                self.pump.state
            )
            return None
        if function_code not in _HOLDING_FUNCTION_CODES:
            return ExcCodes.ILLEGAL_ADDRESS
        self._catch_up()
        if set_values is not None:
            return self._apply_writes(address, [int(value) for value in set_values])
        self._refresh_holding(start_address, registers)
        return None

    def _apply_writes(self, address: int, values: list[int]) -> ExcCodes | None:
        writes = dict(zip(range(address, address + len(values)), values, strict=True))
        for register, value in writes.items():
            limit = MAX_SPEED_RPM if register == SPEED_SETPOINT_ADDRESS else 1
            if not 0 <= value <= limit:
                return ExcCodes.ILLEGAL_VALUE
        if RUNNING_ADDRESS in writes:
            self.pump.running = bool(writes[RUNNING_ADDRESS])
        if SPEED_SETPOINT_ADDRESS in writes:
            self.pump.speed_setpoint = writes[SPEED_SETPOINT_ADDRESS]
        if BEARING_FAULT_ADDRESS in writes:
            self.pump.bearing_fault = bool(writes[BEARING_FAULT_ADDRESS])
        if CAVITATION_ADDRESS in writes:
            self.pump.cavitation = bool(writes[CAVITATION_ADDRESS])
        return None

    def _refresh_holding(self, start_address: int, registers: list[int]) -> None:
        """Show the simulator's inputs, which ``set_bearing_fault`` may have changed."""
        registers[RUNNING_ADDRESS - start_address] = int(self.pump.running)
        registers[SPEED_SETPOINT_ADDRESS - start_address] = round(self.pump.speed_setpoint)
        registers[BEARING_FAULT_ADDRESS - start_address] = int(self.pump.bearing_fault)
        registers[CAVITATION_ADDRESS - start_address] = int(self.pump.cavitation)
