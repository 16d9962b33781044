"""The store-and-forward queue on real SQLite files: order, acks, its bound, exact values, and its faults."""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.history import database, retention
from edge_agent.quality import Quality
from edge_agent.sparkplug.outbox import (
    AsyncOutbox,
    Outbox,
    OutboxUnavailableError,
    QueuedReading,
    record_size,
)
from edge_agent.tags import Reading, TagValue
from tests.support.history import disk_full

from .killed_process import DEVICE, TAG, lines_until_killed

T0 = 1_700_000_000_000_000_000


def reading(value: TagValue | None, n: int = 0, *, tag: str = "speed", device: str = "plc") -> QueuedReading:
    return QueuedReading(tag, value, Quality.Good, T0 + n, device)


def counting(start: int, stop: int) -> list[QueuedReading]:
    """Readings of one tag whose values (and times) count from ``start`` to ``stop - 1``."""
    return [reading(n, n) for n in range(start, stop)]


def values(outbox: Outbox) -> list[TagValue | None]:
    return [queued.value for _, queued in outbox.peek(1_000_000)]


@contextlib.contextmanager
def opened(path: Path, *, max_bytes: int = 2**20) -> Iterator[Outbox]:
    outbox = Outbox(path, max_bytes=max_bytes)
    try:
        yield outbox
    finally:
        outbox.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "outbox.sqlite"


def errors_from_outbox(caplog: pytest.LogCaptureFixture, level: int = logging.ERROR) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "edge_agent.sparkplug.outbox" and record.levelno == level
    ]


def test_records_come_back_oldest_first_with_their_ids_across_restarts(path: Path) -> None:
    with opened(path) as outbox:
        first = outbox.append(counting(0, 100))
        second = outbox.append(counting(100, 150))
        assert (first, second) == (100, 150)
    with opened(path) as outbox:
        assert outbox.append(counting(150, 160)) == 160
    with opened(path) as outbox:
        queued = outbox.peek(1000)
        assert [row_id for row_id, _ in queued] == list(range(1, 161))
        assert [r.value for _, r in queued] == list(range(160))
        assert queued[5][1] == reading(5, 5)
        assert len(outbox) == outbox.pending == 160
        assert outbox.oldest_ns == T0


def test_peek_reads_a_limited_page_after_an_id(path: Path) -> None:
    with opened(path) as outbox:
        outbox.append(counting(0, 10))

        assert [row_id for row_id, _ in outbox.peek(3)] == [1, 2, 3]
        assert [row_id for row_id, _ in outbox.peek(3, after=3)] == [4, 5, 6]
        assert outbox.peek(3, after=10) == []
        assert len(outbox) == 10


def test_ack_deletes_what_was_delivered_and_no_more(path: Path) -> None:
    with opened(path) as outbox:
        outbox.append(counting(0, 10))
        full = outbox.queued_bytes

        assert outbox.ack(4) == 4
        assert values(outbox) == list(range(4, 10))
        assert (len(outbox), outbox.oldest_ns) == (6, T0 + 4)
        assert outbox.queued_bytes == full * 6 // 10
        assert outbox.ack(4) == 0
        assert outbox.ack(1000) == 6
        assert (len(outbox), outbox.oldest_ns, outbox.queued_bytes) == (0, None, 0)
    with opened(path) as outbox:
        assert (len(outbox), outbox.oldest_ns, outbox.queued_bytes) == (0, None, 0)


def test_ids_are_never_handed_out_twice_so_that_a_late_ack_deletes_nothing_new(path: Path) -> None:
    with opened(path) as outbox:
        outbox.append(counting(0, 5))
        outbox.ack(5)
    with opened(path) as outbox:
        assert outbox.append(counting(5, 7)) == 7
        # An ack for ids read before the queue was emptied.
        assert outbox.ack(5) == 0
        assert values(outbox) == [5, 6]


EXACT_VALUES: list[TagValue | None] = [
    0,
    1,
    -1,
    2**31,
    2**63 - 1,
    -(2**63),
    2**63,
    2**64 - 1,
    -(2**64),
    0.0,
    -0.0,
    1.5,
    1e308,
    5e-324,
    math.inf,
    -math.inf,
    True,
    False,
    "",
    "running",
    "Drücke 25 °C, 温度 🌡",
    "lone \udc80 surrogate",
    "x" * 10_000,
    None,
]


def same(a: TagValue | None, b: TagValue | None) -> bool:
    """Equal and of the same type; floats bit for bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    return a == b


def test_values_come_back_exactly_as_they_were_appended(path: Path) -> None:
    with opened(path) as outbox:
        outbox.append(reading(value, n) for n, value in enumerate(EXACT_VALUES))
    with opened(path) as outbox:
        got = values(outbox)

    assert len(got) == len(EXACT_VALUES)
    mismatches = [(want, back) for want, back in zip(EXACT_VALUES, got, strict=True) if not same(want, back)]
    assert mismatches == []


def test_nan_comes_back_as_nan(path: Path) -> None:
    with opened(path) as outbox:
        outbox.append([reading(math.nan)])
        (back,) = values(outbox)
    assert isinstance(back, float)
    assert math.isnan(back)


def test_the_rest_of_a_reading_comes_back_too(path: Path) -> None:
    source = Reading("temperature", 21.5, Quality.BadSensorFailure, T0 + 7)
    with opened(path) as outbox:
        outbox.append([QueuedReading.of(source, "line1/press"), QueuedReading("uptime", 3, 0, 1)])
        (_, first), (_, second) = outbox.peek(10)
    assert first == QueuedReading("temperature", 21.5, int(Quality.BadSensorFailure), T0 + 7, "line1/press")
    assert second == QueuedReading("uptime", 3, 0, 1, "")


def test_when_full_the_oldest_records_make_room_and_are_counted_across_restarts(path: Path) -> None:
    cap = 50 * record_size(reading(0))
    with opened(path, max_bytes=cap) as outbox:
        outbox.append(counting(0, 30))
        outbox.append(counting(30, 60))

        assert (len(outbox), outbox.evicted) == (50, 10)
        assert values(outbox) == list(range(10, 60))
        assert outbox.oldest_ns == T0 + 10
        assert outbox.queued_bytes == cap
    with opened(path, max_bytes=cap) as outbox:
        assert (len(outbox), outbox.evicted, outbox.queued_bytes) == (50, 10, cap)
        outbox.append(counting(60, 65))
        assert outbox.evicted == 15
    with opened(path, max_bytes=cap) as outbox:
        assert outbox.evicted == 15
        assert values(outbox) == list(range(15, 65))


def test_eviction_frees_the_bytes_a_new_record_needs_whatever_the_sizes(path: Path) -> None:
    small, large = reading("x"), reading("x" * 500)
    assert record_size(large) > 13 * record_size(small)
    cap = 20 * record_size(small) + record_size(large)
    with opened(path, max_bytes=cap) as outbox:
        outbox.append([small] * 20)
        outbox.append([large])
        outbox.append([large])

        assert [r for _, r in outbox.peek(100)] == [small] * 6 + [large] * 2
        assert outbox.evicted == 14
        assert outbox.queued_bytes <= cap


def test_a_batch_larger_than_the_cap_keeps_its_newest_records(path: Path) -> None:
    cap = 20 * record_size(reading(0))
    with opened(path, max_bytes=cap) as outbox:
        outbox.append(counting(0, 5))
        # Ids are handed out to what is stored: 6 to 25 for the 20 kept.
        assert outbox.append(counting(5, 35)) == 25

        assert values(outbox) == list(range(15, 35))
        assert outbox.evicted == 15


def test_a_lowered_cap_is_kept_from_the_next_open_on(path: Path) -> None:
    size = record_size(reading(0))
    with opened(path, max_bytes=1000 * size) as outbox:
        outbox.append(counting(0, 100))
    with opened(path, max_bytes=40 * size) as outbox:
        assert (len(outbox), outbox.evicted) == (40, 60)
        assert values(outbox) == list(range(60, 100))


def test_the_file_stays_near_its_cap_while_records_come_and_go(path: Path) -> None:
    cap = 200_000
    with opened(path, max_bytes=cap) as outbox:
        for start in range(0, 20_000, 100):
            outbox.append(
                reading(f"value {n}", n, tag=f"line1/press{n % 10}/temperature")
                for n in range(start, start + 100)
            )
            if start % 1000 == 0:
                outbox.ack(outbox.peek(50)[-1][0])
            assert database.size_on_disk(path) <= 1.1 * cap + retention.log_limit(cap) + 16 * 4096
        assert outbox.evicted > 0


def test_a_full_disk_drops_what_is_appended_logs_once_and_counts_it(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with opened(path) as outbox:
        outbox.append(counting(0, 10))
        conn = outbox._conn  # the only way to a connection's max_page_count
        assert conn is not None
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")

        for start in range(10, 40, 10):
            assert outbox.append(reading("x" * 2000, n) for n in range(start, start + 10)) is None

        assert outbox.dropped_disk_full == 30
        assert outbox.fault is not None
        assert "disk full" in outbox.fault
        assert len(errors_from_outbox(caplog)) == 1
        assert values(outbox) == list(range(10))

        conn.execute("PRAGMA max_page_count = 1000000")
        assert outbox.append(counting(40, 41)) == 11
        assert outbox.fault is None
        assert len(errors_from_outbox(caplog, logging.WARNING)) == 1
    with opened(path) as outbox:
        assert outbox.dropped_disk_full == 30
        assert values(outbox) == [*range(10), 40]


def test_a_file_that_cannot_be_written_drops_what_is_appended_and_recovers(path: Path) -> None:
    with opened(path) as outbox:
        outbox.append(counting(0, 1))

        with disk_full():
            dropped = outbox.append(reading("x" * 1000, n) for n in range(1, 201))

        assert dropped is None
        assert outbox.dropped_write_failed == 200
        assert outbox.append(counting(201, 202)) == 2
        assert values(outbox) == [0, 201]
    with opened(path) as outbox:
        assert outbox.dropped_write_failed == 200


def test_a_corrupt_file_is_moved_aside_and_a_new_queue_started(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = b"these bytes are no SQLite database " * 200
    path.write_bytes(garbage)

    with opened(path) as outbox:
        assert len(outbox) == 0
        assert outbox.append(counting(0, 3)) == 3
        assert values(outbox) == [0, 1, 2]

    (aside,) = path.parent.glob("outbox.sqlite.corrupt-*")
    assert aside.read_bytes() == garbage
    assert any(str(aside) in message for message in errors_from_outbox(caplog))


def test_a_file_found_corrupt_while_reading_is_moved_aside_and_ids_go_on(path: Path) -> None:
    with opened(path, max_bytes=10 * 2**20) as outbox:
        for start in range(0, 2000, 100):
            outbox.append(reading(f"{n:06d}" + "x" * 100, n) for n in range(start, start + 100))
    # The second half of the file (the newest records) is overwritten: the schema, the totals and the
    # oldest records can be read, the newest cannot.
    with path.open("r+b") as file:
        size = file.seek(0, 2)
        file.seek(size // 2 // 4096 * 4096)
        file.write(b"\xa5" * (size - file.tell()))

    with opened(path, max_bytes=10 * 2**20) as outbox:
        assert len(outbox) == 2000
        assert outbox.peek(5000) == []

        assert len(list(path.parent.glob("outbox.sqlite.corrupt-*"))) == 1
        assert len(outbox) == 0
        assert outbox.append(counting(0, 1)) == 2001
        assert values(outbox) == [0]


def test_an_ack_the_file_cannot_take_raises_unavailable_and_keeps_the_records(path: Path) -> None:
    with opened(path) as outbox:
        outbox.append(counting(0, 1))
        conn = outbox._conn
        assert conn is not None
        conn.execute("PRAGMA query_only = ON")

        with pytest.raises(OutboxUnavailableError):
            outbox.ack(1)

        # Read on a new connection (without query_only): the record is still there, to be sent again.
        assert values(outbox) == [0]
        assert outbox.ack(1) == 1


def test_every_acknowledged_record_survives_a_kill_in_order(path: Path) -> None:
    lines = lines_until_killed("outbox", path, at_least=30)

    last_id, acknowledged = (int(word) for word in lines[-1].split()[1:])
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with opened(path, max_bytes=100 * 2**20) as outbox:
        queued = outbox.peek(10_000_000)
        assert len(outbox) == len(queued)
    assert [row_id for row_id, _ in queued][:last_id] == list(range(1, last_id + 1))
    got = [r.value for _, r in queued]
    assert got[:acknowledged] == list(range(acknowledged))
    # And nothing else: whatever made it past the last acknowledgement continues the count.
    assert got == list(range(len(got)))
    assert {(r.tag, r.device) for _, r in queued} == {(TAG, DEVICE)}


async def test_the_async_outbox_does_its_work_in_a_thread_of_its_own(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    append = Outbox.append

    def recording_append(self: Outbox, readings: list[QueuedReading]) -> int | None:
        threads.add(threading.current_thread().name)
        return append(self, readings)

    monkeypatch.setattr(Outbox, "append", recording_append)

    outbox = await AsyncOutbox.open(path, max_bytes=2**20)
    try:
        assert await outbox.append(iter(counting(0, 10))) == 10
        assert await outbox.append(counting(10, 20)) == 20
        page = await outbox.peek(5, after=2)
        assert [row_id for row_id, _ in page] == [3, 4, 5, 6, 7]
        assert await outbox.ack(page[-1][0]) == 7
        assert (len(outbox), outbox.pending, outbox.oldest_ns) == (13, 13, T0 + 7)
        assert (outbox.evicted, outbox.dropped_disk_full, outbox.fault) == (0, 0, None)
    finally:
        await outbox.close()

    assert len(threads) == 1
    assert threading.current_thread().name not in threads
    with opened(path) as reopened:
        assert values(reopened) == list(range(7, 20))
