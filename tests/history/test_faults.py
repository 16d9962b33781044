"""A history that cannot be written never gets in the way of live data, and gets back on its feet."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge_agent.quality import Quality
from edge_agent.tags import Reading, TagInfo, now_ns
from edge_agent.tagstore import TagStore
from tests.support.history import disk_full, history_config, running_store
from tests.support.waiting import eventually

SPEED = TagInfo("speed", "plc", "int")


def moved_aside(directory: Path) -> list[Path]:
    return list(directory.glob("history.sqlite.corrupt-*"))


def errors_from_history(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("edge_agent.history") and record.levelno >= logging.ERROR
    ]


async def test_a_full_disk_is_reported_once_and_the_readings_wait_for_space(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = history_config(tmp_path)
    tags = TagStore([SPEED])
    async with running_store(config) as store:
        tags.listen(store.append)
        tags.publish(Reading("speed", 0))
        assert await store.flush()

        with disk_full():
            for value in range(1, 101):
                tags.publish(Reading("speed", value))
            await eventually(lambda: store.fault is not None)
            for _ in range(3):
                assert not await store.flush()

            assert tags.current("speed").value == 100
            assert str(config.database) in (store.fault or "")
            assert store.queued == 100
            assert len(errors_from_history(caplog)) == 1

        assert await store.flush()
        assert store.fault is None
        assert [r.value for r in await store.read("speed")] == list(range(101))


async def test_while_the_disk_is_full_the_oldest_queued_readings_make_room(tmp_path: Path) -> None:
    config = history_config(tmp_path)
    start = now_ns()
    async with running_store(config, max_queued=50) as store:
        store.append(Reading("speed", 0, Quality.Good, start))
        assert await store.flush()

        with disk_full():
            for value in range(1, 81):
                store.append(Reading("speed", value, Quality.Good, start + value))
            await eventually(lambda: store.fault is not None)

        assert await store.flush()
        assert store.dropped == 30
        assert [r.value for r in await store.read("speed")] == [0, *range(31, 81)]


async def test_a_corrupt_file_is_moved_aside_and_a_new_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = history_config(tmp_path)
    garbage = b"these bytes are no SQLite database " * 200
    config.database.write_bytes(garbage)

    async with running_store(config) as store:
        store.append(Reading("speed", 1450))
        assert await store.flush()

        assert store.fault is None
        assert [r.value for r in await store.read("speed")] == [1450]
    (aside,) = moved_aside(tmp_path)
    assert aside.read_bytes() == garbage
    assert any(str(aside) in message for message in errors_from_history(caplog))


async def test_a_file_found_corrupt_while_writing_is_moved_aside_too(tmp_path: Path) -> None:
    config = history_config(tmp_path)
    async with running_store(config) as store:
        store.append(Reading("speed", 1))
    # Everything but the first page (the schema) is overwritten: the next write reads a damaged page.
    with config.database.open("r+b") as file:
        size = file.seek(0, 2)
        file.seek(4096)
        file.write(b"\xa5" * (size - 4096))

    async with running_store(config) as store:
        store.append(Reading("speed", 2))
        assert await store.flush()

        assert [r.value for r in await store.read("speed")] == [2]
    assert len(moved_aside(tmp_path)) == 1
