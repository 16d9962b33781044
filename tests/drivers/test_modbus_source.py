"""The Modbus driver against real devices: the simulated pump on TCP, pymodbus and modbus-tk servers,
RTU over a pty pair, RTU framed over TCP; devices that disappear and come back; writes."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymodbus.framer import FramerType

from edge_agent.quality import Quality
from edge_agent.simulator.modbus_device import SimulatedPumpDevice
from edge_agent.tagstore import TagStore
from tests.support.waiting import eventually

from .modbus_peers import Tables, modbus_tk_tcp, pty_pair, pymodbus_rtu, pymodbus_tcp
from .modbus_running import source, start, stop

PUMP_POINTS = [
    {"name": "motor_temperature", "kind": "input", "address": 0, "type": "float32", "unit": "degC"},
    {"name": "vibration_rms", "kind": "input", "address": 2, "scale": 0.01},
    {"name": "motor_speed", "kind": "input", "address": 5},
    {"name": "speed_setpoint", "kind": "holding", "address": 1, "writable": True, "range": [0, 3000]},
]

# One point of every kind and most types, at fixed addresses of a Tables device.
MIXED_POINTS = [
    {"name": "temp", "kind": "holding", "address": 0, "type": "float32", "word_order": "CDAB"},
    {"name": "count", "kind": "holding", "address": 2, "type": "uint32"},
    {"name": "level", "kind": "holding", "address": 4, "type": "int16", "scale": 0.1},
    {"name": "energy", "kind": "holding", "address": 5, "type": "float64"},
    {"name": "label", "kind": "holding", "address": 9, "type": "string", "length": 6},
    {"name": "alarm_bit", "kind": "holding", "address": 12, "type": "bit", "bit": 3, "writable": True},
    {"name": "setpoint", "kind": "holding", "address": 13, "writable": True, "range": [0, 1000]},
    {"name": "flow", "kind": "input", "address": 0, "type": "int32", "word_order": "DCBA"},
    {"name": "pump_on", "kind": "coil", "address": 5, "writable": True},
    {"name": "door", "kind": "discrete", "address": 9},
]


def mixed_tables() -> Tables:
    tables = Tables()
    high, low = struct.unpack(">HH", struct.pack(">f", 21.5))
    tables.holding[0:2] = [low, high]  # CDAB
    tables.holding[2:4] = [0x0001, 0x86A0]  # 100000
    tables.holding[4] = (-123) & 0xFFFF  # -12.3 at scale 0.1
    tables.holding[5:9] = list(struct.unpack(">HHHH", struct.pack(">d", 1234.5678)))
    tables.holding[9:12] = [ord("P") << 8 | ord("-"), ord("1") << 8 | ord("7"), 0]  # "P-17"
    tables.holding[12] = 0b1000  # bit 3 set
    tables.holding[13] = 500
    swapped = struct.pack("<i", -42000)  # DCBA: fully little-endian
    tables.input[0:2] = [swapped[0] << 8 | swapped[1], swapped[2] << 8 | swapped[3]]
    tables.coils[5] = True
    tables.discrete[9] = True
    return tables


MIXED_EXPECTED: dict[str, Any] = {
    "temp": 21.5,
    "count": 100000,
    "level": -12.3,
    "energy": 1234.5678,
    "label": "P-17",
    "alarm_bit": True,
    "setpoint": 500,
    "flow": -42000,
    "pump_on": True,
    "door": True,
}


def all_good(store: TagStore) -> bool:
    return all(r.quality == Quality.Good for r in store.snapshot().values())


def values(store: TagStore) -> dict[str, Any]:
    return {tag: reading.value for tag, reading in store.snapshot().items()}


def assert_values(store: TagStore, expected: dict[str, Any]) -> None:
    got = values(store)
    for tag, value in expected.items():
        if isinstance(value, float):
            assert got[tag] == pytest.approx(value, rel=1e-6), tag
        else:
            assert got[tag] == value, tag


@pytest.fixture
async def pump() -> AsyncIterator[SimulatedPumpDevice]:
    async with SimulatedPumpDevice(port=0, seed=5) as device:
        yield device


async def test_the_simulated_pump_is_read_decoded_and_scaled(pump: SimulatedPumpDevice) -> None:
    store, task = await start(source({"host": "127.0.0.1", "port": pump.port, "points": PUMP_POINTS}))
    try:
        await eventually(lambda: all_good(store))
    finally:
        await stop(task)
    state = pump.pump.state
    assert store.current("motor_temperature").value == pytest.approx(state.motor_temperature, abs=0.5)
    assert store.current("vibration_rms").value == pytest.approx(state.vibration_rms, abs=0.5)
    assert isinstance(store.current("motor_speed").value, int)
    assert store.current("speed_setpoint").value == 2900


async def test_every_table_and_type_over_tcp() -> None:
    async with pymodbus_tcp({1: mixed_tables()}) as port:
        store, task = await start(source({"host": "127.0.0.1", "port": port, "points": MIXED_POINTS}))
        try:
            await eventually(lambda: all_good(store))
        finally:
            await stop(task)
    assert_values(store, MIXED_EXPECTED)


async def test_an_independent_implementation_modbus_tk_reads_the_same() -> None:
    with modbus_tk_tcp(1, mixed_tables()) as (port, _slave):
        store, task = await start(source({"host": "127.0.0.1", "port": port, "points": MIXED_POINTS}))
        try:
            await eventually(lambda: all_good(store))
            assert_values(store, MIXED_EXPECTED)
            assert await store.write("setpoint", 750) == Quality.Good
            assert await store.write("pump_on", False) == Quality.Good
            await eventually(lambda: store.current("setpoint").value == 750)
            await eventually(lambda: store.current("pump_on").value is False)
        finally:
            await stop(task)


async def test_rtu_over_a_serial_line_with_several_units_on_one_bus() -> None:
    first, second = mixed_tables(), Tables()
    second.holding[0] = 4242
    with pty_pair() as pair:
        async with pymodbus_rtu({1: first, 2: second}, pair.ends[0]):
            src = source(
                {
                    "transport": "rtu",
                    "port": pair.ends[1],
                    "baudrate": 19200,
                    "parity": "N",  # a pseudo-terminal refuses parity settings; real serial ports take E
                    "devices": [
                        {"unit": 1, "points": MIXED_POINTS},
                        {
                            "unit": 2,
                            "poll": "100ms",
                            "points": [{"name": "other", "kind": "holding", "address": 0}],
                        },
                    ],
                }
            )
            store, task = await start(src)
            try:
                await eventually(lambda: all_good(store), within=10)
            finally:
                await stop(task)
    assert_values(store, {**MIXED_EXPECTED, "other": 4242})


async def test_rtu_framed_over_tcp_as_serial_gateways_speak() -> None:
    async with pymodbus_tcp({3: mixed_tables()}, framer=FramerType.RTU) as port:
        src = source(
            {
                "transport": "rtu_over_tcp",
                "host": "127.0.0.1",
                "port": port,
                "unit": 3,
                "points": MIXED_POINTS,
            }
        )
        store, task = await start(src)
        try:
            await eventually(lambda: all_good(store))
        finally:
            await stop(task)
    assert_values(store, MIXED_EXPECTED)


async def test_a_dead_unit_on_a_gateway_does_not_stop_its_neighbour() -> None:
    async with pymodbus_tcp({1: mixed_tables()}) as port:
        src = source(
            {
                "host": "127.0.0.1",
                "port": port,
                "devices": [
                    {"unit": 1, "points": [{"name": "alive", "kind": "holding", "address": 13}]},
                    {
                        "unit": 9,
                        "timeout": "100ms",
                        "points": [{"name": "dead", "kind": "holding", "address": 13}],
                    },
                ],
            }
        )
        store, task = await start(src)
        try:
            await eventually(lambda: store.current("alive").quality == Quality.Good)
            await eventually(
                lambda: (
                    store.current("dead").quality.is_bad
                    and store.current("dead").quality != Quality.BadWaitingForInitialData
                )
            )
            alive = next(p for p in src.pollers if p.device.unit == 1)
            cycles = alive.cycles
            # Still polled while its neighbour times out, cycle after cycle (counted, not timed).
            await eventually(lambda: alive.cycles >= cycles + 10, within=30)
            assert store.current("alive").quality == Quality.Good
            assert store.current("dead").quality.is_bad
        finally:
            await stop(task)


async def test_a_device_unplugged_mid_run_turns_bad_keeping_values_and_recovers() -> None:
    device = SimulatedPumpDevice(port=0, seed=5)
    await device.start()
    port = device.port
    store, task = await start(source({"host": "127.0.0.1", "port": port, "points": PUMP_POINTS}))
    try:
        await eventually(lambda: store.current("motor_speed").quality == Quality.Good)
        last_speed = store.current("motor_speed").value
        await device.stop()
        await eventually(lambda: store.current("motor_speed").quality.is_bad)
        assert store.current("motor_speed").value == last_speed
        device = SimulatedPumpDevice(port=port, seed=5)
        await device.start()
        await eventually(lambda: store.current("motor_speed").quality == Quality.Good, within=15)
    finally:
        await stop(task)
        await device.stop()


async def test_a_register_the_device_lacks_gives_bad_status_only_to_its_points(
    pump: SimulatedPumpDevice,
) -> None:
    points = [*PUMP_POINTS, {"name": "missing", "kind": "holding", "address": 500}]
    store, task = await start(source({"host": "127.0.0.1", "port": pump.port, "points": points}))
    try:
        await eventually(lambda: store.current("missing").quality != Quality.BadWaitingForInitialData)
        await eventually(lambda: store.current("motor_speed").quality == Quality.Good)
    finally:
        await stop(task)
    assert store.current("missing").quality == Quality.BadConfigurationError


async def test_a_merged_read_over_unimplemented_registers_falls_back_to_single_reads() -> None:
    # The device implements holding 0, 1 and 10 only; a read of 1..10 is refused with illegal address.
    tables = Tables(holding=[0, 2900, *[None] * 8, 0])
    points = [
        {"name": "speed_setpoint", "kind": "holding", "address": 1},
        {"name": "bearing_fault", "kind": "holding", "address": 10},
    ]
    async with pymodbus_tcp({1: tables}) as port:
        src = source({"host": "127.0.0.1", "port": port, "points": points})
        assert len(src.pollers[0].plan) == 1
        store, task = await start(src)
        try:
            await eventually(lambda: all_good(store))
        finally:
            await stop(task)
    assert store.current("speed_setpoint").value == 2900
    assert store.current("bearing_fault").value == 0
    assert len(src.pollers[0].plan) == 2


async def test_writes_reach_the_device_with_the_real_result_status() -> None:
    async with pymodbus_tcp({1: mixed_tables()}) as port:
        store, task = await start(source({"host": "127.0.0.1", "port": port, "points": MIXED_POINTS}))
        try:
            await eventually(lambda: all_good(store))
            assert await store.write("setpoint", 640) == Quality.Good
            assert await store.write("alarm_bit", False) == Quality.Good
            assert await store.write("pump_on", False) == Quality.Good
            await eventually(lambda: store.current("setpoint").value == 640)
            await eventually(lambda: store.current("alarm_bit").value is False)
            await eventually(lambda: store.current("pump_on").value is False)
            assert await store.write("setpoint", 5000) == Quality.BadOutOfRange
            assert await store.write("temp", 1.0) == Quality.BadNotWritable
        finally:
            await stop(task)


async def test_a_deadband_suppresses_small_changes() -> None:
    tables = Tables()
    tables.holding[0] = 1000
    async with pymodbus_tcp({1: tables}) as port:
        points = [{"name": "level", "kind": "holding", "address": 0, "deadband": 5, "writable": True}]
        src = source({"host": "127.0.0.1", "port": port, "points": points})
        store, task = await start(src)
        seen: list[Any] = []
        store.listen(lambda reading: seen.append(reading.value))
        try:
            await eventually(lambda: store.current("level").value == 1000)
            assert await store.write("level", 1003) == Quality.Good
            await asyncio.sleep(0.3)
            assert store.current("level").value == 1000
            assert await store.write("level", 1010) == Quality.Good
            await eventually(lambda: store.current("level").value == 1010)
        finally:
            await stop(task)
    assert 1003 not in seen
