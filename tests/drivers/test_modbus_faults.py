"""Devices that misbehave: the agent stays up, a healthy neighbour keeps its pace, and the faulty device's
tags go Bad, then Good again within 2 s of it answering properly."""

from __future__ import annotations

import asyncio

import pytest

from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.waiting import eventually

from .modbus_peers import Tables, pty_pair, pymodbus_rtu, pymodbus_tcp
from .modbus_running import source, start, stop
from .rogue_modbus import rogue_server

POLL_S = 0.05
RECOVERY_S = 2.0
POINTS = [
    {"name": "level", "kind": "input", "address": 3},
    {"name": "pressure", "kind": "holding", "address": 7},
]
HEALTHY_POINTS = [{"name": "healthy", "kind": "holding", "address": 0}]


def quality(store: TagStore, tag: str) -> Quality:
    return store.current(tag).quality


@pytest.mark.parametrize(
    "mode", ["garbage", "wrong_tid", "truncated", "oversized", "wrong_function", "exception", "silent"]
)
async def test_a_misbehaving_device_goes_bad_alone_and_recovers_within_2_s(mode: str) -> None:
    tables = Tables()
    tables.holding[0] = 11
    async with rogue_server("good") as rogue, pymodbus_tcp({1: tables}) as healthy_port:
        faulty_source = source({"host": "127.0.0.1", "port": rogue.port, "poll": "50ms", "points": POINTS})
        healthy_source = source(
            {"host": "127.0.0.1", "port": healthy_port, "poll": "50ms", "points": HEALTHY_POINTS}
        )
        faulty_store, faulty_task = await start(faulty_source)
        healthy_store, healthy_task = await start(healthy_source)
        try:
            await eventually(lambda: quality(faulty_store, "level") == Quality.Good)
            assert faulty_store.current("level").value == 1003

            rogue.mode = mode
            await eventually(lambda: quality(faulty_store, "level").is_bad, within=5)
            (healthy_poller,) = healthy_source.pollers
            healthy_qualities: list[Quality] = []
            healthy_store.listen(lambda reading: healthy_qualities.append(reading.quality))
            cycles_before = healthy_poller.cycles
            # The neighbour keeps being polled while the device misbehaves (counted, not timed).
            await eventually(lambda: healthy_poller.cycles >= cycles_before + 10, within=30)
            assert quality(faulty_store, "level").is_bad
            assert quality(healthy_store, "healthy") == Quality.Good
            assert all(q == Quality.Good for q in healthy_qualities), healthy_qualities
            assert not faulty_task.done() and not healthy_task.done()

            rogue.mode = "good"
            await eventually(lambda: quality(faulty_store, "level") == Quality.Good, within=RECOVERY_S + 0.5)
            assert faulty_store.current("pressure").value == 7
        finally:
            await stop(faulty_task)
            await stop(healthy_task)


async def test_a_device_answering_near_its_timeout_is_read_and_slows_nobody_else() -> None:
    tables = Tables()
    async with rogue_server("slow", delay=0.2) as rogue, pymodbus_tcp({1: tables}) as healthy_port:
        slow_source = source({"host": "127.0.0.1", "port": rogue.port, "timeout": "300ms", "points": POINTS})
        healthy_source = source({"host": "127.0.0.1", "port": healthy_port, "points": HEALTHY_POINTS})
        slow_store, slow_task = await start(slow_source)
        _, healthy_task = await start(healthy_source)
        try:
            await eventually(lambda: quality(slow_store, "level") == Quality.Good, within=5)
            (healthy_poller,) = healthy_source.pollers
            (slow_poller,) = slow_source.pollers
            healthy_before, slow_before = healthy_poller.cycles, slow_poller.cycles
            await eventually(lambda: slow_poller.cycles >= slow_before + 3, within=30)
            # Each slow answer takes 0.2 s, four of the neighbour's periods: it was polled meanwhile.
            assert healthy_poller.cycles >= healthy_before + 3
            assert quality(slow_store, "level") == Quality.Good
        finally:
            await stop(slow_task)
            await stop(healthy_task)


@pytest.mark.slow
async def test_a_device_down_for_long_is_read_again_within_2_s_of_its_return() -> None:
    async with rogue_server("silent") as rogue:
        faulty_source = source(
            {"host": "127.0.0.1", "port": rogue.port, "timeout": "100ms", "points": POINTS}
        )
        store, task = await start(faulty_source)
        try:
            await eventually(lambda: quality(store, "level").is_bad, within=5)
            await asyncio.sleep(8)  # long enough for any doubling backoff to grow far past 2 s
            rogue.mode = "good"
            await eventually(lambda: quality(store, "level") == Quality.Good, within=RECOVERY_S + 0.5)
        finally:
            await stop(task)


async def test_line_noise_on_an_rtu_bus_never_gives_a_wrong_good_value_and_passes() -> None:
    tables = Tables()
    tables.holding[7] = 4242
    tables.input[3] = 1717
    wrong: list[object] = []
    with pty_pair() as pair:
        async with pymodbus_rtu({1: tables}, pair.ends[0]):
            src = source(
                {"transport": "rtu", "port": pair.ends[1], "baudrate": 19200, "parity": "N", "unit": 1,
                 "timeout": "200ms", "points": POINTS}
            )  # fmt: skip
            store, task = await start(src)

            def check(reading: Reading) -> None:
                expected = {"level": 1717, "pressure": 4242}[reading.tag]
                if reading.quality == Quality.Good and reading.value != expected:
                    wrong.append(reading)

            store.listen(check)
            try:
                await eventually(lambda: quality(store, "level") == Quality.Good, within=10)
                pair.noise = 0.3
                await asyncio.sleep(3)
                assert pair.corrupted >= 3 and not task.done()
                pair.noise = 0.0
                await eventually(
                    lambda: quality(store, "level") == quality(store, "pressure") == Quality.Good,
                    within=RECOVERY_S + 1,
                )
            finally:
                await stop(task)
    assert wrong == []  # the CRC caught every corrupted frame
