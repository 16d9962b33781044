"""Readings recorded to the history file come back as they went in, across restarts."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from edge_agent.quality import Quality
from edge_agent.tags import Reading, TagInfo, TagValue, now_ns
from edge_agent.tagstore import TagStore
from tests.support.history import history_config, running_store

AN_HOUR_NS = 3600 * 10**9


def readings_of(tag: str, values: list[TagValue | None], start_ns: int) -> list[Reading]:
    return [
        Reading(tag, value, Quality.Good, start_ns + n * 1000, start_ns + n * 1000 + 7)
        for n, value in enumerate(values)
    ]


async def test_every_kind_of_value_comes_back_with_its_type(tmp_path: Path) -> None:
    values: list[TagValue | None] = [
        True,
        False,
        0,
        1,
        -(2**63),
        2**63 - 1,
        2**80,
        0.0,
        -0.0,
        1.0,
        3.25,
        math.inf,
        "",
        "running",
        "Drehzahl 1450 1/min, Temperatur 21,5 °C ✓",
        "\udcff not UTF-8",
    ]
    written = readings_of("mixed", values, now_ns() - AN_HOUR_NS)
    async with running_store(history_config(tmp_path)) as store:
        for reading in written:
            store.append(reading)
        assert await store.flush()

        read = await store.read("mixed")

    assert read == written
    assert [type(r.value) for r in read] == [type(value) for value in values]
    assert math.copysign(1, read[values.index(-0.0, 8)].value) == -1  # type: ignore[arg-type]


async def test_nan_and_a_bad_reading_without_a_value_come_back(tmp_path: Path) -> None:
    start = now_ns() - AN_HOUR_NS
    async with running_store(history_config(tmp_path)) as store:
        store.append(Reading("level", math.nan, Quality.UncertainLastUsableValue, start, start + 1))
        store.append(Reading("level", None, Quality.BadNoCommunication, start + 10, start + 11))
        assert await store.flush()

        nan, nothing = await store.read("level")

    assert isinstance(nan.value, float) and math.isnan(nan.value)
    assert nan.quality is Quality.UncertainLastUsableValue
    assert nothing == Reading("level", None, Quality.BadNoCommunication, start + 10, start + 11)


async def test_the_history_file_is_in_wal_mode(tmp_path: Path) -> None:
    config = history_config(tmp_path)
    async with running_store(config):
        pass

    with sqlite3.connect(config.database) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_readings_recorded_before_a_restart_are_there_after_it(tmp_path: Path) -> None:
    config = history_config(tmp_path)
    before = readings_of("speed", [1200, 1300, 1400], now_ns() - AN_HOUR_NS)
    async with running_store(config) as store:
        for reading in before:
            store.append(reading)

    async with running_store(config) as store:
        after = readings_of("speed", [1500], now_ns())
        store.append(after[0])
        assert await store.flush()

        assert await store.read("speed") == before + after


async def test_a_reading_is_committed_once_flush_returns(tmp_path: Path) -> None:
    async with running_store(history_config(tmp_path, flush_interval="1m")) as store:
        for reading in readings_of("speed", list(range(10)), now_ns()):
            store.append(reading)
        assert store.committed == 0

        assert await store.flush()

        assert store.committed == 10
        assert store.queued == 0


async def test_a_read_takes_source_times_from_its_start_up_to_but_not_including_its_end(
    tmp_path: Path,
) -> None:
    start = now_ns() - AN_HOUR_NS
    async with running_store(history_config(tmp_path)) as store:
        for reading in readings_of("speed", list(range(10)), start):
            store.append(reading)
        assert await store.flush()

        read = await store.read("speed", start + 2000, start + 5000)

    assert [r.value for r in read] == [2, 3, 4]


async def test_a_reverse_read_gives_the_newest_first_up_to_max_values(tmp_path: Path) -> None:
    start = now_ns() - AN_HOUR_NS
    async with running_store(history_config(tmp_path)) as store:
        for reading in readings_of("speed", list(range(10)), start):
            store.append(reading)
        assert await store.flush()

        read = await store.read("speed", max_values=3, reverse=True)

    assert [r.value for r in read] == [9, 8, 7]


async def test_pages_go_on_where_the_last_one_stopped(tmp_path: Path) -> None:
    at = now_ns() - AN_HOUR_NS
    async with running_store(history_config(tmp_path)) as store:
        # The same source time for all: a page boundary falls among them.
        for n in range(7):
            store.append(Reading("speed", n, Quality.Good, at))
        assert await store.flush()

        first = await store.read_page("speed", max_values=3)
        second = await store.read_page("speed", max_values=3, after=first.next)
        third = await store.read_page("speed", max_values=3, after=second.next)

    assert [[r.value for r in page.readings] for page in (first, second, third)] == [
        [0, 1, 2],
        [3, 4, 5],
        [6],
    ]
    assert third.next is None


async def test_only_the_configured_tags_are_recorded(tmp_path: Path) -> None:
    start = now_ns()
    async with running_store(history_config(tmp_path, tags=["speed"])) as store:
        store.append(Reading("speed", 1450, Quality.Good, start))
        store.append(Reading("door_open", True, Quality.Good, start))
        assert await store.flush()

        assert [r.value for r in await store.read("speed")] == [1450]
        assert await store.read("door_open") == []


async def test_the_store_records_what_the_tag_store_publishes(tmp_path: Path) -> None:
    tags = TagStore([TagInfo("speed", "plc", "int")])
    async with running_store(history_config(tmp_path)) as store:
        tags.listen(store.append)
        tags.publish(Reading("speed", 1450))
        tags.publish(Reading("speed", None, Quality.BadTimeout))
        assert await store.flush()

        read = await store.read("speed")

    # The tag store keeps the last value next to a bad status; the history records what it stored.
    assert [(r.value, r.quality) for r in read] == [(1450, Quality.Good), (1450, Quality.BadTimeout)]
    assert all(r.server_time_ns > 0 for r in read)
