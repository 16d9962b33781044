"""Modbus points in the config: the tags they give, mistakes in one point, and points that share a
register or bit, each mistake placed on its key."""

from __future__ import annotations

import pytest

from edge_agent.tags import TagInfo

from .modbus_sources import TCP, modbus_source, reported, serial_bus

# Tags.


def test_each_point_type_gives_its_tag_type() -> None:
    source = modbus_source(
        """\
        - name: plc
          driver: modbus
          host: 10.0.0.1
          points:
            - {name: pump_on, kind: coil, address: 0, writable: true}
            - {name: door_closed, kind: discrete, address: 0}
            - {name: overload, kind: input, address: 0, type: bit, bit: 4}
            - {name: hours, kind: input, address: 1, type: uint32}
            - {name: energy, kind: input, address: 3, type: int64, scale: 0.001, unit: kWh}
            - {name: pressure, kind: input, address: 7, type: float64, range: [0, 16], deadband: 0.05}
            - {name: batch, kind: holding, address: 0, type: string, length: 12, writable: true}
        """
    )
    assert source.tag_infos() == [
        TagInfo("pump_on", "plc", "bool", writable=True),
        TagInfo("door_closed", "plc", "bool"),
        TagInfo("overload", "plc", "bool"),
        TagInfo("hours", "plc", "int", number_type="uint32"),
        TagInfo("energy", "plc", "float", "kWh"),
        TagInfo("pressure", "plc", "float", range=(0.0, 16.0), number_type="float64"),
        TagInfo("batch", "plc", "string", writable=True),
    ]
    assert [p.register_count for p in source.all_points()] == [1, 1, 1, 2, 4, 4, 6]


def test_tags_of_every_device_are_declared() -> None:
    source = modbus_source(
        serial_bus(
            """\
            devices:
              - {unit: 1, points: [{name: a, kind: input, address: 0}]}
              - {unit: 2, points: [{name: b, kind: input, address: 0}, {name: c, kind: input, address: 1}]}
            """
        )
    )
    assert [(d.info.name, d.path) for d in source.declared_tags()] == [
        ("a", ("devices", 0, "points", 0, "name")),
        ("b", ("devices", 1, "points", 0, "name")),
        ("c", ("devices", 1, "points", 1, "name")),
    ]


# Mistakes in a point.


@pytest.mark.parametrize(
    ("point", "key", "message"),
    [
        (
            "{name: speed, kind: coil, address: 0, type: float32}",
            "type",
            "coils hold single bits, so their type is bool (got 'float32')",
        ),
        (
            "{name: flag, kind: holding, address: 0, type: bool}",
            "type",
            "type bool is for coils and discrete inputs; for one bit of a "
            "register use type bit with bit: 0..15, or a number type for the whole holding register",
        ),
        (
            "{name: door, kind: discrete, address: 0, writable: true}",
            "writable",
            "discrete inputs are read-only; only holding registers and coils can be writable",
        ),
        (
            "{name: flag, kind: input, address: 0, type: bit}",
            "bit",
            "required key is missing; type bit needs the bit's number, 0 (least significant) to 15",
        ),
        (
            "{name: flag, kind: input, address: 0, type: bit, bit: 16}",
            "bit",
            "must be at most 15 (got 16)",
        ),
        (
            "{name: speed, kind: input, address: 0, bit: 3}",
            "bit",
            "bit is only for type bit (this point is uint16)",
        ),
        (
            "{name: batch, kind: input, address: 0, type: string}",
            "length",
            "required key is missing; type string needs its length in characters, 1..250",
        ),
        (
            "{name: batch, kind: input, address: 0, type: int16, length: 8}",
            "length",
            "length is only for type string (this point is int16)",
        ),
        (
            "{name: speed, kind: input, address: 0, type: int16, word_order: CDAB}",
            "word_order",
            "a int16 point takes one register, so word_order can only "
            "be ABCD, or BADC for swapped bytes (got 'CDAB')",
        ),
        (
            "{name: batch, kind: input, address: 0, type: string, length: 8, word_order: DCBA}",
            "word_order",
            "a string's characters are in order, so word_order can "
            "only be ABCD, or BADC for bytes swapped in each register (got 'DCBA')",
        ),
        (
            "{name: pump_on, kind: coil, address: 0, word_order: ABCD}",
            "word_order",
            "coils are single bits; word_order is for registers",
        ),
        (
            "{name: pump_on, kind: coil, address: 0, scale: 2}",
            "scale",
            "scale is only for number types (this point is bool)",
        ),
        (
            "{name: flag, kind: input, address: 0, type: bit, bit: 1, deadband: 1}",
            "deadband",
            "deadband is only for number types (this point is bit)",
        ),
        (
            "{name: batch, kind: input, address: 0, type: string, length: 8, range: [0, 1]}",
            "range",
            "range is only for number types (this point is string)",
        ),
        (
            "{name: speed, kind: input, address: 0, deadband: -1}",
            "deadband",
            "must be 0 or more (got -1)",
        ),
        (
            "{name: energy, kind: input, address: 65533, type: float64}",
            "address",
            "a float64 point takes 4 registers, so its address must be at most 65532 (got 65533)",
        ),
        (
            "{name: batch, kind: input, address: 65530, type: string, length: 20}",
            "address",
            "a string of 20 characters takes 10 registers, so its address must be at most 65526 (got 65530)",
        ),
        (
            "{name: speed, kind: register, address: 0}",
            "kind",
            "must be one of coil, discrete, input, holding (got 'register')",
        ),
        (
            "{name: speed, kind: input, address: 0, type: float}",
            "type",
            "must be one of bool, bit, int16, uint16, int32, uint32, "
            "int64, uint64, float32, float64, string (got 'float'); did you mean 'float64'?",
        ),
    ],
)
def test_a_point_mistake_is_placed_on_its_key(point: str, key: str, message: str) -> None:
    line = "      - " + point  # line 7 of the file
    # A key the point lacks is reported at the point itself.
    column = line.index(f" {key}:") + 2 if f" {key}:" in line else line.index("{") + 1
    assert reported(TCP + "  host: 10.0.0.1\n  points:\n    - " + point + "\n") == (
        f"plant.yaml:7:{column}: sources[0].points[0].{key}: {message}"
    )


# Points that share registers or bits.


def test_bits_of_one_register_and_the_same_address_in_other_tables_or_devices_are_fine() -> None:
    source = modbus_source(
        serial_bus(
            """\
            devices:
              - unit: 1
                points:
                  - {name: a0, kind: holding, address: 5, type: bit, bit: 0}
                  - {name: a1, kind: holding, address: 5, type: bit, bit: 1}
                  - {name: i5, kind: input, address: 5}
                  - {name: c5, kind: coil, address: 5}
                  - {name: d5, kind: discrete, address: 5}
              - unit: 2
                points: [{name: other_device, kind: holding, address: 5}]
            """
        )
    )
    assert len(source.all_points()) == 6


def overlap_problem(first: str, second: str) -> str:
    return reported(TCP + "  host: 10.0.0.1\n  points:\n    - " + first + "\n    - " + second + "\n")


@pytest.mark.parametrize(
    ("first", "second", "problem"),
    [
        (
            "{name: a, kind: holding, address: 100, type: float32}",
            "{name: b, kind: holding, address: 101}",
            "register 101 overlaps point 'a' (holding 100..101)",
        ),
        (
            "{name: a, kind: input, address: 100, type: bit, bit: 3}",
            "{name: b, kind: input, address: 99, type: int32}",
            "registers 99..100 overlap point 'a' (input 100 bit 3)",
        ),
        (
            "{name: a, kind: input, address: 100}",
            "{name: b, kind: input, address: 100, type: bit, bit: 3}",
            "bit 3 of register 100 overlaps point 'a' (input 100)",
        ),
        (
            "{name: a, kind: holding, address: 7, type: bit, bit: 3}",
            "{name: b, kind: holding, address: 7, type: bit, bit: 3}",
            "bit 3 of register 7 overlaps point 'a' (holding 7 bit 3)",
        ),
        (
            "{name: a, kind: coil, address: 4}",
            "{name: b, kind: coil, address: 4}",
            "coil 4 overlaps point 'a' (coil 4)",
        ),
        (
            "{name: a, kind: discrete, address: 4}",
            "{name: b, kind: discrete, address: 4}",
            "discrete input 4 overlaps point 'a' (discrete 4)",
        ),
    ],
)
def test_points_that_share_a_register_or_bit_name_each_other(first: str, second: str, problem: str) -> None:
    assert overlap_problem(first, second).split(": ", 2)[1:] == ["sources[0].points[1].address", problem]
