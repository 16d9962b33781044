"""A device's points are fetched with few reads, none beyond what the device or the protocol accepts."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from textwrap import dedent
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus.config import ModbusPoint
from drivers.modbus.plan import ReadRequest, describe_plan, plan_reads
from edge_agent.agent_config import load_config_text

ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"
BIT_TABLES = ("coil", "discrete")


def point(name: str, address: int, kind: str = "holding", **settings: Any) -> ModbusPoint:
    return ModbusPoint.model_validate({"name": name, "kind": kind, "address": address, **settings})


def shape(plan: list[ReadRequest]) -> list[tuple[str, int, int, list[str]]]:
    return [(r.kind, r.address, r.count, [p.name for p in r.points]) for r in plan]


def test_neighbouring_points_share_one_read_and_far_ones_do_not() -> None:
    points = [
        point("a", 0, type="float32"),
        point("b", 2),
        point("c", 5),
        point("d", 100),
        point("e", 0, kind="input"),
    ]
    assert shape(plan_reads(points, max_gap=8)) == [
        ("holding", 0, 6, ["a", "b", "c"]),
        ("holding", 100, 1, ["d"]),
        ("input", 0, 1, ["e"]),
    ]


def test_a_gap_wider_than_max_gap_starts_a_new_read() -> None:
    points = [point("a", 0), point("b", 3), point("c", 7)]
    assert [r.count for r in plan_reads(points, max_gap=2)] == [4, 1]
    assert [r.count for r in plan_reads(points, max_gap=0)] == [1, 1, 1]


def test_a_read_never_exceeds_the_device_limit() -> None:
    points = [point(f"p{i}", i) for i in range(10)]
    assert [r.count for r in plan_reads(points, max_registers=4)] == [4, 4, 2]


def test_a_read_never_exceeds_the_protocol_limit() -> None:
    registers = [point(f"r{i}", i) for i in range(200)]
    coils = [point(f"c{i}", i, kind="coil") for i in range(2500)]
    plan = plan_reads(registers + coils, max_registers=1000, max_bits=9999)
    assert [(r.kind, r.count) for r in plan] == [
        ("coil", 2000),
        ("coil", 500),
        ("holding", 125),
        ("holding", 75),
    ]


def test_bits_of_one_register_are_read_as_that_register() -> None:
    points = [point("b3", 10, type="bit", bit=3), point("b0", 10, type="bit", bit=0), point("w", 11)]
    assert shape(plan_reads(points)) == [("holding", 10, 2, ["b3", "b0", "w"])]


def test_coils_bridge_sixteen_bits_per_register_of_gap() -> None:
    points = [point("a", 0, kind="coil"), point("b", 33, kind="coil")]
    assert [r.count for r in plan_reads(points, max_gap=2)] == [34]
    assert [r.count for r in plan_reads(points, max_gap=1)] == [1, 1]


def test_each_table_has_its_function_code() -> None:
    points = [point(kind, 0, kind) for kind in ("holding", "input", "coil", "discrete")]
    assert [(r.kind, r.function_code) for r in plan_reads(points)] == [
        ("coil", 1),
        ("discrete", 2),
        ("holding", 3),
        ("input", 4),
    ]


def test_a_point_gets_its_own_registers_out_of_a_read() -> None:
    temperature = point("temperature", 102, type="float32")
    request = plan_reads([point("speed", 100), temperature])[0]
    assert request.values_of(temperature, [1, 2, 0x4148, 0x0000]) == [0x4148, 0x0000]


def test_a_coil_gets_its_one_bit_out_of_a_read() -> None:
    lamp = point("lamp", 5, kind="coil")
    request = plan_reads([point("pump", 0, kind="coil"), lamp])[0]
    # pymodbus pads the bits of an answer to whole bytes.
    assert request.values_of(lamp, [False] * 5 + [True, False, False]) == [True]


def test_a_point_longer_than_one_read_is_refused() -> None:
    with pytest.raises(ValueError, match="'label' takes 10 registers, more than one read may hold \\(4\\)"):
        plan_reads([point("label", 0, type="string", length=20)], max_registers=4)


def test_a_read_split_up_reads_each_register_span_alone() -> None:
    points = [
        point("a", 0, type="float32"),
        point("f0", 4, type="bit", bit=0),
        point("f1", 4, type="bit", bit=1),
    ]
    (request,) = plan_reads(points)
    assert shape(request.split()) == [("holding", 0, 2, ["a"]), ("holding", 4, 1, ["f0", "f1"])]


def test_the_plan_of_a_source_is_described_device_by_device() -> None:
    config = load_config_text(
        ASSET
        + dedent(
            """\
            sources:
              - name: line_bus
                driver: modbus
                transport: rtu
                port: /dev/ttyUSB0
                max_registers_per_request: 4
                devices:
                  - unit: 7
                    points:
                      - {name: tank_level, kind: holding, address: 0, type: int16}
                      - {name: tank_temperature, kind: holding, address: 1, type: float32}
                      - {name: tank_pressure, kind: holding, address: 3, type: float32}
                      - {name: pump_on, kind: coil, address: 0}
                      - {name: valve_open, kind: coil, address: 1}
                  - unit: 12
                    max_registers_per_request: 125
                    points:
                      - {name: flow_total, kind: input, address: 100, type: uint64}
                      - {name: flow_rate, kind: input, address: 104, type: float32}
            """
        )
    )
    assert describe_plan(config.sources[0]) == dedent(
        """\
        source line_bus: 2 devices, 4 requests per cycle, 7 points
          unit 7   FC01 read coil      0..1     (2 bits): pump_on, valve_open
          unit 7   FC03 read holding   0..2     (3 registers): tank_level, tank_temperature
          unit 7   FC03 read holding   3..4     (2 registers): tank_pressure
          unit 12  FC04 read input     100..105 (6 registers): flow_total, flow_rate"""
    )


def test_a_single_device_source_counts_in_the_singular() -> None:
    config = load_config_text(
        ASSET
        + dedent(
            """\
            sources:
              - name: meter
                driver: modbus
                host: 10.0.0.5
                points: [{name: energy, kind: input, address: 0}]
            """
        )
    )
    assert describe_plan(config.sources[0]) == (
        "source meter: 1 device, 1 request per cycle, 1 point\n"
        "  unit 1  FC04 read input     0 (1 register): energy"
    )


# Properties of every plan.

POINT_SHAPES = st.one_of(
    st.sampled_from([{"type": t} for t in ("uint16", "int32", "float32", "uint64")]),
    st.integers(1, 30).map(lambda length: {"type": "string", "length": length}),
    st.integers(0, 15).map(lambda bit: {"type": "bit", "bit": bit}),
)


@st.composite
def device_points(draw: st.DrawFn) -> list[ModbusPoint]:
    """Points of one device that share no register or bit, in a shuffled order."""
    points: list[ModbusPoint] = []
    for kind in draw(st.sets(st.sampled_from(["holding", "input", "coil", "discrete"]), min_size=1)):
        address = draw(st.integers(0, 20))
        for _ in range(draw(st.integers(1, 25))):
            settings = {} if kind in BIT_TABLES else draw(POINT_SHAPES)
            new = point(f"p{len(points)}", address, kind, **settings)
            if settings.get("type") == "bit":
                bits = draw(st.sets(st.integers(0, 15), min_size=1, max_size=3))
                points += [
                    point(f"p{len(points) + i}", address, kind, type="bit", bit=b) for i, b in enumerate(bits)
                ]
            else:
                points.append(new)
            address += new.register_count + draw(st.sampled_from([0, 0, 1, 3, 10, 40]))
    return draw(st.permutations(points))


LIMITS = st.fixed_dictionaries(
    {
        "max_registers": st.integers(30, 140),
        "max_bits": st.integers(1, 2100),
        "max_gap": st.integers(0, 12),
    }
)


def limit_of(kind: str, limits: dict[str, int]) -> int:
    return min(limits["max_bits"], 2000) if kind in BIT_TABLES else min(limits["max_registers"], 125)


def gap_of(kind: str, limits: dict[str, int]) -> int:
    return limits["max_gap"] * (16 if kind in BIT_TABLES else 1)


@given(device_points(), LIMITS)
def test_every_point_is_read_exactly_once(points: list[ModbusPoint], limits: dict[str, int]) -> None:
    read = [p.name for request in plan_reads(points, **limits) for p in request.points]
    assert sorted(read) == sorted(p.name for p in points)


@given(device_points(), LIMITS)
def test_no_read_is_over_its_limit_or_beyond_its_points(
    points: list[ModbusPoint], limits: dict[str, int]
) -> None:
    for request in plan_reads(points, **limits):
        assert request.count <= limit_of(request.kind, limits)
        assert request.address == min(p.address for p in request.points)
        assert request.last_address == max(p.last_address for p in request.points)
        assert all(p.kind == request.kind for p in request.points)


@given(device_points(), LIMITS)
def test_reads_of_one_table_never_overlap(points: list[ModbusPoint], limits: dict[str, int]) -> None:
    plan = plan_reads(points, **limits)
    for kind in {r.kind for r in plan}:
        spans = sorted((r.address, r.last_address) for r in plan if r.kind == kind)
        assert all(end < next_start for (_, end), (next_start, _) in pairwise(spans))


@given(device_points(), LIMITS)
def test_no_read_bridges_a_gap_wider_than_max_gap(points: list[ModbusPoint], limits: dict[str, int]) -> None:
    for request in plan_reads(points, **limits):
        covered = {a for p in request.points for a in range(p.address, p.last_address + 1)}
        gaps = _runs(sorted(set(range(request.address, request.last_address + 1)) - covered))
        assert all(gap <= gap_of(request.kind, limits) for gap in gaps)


@given(device_points(), LIMITS)
def test_no_plan_within_the_limits_has_fewer_reads(points: list[ModbusPoint], limits: dict[str, int]) -> None:
    plan = plan_reads(points, **limits)
    for kind in {p.kind for p in points}:
        table = [p for p in points if p.kind == kind]
        fewest = _fewest_reads(table, limit_of(kind, limits), gap_of(kind, limits))
        assert sum(1 for r in plan if r.kind == kind) == fewest


@given(st.integers(0, 1000), st.integers(1, 400), st.integers(1, 125))
def test_contiguous_registers_take_as_many_full_reads_as_fit(start: int, count: int, limit: int) -> None:
    points = [point(f"p{i}", start + i) for i in range(count)]
    assert len(plan_reads(points, max_registers=limit)) == -(-count // limit)


def _runs(addresses: Sequence[int]) -> list[int]:
    """Lengths of the runs of consecutive numbers in sorted ``addresses``."""
    runs: list[int] = []
    for index, address in enumerate(addresses):
        if index and address == addresses[index - 1] + 1:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


def _fewest_reads(table: list[ModbusPoint], limit: int, gap: int) -> int:
    """The fewest reads over every way to cut the table's points, in address order, into reads.

    Reads of one table may not overlap, so each read is a run of neighbouring register spans (points
    sharing a register form one span).
    """
    spans: list[list[int]] = []
    for p in sorted(table, key=lambda p: p.address):
        if spans and p.address <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], p.last_address)
        else:
            spans.append([p.address, p.last_address])
    fewest = [0] + [len(spans) + 1] * len(spans)
    for end in range(1, len(spans) + 1):
        for begin in range(end - 1, -1, -1):
            if begin < end - 1 and spans[begin + 1][0] - spans[begin][1] - 1 > gap:
                break
            if spans[end - 1][1] - spans[begin][0] + 1 > limit:
                break
            fewest[end] = min(fewest[end], fewest[begin] + 1)
    return fewest[len(spans)]
