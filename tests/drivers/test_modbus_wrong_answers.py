"""Answers to some other request (another table, another length, another unit, another address) are never
taken for the answer: the points of that request go Bad, never Good with a wrong value, a healthy device
on the same connection stays Good, and everything is Good again once the device answers properly."""

from __future__ import annotations

import pytest

from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.waiting import eventually

from .modbus_running import source, start, stop
from .rogue_modbus import coil_value, discrete_value, holding_value, input_value, rogue_server

FAULTY_POINTS = [
    {"name": "level", "kind": "input", "address": 3},
    {"name": "pressure", "kind": "holding", "address": 7, "type": "uint32"},
    {"name": "pump_on", "kind": "coil", "address": 5},
    {"name": "door", "kind": "discrete", "address": 9},
]
EXPECTED = {
    "level": input_value(3),
    "pressure": holding_value(7) << 16 | holding_value(8),
    "pump_on": coil_value(5),
    "door": discrete_value(9),
}
NEIGHBOUR_POINTS = [{"name": "neighbour", "kind": "holding", "address": 42}]
NEIGHBOUR_UNIT = 2
WITHIN_S = 10.0  # generous: the deadlines hold on a busy machine; nothing here measures speed


def transport(framing: str) -> str:
    return "tcp" if framing == "socket" else "rtu_over_tcp"


def quality(store: TagStore, tag: str) -> Quality:
    return store.current(tag).quality


def all_good(store: TagStore) -> bool:
    return all(quality(store, tag) == Quality.Good for tag in [*EXPECTED, "neighbour"])


class Watch:
    """Every Good reading with a value the device does not hold, and every Bad status of the neighbour."""

    def __init__(self, store: TagStore) -> None:
        self.wrong_values: list[Reading] = []
        self.neighbour_bad: list[Reading] = []
        store.listen(self)

    def __call__(self, reading: Reading) -> None:
        if reading.tag == "neighbour":
            if reading.quality != Quality.Good:
                self.neighbour_bad.append(reading)
        elif reading.quality == Quality.Good and reading.value != EXPECTED[reading.tag]:
            self.wrong_values.append(reading)


@pytest.mark.parametrize(
    ("mode", "framing", "unit", "expected_status"),
    [
        ("swapped_function", "socket", 1, "BadCommunicationError"),
        ("swapped_function", "rtu", 1, "BadCommunicationError"),
        ("more_values", "socket", 1, "BadCommunicationError"),
        ("fewer_values", "socket", 1, "BadCommunicationError"),
        ("more_values", "rtu", 1, "BadCommunicationError"),
        ("wrong_unit", "socket", 0, "BadCommunicationError"),
        # pymodbus drops an answer from another unit when the request's unit is not 0: no answer at all.
        ("wrong_unit", "socket", 1, "BadTimeout"),
    ],
)
async def test_an_answer_to_another_request_makes_its_points_bad_never_a_wrong_value(
    mode: str, framing: str, unit: int, expected_status: str
) -> None:
    expected = Quality[expected_status]
    async with rogue_server("good", framing=framing, faulty_units={unit}) as rogue:
        src = source(
            {"transport": transport(framing), "host": "127.0.0.1", "port": rogue.port,
             "devices": [{"unit": unit, "points": FAULTY_POINTS},
                         {"unit": NEIGHBOUR_UNIT, "points": NEIGHBOUR_POINTS}]}
        )  # fmt: skip
        store, task = await start(src)
        watch = Watch(store)
        try:
            await eventually(lambda: all_good(store), within=WITHIN_S)
            assert store.current("level").value == EXPECTED["level"]

            rogue.mode = mode
            await eventually(
                lambda: all(quality(store, tag) == expected for tag in EXPECTED), within=WITHIN_S
            )
            neighbour = src.pollers[1]
            cycles = neighbour.cycles
            await eventually(lambda: neighbour.cycles >= cycles + 5, within=WITHIN_S)
            assert quality(store, "neighbour") == Quality.Good
            assert not task.done()

            rogue.mode = "good"
            await eventually(lambda: all_good(store), within=WITHIN_S)
            assert {tag: store.current(tag).value for tag in EXPECTED} == EXPECTED
        finally:
            await stop(task)
    assert watch.wrong_values == []
    assert watch.neighbour_bad == []


WRITABLE_POINTS = [
    {"name": "alarm_bit", "kind": "holding", "address": 12, "type": "bit", "bit": 3, "writable": True},
    {"name": "setpoint", "kind": "holding", "address": 13, "writable": True},
    {"name": "total", "kind": "holding", "address": 20, "type": "uint32", "writable": True},
    {"name": "pump_on", "kind": "coil", "address": 5, "writable": True},
]
WRITES = {"alarm_bit": True, "setpoint": 640, "total": 100000, "pump_on": False}


async def test_a_write_answer_echoing_another_address_is_a_failed_write() -> None:
    async with rogue_server("good") as rogue:
        store, task = await start(
            source({"host": "127.0.0.1", "port": rogue.port, "points": WRITABLE_POINTS})
        )
        try:
            await eventually(
                lambda: all(quality(store, tag) == Quality.Good for tag in WRITES), within=WITHIN_S
            )
            rogue.mode = "wrong_echo"
            for tag, value in WRITES.items():
                assert await store.write(tag, value) == Quality.BadCommunicationError, tag
            rogue.mode = "good"
            for tag, value in WRITES.items():
                assert await store.write(tag, value) == Quality.Good, tag
        finally:
            await stop(task)


async def test_a_bit_is_not_written_back_into_a_register_read_from_the_wrong_table() -> None:
    async with rogue_server("good") as rogue:
        store, task = await start(
            source({"host": "127.0.0.1", "port": rogue.port, "points": WRITABLE_POINTS})
        )
        try:
            await eventually(lambda: quality(store, "alarm_bit") == Quality.Good, within=WITHIN_S)
            rogue.mode = "swapped_function"
            writes = rogue.writes
            assert await store.write("alarm_bit", True) == Quality.BadCommunicationError
            assert rogue.writes == writes
        finally:
            await stop(task)
