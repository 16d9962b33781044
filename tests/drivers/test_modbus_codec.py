"""Register encoding of Modbus points: what a device holds is what the agent reports, both ways."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from drivers.modbus.codec import decode, encode
from drivers.modbus.plan import plan_reads


@dataclass
class Point:
    name: str = "p"
    kind: str = "holding"
    address: int = 0
    type: str = "uint16"
    word_order: str = "ABCD"
    scale: float = 1.0
    offset: float = 0.0


def test_int16_reads_negative_numbers_in_twos_complement() -> None:
    assert decode(Point(type="int16"), [0xFFFE], as_int=True) == -2


def test_uint16_with_scale_gives_engineering_units() -> None:
    assert decode(Point(scale=0.01), [1234], as_int=False) == pytest.approx(12.34)


def test_scaled_registers_read_without_binary_fraction_noise() -> None:
    assert decode(Point(scale=0.1), [494], as_int=False) == 49.4


def test_float32_word_orders_read_the_same_value() -> None:
    # 12.5 as IEEE 754 single is 0x41480000: high word 0x4148, low word 0x0000.
    assert decode(Point(type="float32"), [0x4148, 0x0000], as_int=False) == 12.5
    assert decode(Point(type="float32", word_order="CDAB"), [0x0000, 0x4148], as_int=False) == 12.5


@pytest.mark.parametrize(
    "point, value",
    [
        (Point(type="int16", scale=0.1), -12.3),
        (Point(type="uint16", offset=-40.0, scale=0.5), 20.0),
        (Point(type="float32", word_order="CDAB"), 3.25),
    ],
)
def test_encode_then_decode_round_trips(point: Point, value: float) -> None:
    assert decode(point, encode(point, value), as_int=False) == pytest.approx(value)


def test_a_value_that_does_not_fit_the_register_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode(Point(type="uint16"), 70000)


def test_neighbouring_points_share_one_read_and_far_ones_do_not() -> None:
    points = [
        Point("a", address=0, type="float32"),
        Point("b", address=2),
        Point("c", address=5),
        Point("d", address=100),
        Point("e", kind="input", address=0),
    ]
    plan = plan_reads(points, max_gap=8)
    assert [(r.kind, r.address, r.count, [p.name for p in r.points]) for r in plan] == [
        ("holding", 0, 6, ["a", "b", "c"]),
        ("holding", 100, 1, ["d"]),
        ("input", 0, 1, ["e"]),
    ]


def test_a_read_never_exceeds_the_device_limit() -> None:
    points = [Point(f"p{i}", address=i) for i in range(10)]
    plan = plan_reads(points, max_registers=4)
    assert [r.count for r in plan] == [4, 4, 2]
