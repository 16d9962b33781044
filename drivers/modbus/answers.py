"""Whether an answer is the answer to the request that was sent, before any of its values is used.

pymodbus pairs an answer with its request by transaction id alone, and on a serial line (no transaction
ids) by arrival: a frame of another function code (an input register read answered to a holding register
read, a late answer to an earlier request), of another length, or from another unit (pymodbus skips a
wrong unit itself only when the request's unit is not 0) would be taken as the answer. Every read and
write of the driver goes through ``CheckedClient``, which raises ``WrongAnswer`` for such an answer.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import ReadCoilsResponse, ReadDiscreteInputsResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse, ReadInputRegistersResponse

from .pymodbus_log import pymodbus_debugging

EXCEPTION_FLAG = 0x80
REGISTER_READS = (3, 4)
READ_COILS, READ_DISCRETE_INPUTS, READ_HOLDING, READ_INPUT = 1, 2, 3, 4
WRITE_COIL, WRITE_REGISTER, WRITE_COILS, WRITE_REGISTERS = 5, 6, 15, 16


class WrongAnswer(Exception):
    """A well-formed answer that does not answer the request: none of its values may be used."""


class _ByteCounted(ModbusPDU):
    """A read answer that keeps its byte count and how many data bytes really followed it.

    pymodbus decodes registers by the byte count and bits by the bytes that follow, and keeps neither.
    """

    byte_count = -1
    data_length = -1

    def decode(self, data: bytes) -> None:
        self.byte_count = data[0] if data else -1
        self.data_length = len(data) - 1
        super().decode(data)

    def __str__(self) -> str:
        # pymodbus formats every answer it decodes for a debug line, whether that line is logged or
        # not: every register or bit of it, on every request. The values are only for that line.
        if pymodbus_debugging():
            return super().__str__()
        size = len(self.registers) if self.function_code in REGISTER_READS else len(self.bits)
        return f"{type(self).__name__}(dev_id={self.dev_id}, tid={self.transaction_id}, {size} values)"


class CountedCoils(_ByteCounted, ReadCoilsResponse):
    pass


class CountedDiscreteInputs(_ByteCounted, ReadDiscreteInputsResponse):
    pass


class _CountedRegisters(_ByteCounted):
    """A register read answer decoded with one ``struct`` call for all its registers.

    pymodbus unpacks register by register, which for a read of 60 to 125 registers costs more than
    everything else the driver does with the answer. The result, and the refusal of a byte count that
    overruns the data, are pymodbus' own.
    """

    def decode(self, data: bytes) -> None:
        self.data_length = len(data) - 1
        byte_count = self.byte_count = data[0]  # an empty answer raises IndexError, as in pymodbus
        if byte_count >= len(data):
            raise ModbusIOException(
                f"byte_count {byte_count} > length of packet {len(data)}", function_code=self.function_code
            )
        self.registers = list(struct.unpack_from(f">{byte_count // 2}H", data, 1))


class CountedHoldingRegisters(_CountedRegisters, ReadHoldingRegistersResponse):
    pass


class CountedInputRegisters(_CountedRegisters, ReadInputRegistersResponse):
    pass


COUNTED_ANSWERS = (CountedCoils, CountedDiscreteInputs, CountedHoldingRegisters, CountedInputRegisters)


def checked_read(function_code: int, count: int, unit: int, answer: Any) -> Any:
    """``answer`` if it answers a read of ``count`` registers or bits; WrongAnswer if not."""
    expected = 2 * count if function_code in REGISTER_READS else (count + 7) // 8
    # The answer of every healthy read, checked in one expression; anything else is looked at closely.
    if (
        answer.function_code == function_code
        and answer.dev_id == unit
        and getattr(answer, "byte_count", -1) == expected
        and answer.data_length == expected
    ):
        return answer
    return _checked(answer, read_problem(function_code, count, unit, answer))


def read_problem(function_code: int, count: int, unit: int, answer: Any) -> str | None:
    """What is wrong with ``answer`` to a read of ``count`` registers or bits, or None."""
    if problem := _header_problem(function_code, unit, answer):
        return problem
    if answer.isError():
        return None
    if function_code in REGISTER_READS:
        expected, what = 2 * count, f"{count} registers ({2 * count} bytes)"
    else:
        expected, what = math.ceil(count / 8), f"{count} bits ({math.ceil(count / 8)} bytes)"
    byte_count = getattr(answer, "byte_count", -1)
    data_length = getattr(answer, "data_length", -1)
    if byte_count != expected or data_length != expected:
        return f"{byte_count} bytes (byte count) with {data_length} data bytes to a read of {what}"
    return None


def write_problem(function_code: int, address: int, echo: int | bool, unit: int, answer: Any) -> str | None:
    """What is wrong with ``answer`` to a write at ``address``, or None.

    ``echo`` is what the answer repeats besides the address: the value written by FC05 and FC06, the
    number of coils or registers written by FC15 and FC16.
    """
    if problem := _header_problem(function_code, unit, answer):
        return problem
    if answer.isError():
        return None
    if function_code == WRITE_COIL:
        got: int | bool | None = _first(answer.bits)
        echo = bool(echo)
    elif function_code == WRITE_REGISTER:
        got = _first(answer.registers)
    else:
        got = answer.count
    if (answer.address, got) != (address, echo):
        return f"echoed address {answer.address}, {got} to a write of address {address}, {echo}"
    return None


def _header_problem(function_code: int, unit: int, answer: Any) -> str | None:
    if answer.dev_id != unit:
        return f"answer from unit {answer.dev_id} to a request for unit {unit}"
    if answer.function_code not in (function_code, function_code | EXCEPTION_FLAG):
        return f"function code {answer.function_code} answered to function code {function_code}"
    return None


def _first(values: Sequence[Any]) -> Any:
    return values[0] if len(values) == 1 else None


class CheckedClient:
    """The reads and writes the driver makes, each answer checked against its request.

    Each method takes the arguments of pymodbus' client method of the same name and returns its answer
    (an exception answer included); an answer to some other request raises WrongAnswer.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        for answer_class in COUNTED_ANSWERS:
            client.register(answer_class)

    async def read_coils(self, address: int, *, count: int, device_id: int) -> Any:
        answer = await self.client.read_coils(address, count=count, device_id=device_id)
        return checked_read(READ_COILS, count, device_id, answer)

    async def read_discrete_inputs(self, address: int, *, count: int, device_id: int) -> Any:
        answer = await self.client.read_discrete_inputs(address, count=count, device_id=device_id)
        return checked_read(READ_DISCRETE_INPUTS, count, device_id, answer)

    async def read_holding_registers(self, address: int, *, count: int, device_id: int) -> Any:
        answer = await self.client.read_holding_registers(address, count=count, device_id=device_id)
        return checked_read(READ_HOLDING, count, device_id, answer)

    async def read_input_registers(self, address: int, *, count: int, device_id: int) -> Any:
        answer = await self.client.read_input_registers(address, count=count, device_id=device_id)
        return checked_read(READ_INPUT, count, device_id, answer)

    async def write_coil(self, address: int, value: bool, *, device_id: int) -> Any:
        answer = await self.client.write_coil(address, value, device_id=device_id)
        return _checked(answer, write_problem(WRITE_COIL, address, value, device_id, answer))

    async def write_register(self, address: int, value: int, *, device_id: int) -> Any:
        answer = await self.client.write_register(address, value, device_id=device_id)
        return _checked(answer, write_problem(WRITE_REGISTER, address, value, device_id, answer))

    async def write_coils(self, address: int, values: list[bool], *, device_id: int) -> Any:
        answer = await self.client.write_coils(address, values, device_id=device_id)
        return _checked(answer, write_problem(WRITE_COILS, address, len(values), device_id, answer))

    async def write_registers(self, address: int, values: list[int], *, device_id: int) -> Any:
        answer = await self.client.write_registers(address, values, device_id=device_id)
        return _checked(answer, write_problem(WRITE_REGISTERS, address, len(values), device_id, answer))


def _checked(answer: Any, problem: str | None) -> Any:
    if problem is not None:
        raise WrongAnswer(problem)
    return answer
