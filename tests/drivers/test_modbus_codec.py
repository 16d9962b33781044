"""What a device holds is what the agent reports, and what a client writes is what the device gets."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus.codec import decode, encode, encode_bit
from drivers.modbus.config import ModbusPoint

WORD_ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
INTEGER_LIMITS = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
ONE_REGISTER = ("int16", "uint16")
NUMBER_TYPES_AND_ORDERS = [
    (kind, order)
    for kind in (*INTEGER_LIMITS, "float32", "float64")
    for order in WORD_ORDERS
    if kind not in ONE_REGISTER or order in ("ABCD", "BADC")
]


def point(**settings: Any) -> ModbusPoint:
    return ModbusPoint.model_validate({"name": "p", "kind": "holding", "address": 0, **settings})


# Known register images, as device manuals print them.


@pytest.mark.parametrize(
    ("word_order", "registers"),
    [
        ("ABCD", [0x1122, 0x3344]),
        ("CDAB", [0x3344, 0x1122]),
        ("BADC", [0x2211, 0x4433]),
        ("DCBA", [0x4433, 0x2211]),
    ],
)
def test_uint32_in_each_word_order(word_order: str, registers: list[int]) -> None:
    p = point(type="uint32", word_order=word_order)
    assert (decode(p, registers), encode(p, 0x11223344)) == (0x11223344, registers)


@pytest.mark.parametrize(
    ("word_order", "registers"),
    [
        ("ABCD", [0x42F6, 0xE979]),
        ("CDAB", [0xE979, 0x42F6]),
        ("BADC", [0xF642, 0x79E9]),
        ("DCBA", [0x79E9, 0xF642]),
    ],
)
def test_float32_in_each_word_order(word_order: str, registers: list[int]) -> None:
    p = point(type="float32", word_order=word_order)
    assert decode(p, registers) == pytest.approx(123.456, rel=1e-7)
    assert encode(p, 123.456) == registers


@pytest.mark.parametrize(
    ("word_order", "registers"),
    [
        ("ABCD", [0x1122, 0x3344, 0x5566, 0x7788]),
        ("CDAB", [0x7788, 0x5566, 0x3344, 0x1122]),
        ("BADC", [0x2211, 0x4433, 0x6655, 0x8877]),
        ("DCBA", [0x8877, 0x6655, 0x4433, 0x2211]),
    ],
)
def test_64_bit_values_in_each_word_order(word_order: str, registers: list[int]) -> None:
    p = point(type="uint64", word_order=word_order)
    assert (decode(p, registers), encode(p, 0x1122334455667788)) == (0x1122334455667788, registers)


def test_float64_big_endian() -> None:
    # -2.5e-3 as IEEE 754 double is 0xBF647AE147AE147B.
    assert decode(point(type="float64"), [0xBF64, 0x7AE1, 0x47AE, 0x147B]) == -2.5e-3


def test_int16_reads_negative_numbers_in_twos_complement() -> None:
    assert decode(point(type="int16"), [0xFFFE]) == -2


def test_a_byte_swapped_register() -> None:
    assert decode(point(type="int16", word_order="BADC"), [0xFEFF]) == -2


def test_unscaled_integers_stay_integers() -> None:
    value = decode(point(type="int32"), [0x0000, 0x0007])
    assert (value, type(value)) == (7, int)


def test_uint16_with_scale_gives_engineering_units() -> None:
    assert decode(point(scale=0.01), [1234]) == pytest.approx(12.34)


def test_scaled_registers_read_without_binary_fraction_noise() -> None:
    assert decode(point(scale=0.1), [494]) == 49.4


def test_offset_and_scale_apply_both_ways() -> None:
    p = point(type="int16", scale=0.1, offset=-40.0)
    assert (decode(p, [650]), encode(p, 25.0)) == (25.0, [650])


def test_coils_and_discrete_inputs_are_bools() -> None:
    assert decode(point(kind="coil"), [True]) is True
    assert decode(point(kind="discrete"), [False]) is False
    assert encode(point(kind="coil"), False) == [False]


def test_a_bit_point_reads_its_bit_only() -> None:
    assert [decode(point(type="bit", bit=n), [0b1000]) for n in (2, 3, 4)] == [False, True, False]


def test_bit_0_is_the_least_significant_after_a_byte_swap() -> None:
    # The device holds 0x0001 but sends its bytes swapped.
    assert decode(point(type="bit", bit=0, word_order="BADC"), [0x0100]) is True


def test_writing_a_bit_keeps_the_other_bits_of_the_register() -> None:
    assert encode_bit(point(type="bit", bit=0), 0xFF00, True) == 0xFF01
    assert encode_bit(point(type="bit", bit=15), 0xFF00, False) == 0x7F00
    assert encode_bit(point(type="bit", bit=0, word_order="BADC"), 0x00FF, True) == 0x01FF


def test_a_bit_point_is_not_written_without_its_register() -> None:
    with pytest.raises(ValueError, match="encode_bit"):
        encode(point(type="bit", bit=1), True)


def test_a_string_is_padded_with_nul_bytes() -> None:
    assert encode(point(type="string", length=5), "ABC") == [0x4142, 0x4300, 0x0000]


def test_a_string_ends_at_the_first_nul_and_loses_trailing_spaces() -> None:
    p = point(type="string", length=8)
    assert decode(p, [0x4142, 0x4300, 0x4444, 0x4444]) == "ABC"
    assert decode(p, [0x4142, 0x4320, 0x2020, 0x2020]) == "ABC"


def test_a_string_reads_only_its_length() -> None:
    # An odd length leaves the last register's low byte out of the string.
    assert decode(point(type="string", length=3), [0x4142, 0x4344]) == "ABC"


def test_a_byte_swapped_string() -> None:
    p = point(type="string", length=4, word_order="BADC")
    assert (decode(p, [0x4241, 0x0043]), encode(p, "ABC")) == ("ABC", [0x4241, 0x0043])


def test_undecodable_bytes_in_a_string_are_replaced() -> None:
    assert decode(point(type="string", length=2), [0x41FF]) == "A\ufffd"


# Values a point cannot hold.


@pytest.mark.parametrize(
    ("settings", "value", "message"),
    [
        ({"type": "uint16"}, 70000, "70000 does not fit a uint16 point, which holds 0 to 65535"),
        ({"type": "uint16"}, -1, "-1 does not fit a uint16 point, which holds 0 to 65535"),
        (
            {"type": "int16", "scale": 0.1},
            4000.0,
            "4000.0 does not fit a int16 point, which holds -3276.8 to 3276.7",
        ),
        ({"type": "float32"}, 1e39, "1e+39 is too large for a float32 point"),
        ({"type": "int32"}, "12", "expected a number, got '12'"),
        ({"type": "int32"}, True, "expected a number, got True"),
        ({"type": "float64"}, math.nan, "expected a finite number, got nan"),
        ({"kind": "coil"}, 2, "expected true or false, got 2"),
        ({"type": "string", "length": 4}, "ABCDE", "'ABCDE' takes 5 bytes; this point holds at most 4"),
        ({"type": "string", "length": 2}, "Öl", "'Öl' takes 3 bytes; this point holds at most 2"),
        ({"type": "string", "length": 4}, 12, "expected text, got 12"),
    ],
)
def test_a_value_the_point_cannot_hold_is_refused(settings: dict[str, Any], value: Any, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        encode(point(**settings), value)
    assert str(caught.value) == message


# Round trips of every type in every word order it takes.


@pytest.mark.parametrize(("kind", "word_order"), NUMBER_TYPES_AND_ORDERS)
@given(data=st.data())
def test_a_number_written_reads_back_the_same(kind: str, word_order: str, data: st.DataObject) -> None:
    if kind in INTEGER_LIMITS:
        value: int | float = data.draw(st.integers(*INTEGER_LIMITS[kind]))
    else:
        value = data.draw(
            st.floats(width=32 if kind == "float32" else 64, allow_nan=False, allow_infinity=False)
        )
    p = point(type=kind, word_order=word_order)
    assert decode(p, encode(p, value)) == value


@pytest.mark.parametrize(("kind", "word_order"), NUMBER_TYPES_AND_ORDERS)
@given(data=st.data())
def test_registers_read_and_written_back_are_unchanged(
    kind: str, word_order: str, data: st.DataObject
) -> None:
    p = point(type=kind, word_order=word_order)
    registers = data.draw(
        st.lists(st.integers(0, 0xFFFF), min_size=p.register_count, max_size=p.register_count)
    )
    value = decode(p, registers)
    if isinstance(value, float) and not math.isfinite(value):
        return  # not a number a client can write back
    assert encode(p, value) == registers


SCALABLE = [(kind, order) for kind, order in NUMBER_TYPES_AND_ORDERS if kind[-2:] in ("16", "32")]


@pytest.mark.parametrize(("kind", "word_order"), [(k, o) for k, o in SCALABLE if k != "float32"])
@given(
    data=st.data(),
    scale=st.sampled_from([0.1, 0.01, 2.5, -0.5]),
    offset=st.sampled_from([0.0, -40.0, 12.5]),
)
def test_a_scaled_value_reads_back_within_its_resolution(
    kind: str, word_order: str, data: st.DataObject, scale: float, offset: float
) -> None:
    p = point(type=kind, word_order=word_order, scale=scale, offset=offset)
    low, high = sorted(end * scale + offset for end in INTEGER_LIMITS[kind])
    value = data.draw(st.floats(low, high))
    assert decode(p, encode(p, value)) == pytest.approx(value, abs=abs(scale) / 2 + 1e-9 * abs(value))


@pytest.mark.parametrize("word_order", ["ABCD", "BADC"])
@given(
    text=st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=20).filter(
        lambda t: not t.endswith(" ")
    ),
    length=st.integers(1, 80),
)
def test_a_string_written_reads_back_the_same(word_order: str, text: str, length: int) -> None:
    p = point(type="string", length=length, word_order=word_order)
    if len(text.encode("utf-8")) > length:
        with pytest.raises(ValueError):
            encode(p, text)
        return
    assert decode(p, encode(p, text)) == text


@pytest.mark.parametrize("word_order", ["ABCD", "BADC"])
@given(register=st.integers(0, 0xFFFF), bit=st.integers(0, 15), value=st.booleans())
def test_a_bit_written_reads_back_and_leaves_the_others(
    word_order: str, register: int, bit: int, value: bool
) -> None:
    p = point(type="bit", bit=bit, word_order=word_order)
    written = encode_bit(p, register, value)
    others = [point(type="bit", bit=n, word_order=word_order) for n in range(16) if n != bit]
    assert decode(p, [written]) is value
    assert [decode(o, [written]) for o in others] == [decode(o, [register]) for o in others]


@given(value=st.booleans())
def test_a_coil_written_reads_back_the_same(value: bool) -> None:
    p = point(kind="coil")
    assert decode(p, encode(p, value)) is value


def test_float32_values_are_carried_at_single_precision() -> None:
    p = point(type="float32")
    assert decode(p, encode(p, 0.1)) == struct.unpack(">f", struct.pack(">f", 0.1))[0]
