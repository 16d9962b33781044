"""What the poll does for every answer and value gives what the plain, general way gives: an answer's
registers as pymodbus decodes them, its check as ``read_problem`` judges it, a one-register point's value
as ``decode`` reads it, a Reading as its fields say."""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse

from drivers.modbus.answers import (
    CountedCoils,
    CountedDiscreteInputs,
    CountedHoldingRegisters,
    CountedInputRegisters,
    WrongAnswer,
    checked_read,
    read_problem,
)
from drivers.modbus.codec import decode, value_decoder
from drivers.modbus.point_config import ModbusPoint
from edge_agent.quality import Quality
from edge_agent.tags import Reading

READ_ANSWERS: dict[int, type[ModbusPDU]] = {
    1: CountedCoils,
    2: CountedDiscreteInputs,
    3: CountedHoldingRegisters,
    4: CountedInputRegisters,
}
# A byte count, then up to as many data bytes again: short, exact and overlong answers alike.
FRAMES = st.just(b"") | st.builds(
    lambda count, body: bytes([count]) + body, st.integers(0, 24), st.binary(max_size=24)
)


def modbus_point(**settings: Any) -> ModbusPoint:
    return ModbusPoint.model_validate({"name": "p", "kind": "holding", "address": 0, **settings})


def decoded(answer: ModbusPDU, data: bytes) -> Any:
    """The registers ``answer`` decodes from ``data``, or the type of what it raises."""
    try:
        answer.decode(data)
    except Exception as exc:  # whichever it is, it is what is compared
        return type(exc)
    return list(answer.registers)


@given(data=FRAMES)
def test_registers_are_decoded_as_pymodbus_decodes_them(data: bytes) -> None:
    for counted in (CountedHoldingRegisters(), CountedInputRegisters()):
        assert decoded(counted, data) == decoded(ReadHoldingRegistersResponse(), data)


def test_an_answer_is_formatted_in_full_only_for_debug_lines(caplog: pytest.LogCaptureFixture) -> None:
    answer = CountedHoldingRegisters()
    answer.decode(bytes([4, 0x12, 0x34, 0x56, 0x78]))
    caplog.set_level(logging.INFO, logger="pymodbus")
    assert "4660" not in str(answer)
    assert "2 values" in str(answer)
    caplog.set_level(logging.DEBUG, logger="pymodbus")
    assert str(answer) == ModbusPDU.__str__(answer)
    assert "registers=[4660, 22136]" in str(answer)


def read_answer(answered: tuple[int, int, bool], data: bytes) -> ModbusPDU | None:
    """The answer of function ``answered[0]`` from unit ``answered[1]`` (an exception one if
    ``answered[2]``) holding ``data``; None for data pymodbus would not decode, which is never checked."""
    function_code, unit, exception = answered
    if exception:
        return ExceptionResponse(function_code, 2, device_id=unit)
    answer = READ_ANSWERS[function_code]()
    try:
        answer.decode(data)
    except Exception:  # whichever it is, the frame is dropped before any check
        return None
    answer.dev_id = unit
    return answer


@given(
    asked=st.tuples(st.sampled_from(sorted(READ_ANSWERS)), st.integers(1, 20), st.integers(0, 2)),
    answered=st.tuples(st.sampled_from(sorted(READ_ANSWERS)), st.integers(0, 2), st.booleans()),
    skew=st.tuples(st.integers(-1, 1), st.integers(-1, 1)),
)
def test_a_read_answer_is_taken_exactly_when_read_problem_finds_nothing(
    asked: tuple[int, int, int], answered: tuple[int, int, bool], skew: tuple[int, int]
) -> None:
    count = asked[1]
    right_size = 2 * count if answered[0] in (3, 4) else (count + 7) // 8
    # A byte count and data bytes each the right size or one off.
    data = bytes([right_size + skew[0]]) + bytes(max(0, right_size + skew[1]))
    answer = read_answer(answered, data)
    if answer is None:
        return
    problem = read_problem(*asked, answer)
    if problem is None:
        assert checked_read(*asked, answer) is answer
    else:
        with pytest.raises(WrongAnswer, match=re.escape(problem)):
            checked_read(*asked, answer)


def one_register_points() -> st.SearchStrategy[ModbusPoint]:
    orders = st.sampled_from(["ABCD", "BADC"])
    numbers = st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["holding", "input"]),
            "type": st.sampled_from(["int16", "uint16"]),
            "word_order": orders,
            "scale": st.sampled_from([1.0, 0.1, 0.01, 2.0, -0.5]),
            "offset": st.sampled_from([0.0, -40.0, 273.15]),
        }
    )
    bits = st.fixed_dictionaries({"type": st.just("bit"), "bit": st.integers(0, 15), "word_order": orders})
    texts = st.fixed_dictionaries({"type": st.just("string"), "length": st.integers(1, 2)})
    flags = st.fixed_dictionaries({"kind": st.sampled_from(["coil", "discrete"]), "type": st.just("bool")})
    return st.one_of(numbers, bits, texts, flags).map(lambda settings: modbus_point(**settings))


@given(point=one_register_points(), register=st.integers(0, 0xFFFF))
def test_a_one_register_point_reads_as_decode_reads_it(point: ModbusPoint, register: int) -> None:
    wire: int | bool = bool(register & 1) if point.is_bit_table else register
    value = value_decoder(point)(wire)
    expected = decode(point, [wire])
    assert (value, type(value)) == (expected, type(expected))


def test_a_point_of_several_registers_has_no_one_value_decoder() -> None:
    with pytest.raises(ValueError, match="2 registers"):
        value_decoder(modbus_point(type="int32"))


def test_a_reading_is_stamped_now_unless_given_a_time_and_stays_frozen() -> None:
    before = time.time_ns()
    reading = Reading("t", 1.5)
    assert before <= reading.source_time_ns <= time.time_ns()
    assert (reading.value, reading.quality, reading.server_time_ns) == (1.5, Quality.Good, 0)
    given_times = Reading(tag="t", value=None, quality=Quality.BadTimeout, source_time_ns=7, server_time_ns=9)
    assert given_times == Reading("t", None, Quality.BadTimeout, 7, 9)
    assert dataclasses.replace(given_times, value=2) == Reading("t", 2, Quality.BadTimeout, 7, 9)
    assert hash(given_times) == hash(Reading("t", None, Quality.BadTimeout, 7, 9))
    with pytest.raises(dataclasses.FrozenInstanceError):
        given_times.value = 3  # type: ignore[misc]
