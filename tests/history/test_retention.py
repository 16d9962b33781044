"""The history keeps readings for the retention span, and never outgrows its size cap."""

from __future__ import annotations

from pathlib import Path

from edge_agent.history.database import size_on_disk
from edge_agent.quality import Quality
from edge_agent.tags import Reading, now_ns
from tests.support.history import history_config, running_store

A_DAY_NS = 86_400 * 10**9


async def test_readings_older_than_the_retention_span_are_deleted(tmp_path: Path) -> None:
    now = now_ns()
    async with running_store(history_config(tmp_path, retain="30d")) as store:
        store.append(Reading("speed", 1, Quality.Good, now - 9 * A_DAY_NS))
        store.append(Reading("speed", 2, Quality.Good, now - 8 * A_DAY_NS))
        store.append(Reading("speed", 3, Quality.Good, now - 6 * A_DAY_NS))

    async with running_store(history_config(tmp_path, retain="7d")) as store:
        store.append(Reading("speed", 4, Quality.Good, now))
        assert await store.flush()

        assert [r.value for r in await store.read("speed")] == [3, 4]


async def test_the_file_and_its_log_stay_within_the_size_cap(tmp_path: Path) -> None:
    config = history_config(tmp_path, max_size="1MB")
    start = now_ns() - A_DAY_NS
    largest = 0
    async with running_store(config) as store:
        # About 3 MB of readings in all, as a device would send them: ten tags, a batch per flush.
        for batch in range(120):
            for n in range(400):
                number = batch * 400 + n
                store.append(Reading(f"tag{n % 10}", float(number), Quality.Good, start + number * 1000))
            assert await store.flush()
            largest = max(largest, size_on_disk(config.database))

        kept = [r.value for tag in range(10) for r in await store.read(f"tag{tag}")]

    assert largest <= config.max_size
    assert 47_999.0 in kept and 0.0 not in kept
    # The newest readings are kept, without gaps, and the cap is put to use: a reading takes some 60 bytes
    # on disk with its share of the index, so 1 MB holds over ten thousand.
    assert sorted(kept) == [float(n) for n in range(48_000 - len(kept), 48_000)]
    assert len(kept) > 10_000
