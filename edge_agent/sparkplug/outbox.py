"""Store and forward: readings kept on disk while the edge node cannot publish them.

While the MQTT broker or the Sparkplug primary host is away, the node appends its readings here; once the
session is back it reads them back oldest first (``peek``), publishes them with ``is_historical`` set, and
deletes what the broker took (``ack``).

Durability: ``append`` returns once its transaction is committed with ``synchronous = FULL``, which in WAL
mode fsyncs the write-ahead log at every commit: an acknowledged record survives the process being killed
and the power being cut. (NORMAL would survive a kill only: it syncs at checkpoints, and a power cut may
take back the commits since the last one.) A record is stored once; its id is its place in the queue.

Delivery is at least once: a record published but not yet acked when the process dies (or the power goes,
or ``ack`` fails) is published again after the restart. Readers of the historical data must accept
duplicates; the source timestamp tells them apart from a new reading.

Bound: ``max_bytes`` caps the size of the queued records, counted as each record's names and value in
bytes plus a fixed share for the rest of its row (``record_size``). A running total is kept in the file
with the records, in the same transactions, so that the cap is kept exactly, and opening the file takes
as long whatever the queue holds. When an append would go over the cap, the oldest records are deleted in
the same transaction and counted in ``evicted``; that total is kept in the file too, across restarts.
Once full, the file comes to 0.7 to 1.05 times ``max_bytes`` (measured: rows of short names and numbers
take less than they count, rows of long strings a little more), plus its write-ahead log, folded back
into the file once it holds 5 % of the cap (or one append, if that is more). Pages freed by acks stay in
the file for the next outage; a file left larger than the cap (after the cap was lowered) is shrunk at
open.

Encoding: the value is stored as the SQLite value the history uses (``edge_agent.history.codec``): a kind
code plus an INTEGER, REAL, TEXT or BLOB, so it comes back exactly: bools as bools, ints to 64 bits as
INTEGER and beyond (uint64) as their decimal text, floats bit for bit but NaN (stored as NULL: any NaN
comes back as the one ``math.nan``), strings (lone surrogates too, as their bytes) and None.

Faults: when the file cannot be written (disk full, I/O error, read-only file system), ``append`` does not
raise: the batch is dropped and counted in ``dropped_disk_full`` or ``dropped_write_failed``, the fault is
logged at ERROR once per episode (and at WARNING when writing works again), and live data goes on. These
counts are written to the file with the next transaction that succeeds. ``peek`` and ``ack`` raise
``OutboxUnavailableError`` instead: their caller, the replay, stops and tries again later. A file found
corrupt at open or later is moved aside as ``<name>.corrupt-<UTC time>`` (with its log), as the history
does, and a new, empty queue started in its place; ids go on from the last one handed out.

Threads: an ``Outbox`` is used from the thread that opened it. ``AsyncOutbox`` runs one in a thread of its
own, so that the event loop never waits for an fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import functools
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from ..history import codec, database, retention
from ..identity.layout import sync_directory
from ..tags import Reading, TagValue

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION: Final = 1

# A record's row beyond its names and value: the row's header, its id, time, quality, kind and size, and
# the cell's place in its page; measured on readings of a float with a status, in a queue at its cap.
ROW_OVERHEAD: Final = 32
# A file over this many times its cap (written under a larger one) gives its free pages back at open.
SHRINK_ABOVE: Final = 1.25

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    -- AUTOINCREMENT: an id is never handed out twice, not even once the queue has been emptied, so that
    -- an ack for records read before can never delete records appended since.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    tag TEXT NOT NULL,
    source_time_ns INTEGER NOT NULL,
    quality INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    -- No declared type: SQLite keeps each value as the INTEGER, REAL, TEXT or BLOB it was given.
    value,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

_INSERT = (
    "INSERT INTO records (device, tag, source_time_ns, quality, kind, value, size)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SAVE_TOTAL = (
    "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)

_Row = tuple[str, str, int, int, int, codec.StoredValue, int]


class OutboxUnavailableError(RuntimeError):
    """The queue cannot be read or changed now; the message says why."""


@dataclass(frozen=True, slots=True)
class QueuedReading:
    """A reading waiting to be published: of tag ``tag`` of the Sparkplug device ``device`` (the agent's
    source it comes from; "" for a metric of the edge node itself)."""

    tag: str
    value: TagValue | None
    quality: int
    source_time_ns: int
    device: str = ""

    @classmethod
    def of(cls, reading: Reading, device: str = "") -> QueuedReading:
        return cls(reading.tag, reading.value, int(reading.quality), reading.source_time_ns, device)


def record_size(reading: QueuedReading) -> int:
    """The bytes a record counts against ``max_bytes``."""
    return _stored_size(reading, codec.encode(reading.value)[1])


@dataclass(frozen=True, slots=True)
class _Totals:
    """What the file holds besides the records; saved in its ``meta`` table with every transaction."""

    records: int = 0
    bytes: int = 0
    evicted: int = 0
    dropped_disk_full: int = 0
    dropped_write_failed: int = 0


class Outbox:
    """A bounded on-disk queue of readings (see the module); used from the thread that made it.

    Opening never raises for the disk's faults either: the queue then starts as a fault, and the file is
    tried again at the next call.
    """

    def __init__(self, path: Path, *, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        self._path = path
        self._max_bytes = max_bytes
        self._wal_limit = retention.log_limit(max_bytes)
        self._conn: sqlite3.Connection | None = None
        # What the file holds (or will, with the next transaction: drops happen when it cannot be written).
        self._totals = _Totals()
        self._saved = _Totals()
        self._oldest_ns: int | None = None
        self._last_id = 0
        self._fault: str | None = None
        self._closed = False
        try:
            self._connection()
        except Exception as exc:
            if not database.is_storage_fault(exc):
                raise
            self._enter_fault(exc, dropped=0)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def pending(self) -> int:
        """Records queued."""
        return self._totals.records

    def __len__(self) -> int:
        return self._totals.records

    @property
    def queued_bytes(self) -> int:
        """What the queued records count against ``max_bytes`` (see ``record_size``)."""
        return self._totals.bytes

    @property
    def oldest_ns(self) -> int | None:
        """The source time of the record first in the queue; None when the queue is empty."""
        return self._oldest_ns

    @property
    def evicted(self) -> int:
        """Records deleted unsent to keep within ``max_bytes``, over the file's life."""
        return self._totals.evicted

    @property
    def dropped_disk_full(self) -> int:
        """Records never queued because the disk (or the file) was full, over the file's life."""
        return self._totals.dropped_disk_full

    @property
    def dropped_write_failed(self) -> int:
        """Records never queued because the file could not be written for another reason (I/O error,
        read-only file system), over the file's life."""
        return self._totals.dropped_write_failed

    @property
    def fault(self) -> str | None:
        """Why the last write failed, while it has not succeeded since; None while writing works."""
        return self._fault

    def append(self, readings: Iterable[QueuedReading]) -> int | None:
        """Queue ``readings`` after what is queued, in their order, and return once they are on disk.

        Returns the id of the last of them; None if none was queued: ``readings`` was empty, or the file
        could not be written (the batch is dropped and counted, see the module), or the batch was larger
        than ``max_bytes`` by its last record alone. A batch larger than ``max_bytes`` keeps its newest
        records that fit; the others count as evicted. Raises only for what can never be stored (a name
        that is not valid UTF-8, a time beyond 64 bits): a bug of the caller's.
        """
        self._check_open()
        rows = [_row(reading) for reading in readings]
        if not rows:
            return None
        try:
            last_id = self._on_file(lambda conn: self._insert(conn, rows), retry_on_new_file=True)
        except Exception as exc:
            if not database.is_storage_fault(exc):
                raise
            self._enter_fault(exc, dropped=len(rows))
            return None
        self._leave_fault()
        return last_id

    def peek(self, limit: int, *, after: int = 0) -> list[tuple[int, QueuedReading]]:
        """Up to ``limit`` queued records with ids above ``after``, oldest first, with their ids.

        Raises OutboxUnavailableError when the file cannot be read.
        """
        self._check_open()

        def select(conn: sqlite3.Connection) -> list[tuple[int, QueuedReading]]:
            rows = conn.execute(
                "SELECT id, device, tag, source_time_ns, quality, kind, value FROM records"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
            return [
                (row_id, QueuedReading(tag, codec.decode(kind, value), quality, source_ns, device))
                for row_id, device, tag, source_ns, quality, kind, value in rows
            ]

        try:
            return self._on_file(select, retry_on_new_file=False) or []
        except Exception as exc:
            if not database.is_storage_fault(exc):
                raise
            raise OutboxUnavailableError(f"cannot read the outbox {self._path}: {exc}") from exc

    def ack(self, up_to_id: int) -> int:
        """Delete the records with ids up to ``up_to_id``: they were delivered. Returns how many went.

        Records published but not acked yet when the process dies are published again after the restart:
        delivery is at least once, and a crash between a publish and its ack makes duplicates.
        Raises OutboxUnavailableError when the file cannot be written; the records stay queued and are
        sent again.
        """
        self._check_open()
        try:
            deleted = self._on_file(lambda conn: self._delete(conn, up_to_id), retry_on_new_file=False)
        except Exception as exc:
            if not database.is_storage_fault(exc):
                raise
            raise OutboxUnavailableError(f"cannot delete from the outbox {self._path}: {exc}") from exc
        return deleted or 0

    def close(self) -> None:
        """Close the file, saving drop counts not saved yet if it can be written."""
        if self._closed:
            return
        self._closed = True
        conn = self._conn
        if conn is None:
            return
        if self._totals != self._saved:
            try:
                self._transaction(conn, lambda: None)
            except Exception as exc:
                if not database.is_storage_fault(exc):
                    raise
                log.warning("outbox: could not save its drop counts to %s: %s", self._path, exc)
        self._disconnect()

    def _insert(self, conn: sqlite3.Connection, rows: Sequence[_Row]) -> int | None:
        rows, too_many = _newest_within(rows, self._max_bytes)
        incoming = sum(row[-1] for row in rows)
        last_id: int | None = None

        def work() -> None:
            nonlocal last_id
            evicted, freed = self._evict(conn, self._totals.bytes + incoming - self._max_bytes)
            if rows:
                conn.executemany(_INSERT, rows)
                last_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            self._totals = dataclasses.replace(
                self._totals,
                records=self._totals.records - evicted + len(rows),
                bytes=self._totals.bytes - freed + incoming,
                evicted=self._totals.evicted + evicted + too_many,
            )

        self._transaction(conn, work)
        if last_id is not None:
            self._last_id = last_id
        if too_many:
            log.warning(
                "outbox: a batch of %d records was larger than its %d bytes: kept the newest %d",
                too_many + len(rows),
                self._max_bytes,
                len(rows),
            )
        return last_id

    def _evict(self, conn: sqlite3.Connection, excess: int) -> tuple[int, int]:
        """Delete the oldest records that free at least ``excess`` bytes; how many went and their bytes."""
        if excess <= 0:
            return 0, 0
        count = freed = 0
        last: int | None = None
        cursor = conn.execute("SELECT id, size FROM records ORDER BY id")
        try:
            for row_id, size in cursor:
                count += 1
                freed += size
                last = row_id
                if freed >= excess:
                    break
        finally:
            cursor.close()
        if last is not None:
            conn.execute("DELETE FROM records WHERE id <= ?", (last,))
        return count, freed

    def _delete(self, conn: sqlite3.Connection, up_to_id: int) -> int:
        deleted = 0

        def work() -> None:
            nonlocal deleted
            deleted, freed = conn.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM records WHERE id <= ?", (up_to_id,)
            ).fetchone()
            if deleted:
                conn.execute("DELETE FROM records WHERE id <= ?", (up_to_id,))
                self._totals = dataclasses.replace(
                    self._totals, records=self._totals.records - deleted, bytes=self._totals.bytes - freed
                )

        self._transaction(conn, work)
        return deleted

    def _transaction(self, conn: sqlite3.Connection, work: Callable[[], None]) -> None:
        """Do ``work`` (which changes ``_totals``) and save the totals, in one transaction.

        ``_totals`` is what it was before when the transaction fails, so that it always says what the file
        holds, but for drops not saved yet.
        """
        before = self._totals
        conn.execute("BEGIN IMMEDIATE")
        try:
            work()
            conn.executemany(_SAVE_TOTAL, dataclasses.asdict(self._totals).items())
            # Read before the commit: once committed, nothing may fail that would make the caller think
            # the work was not done. (The first record may have been deleted, or just been appended.)
            oldest_ns = _oldest_ns(conn) if self._totals.records else None
            conn.execute("COMMIT")
        except BaseException:
            self._totals = before
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        self._saved = self._totals
        self._oldest_ns = oldest_ns

    def _on_file(self, work: Callable[[sqlite3.Connection], T], *, retry_on_new_file: bool) -> T | None:
        """Do ``work`` on the file. When it finds the file corrupt, the file is replaced by a new one, and
        ``work`` done again there with ``retry_on_new_file``; else the result is None."""
        conn = self._connection()
        try:
            return work(conn)
        except sqlite3.DatabaseError as exc:
            if not database.is_corrupt(exc):
                # A full disk leaves the connection as it was; after an I/O error or a file made
                # read-only, a new connection sees the file as it is now.
                if not _disk_full(exc):
                    self._disconnect()
                raise
            self._replace_corrupt(exc, lost=self._totals.records)
            return work(self._connection()) if retry_on_new_file else None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except sqlite3.DatabaseError as exc:
                # Setting up the file reads its header, schema and totals: damage there shows here.
                # Damage among the records shows when they are read or deleted (see _on_file).
                if not database.is_corrupt(exc):
                    raise
                self._replace_corrupt(exc, lost=None)
                self._conn = self._connect()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        created = not self._path.exists()
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=5.0)
        try:
            # Must come before the first table: an existing file keeps the mode it was created with.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("PRAGMA journal_mode = WAL")
            # Every commit is synced: an appended record is acknowledged as being on disk (see the module).
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute(f"PRAGMA cache_size = -{database.PAGE_CACHE_KB}")
            page_size: int = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA wal_autocheckpoint = {max(8, self._wal_limit // page_size)}")
            conn.execute(f"PRAGMA journal_size_limit = {self._wal_limit}")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if created:
                # SQLite syncs the directory for its log, not for the database file it creates.
                sync_directory(self._path.parent)
            self._load(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _load(self, conn: sqlite3.Connection) -> None:
        saved: dict[str, int] = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        known = {field.name for field in dataclasses.fields(_Totals)}
        on_file = _Totals(**{name: value for name, value in saved.items() if name in known})
        # Drops counted while the file could not be written (or before it was replaced) are not in it.
        self._totals = dataclasses.replace(
            on_file,
            evicted=max(on_file.evicted, self._totals.evicted),
            dropped_disk_full=max(on_file.dropped_disk_full, self._totals.dropped_disk_full),
            dropped_write_failed=max(on_file.dropped_write_failed, self._totals.dropped_write_failed),
        )
        self._saved = on_file
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        last_id = 0 if row is None else int(row[0])
        if last_id < self._last_id:
            # A new file in place of a corrupt one: its ids go on from those handed out already.
            if row is None:
                conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('records', ?)", (self._last_id,)
                )
            else:
                conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'records'", (self._last_id,))
        self._last_id = max(last_id, self._last_id)
        self._oldest_ns = _oldest_ns(conn) if self._totals.records else None
        try:
            self._fit_cap(conn)
        except Exception as exc:
            # Not needed to go on: appends keep to the cap whatever the file holds.
            if not database.is_storage_fault(exc) or database.is_corrupt(exc):
                raise
            log.warning(
                "outbox: could not fit %s to its cap of %d bytes: %s", self._path, self._max_bytes, exc
            )

    def _fit_cap(self, conn: sqlite3.Connection) -> None:
        """Bring a file written under a larger cap within this one."""
        if self._totals.bytes > self._max_bytes:
            evicted = 0

            def evict() -> None:
                nonlocal evicted
                evicted, freed = self._evict(conn, self._totals.bytes - self._max_bytes)
                self._totals = dataclasses.replace(
                    self._totals,
                    records=self._totals.records - evicted,
                    bytes=self._totals.bytes - freed,
                    evicted=self._totals.evicted + evicted,
                )

            self._transaction(conn, evict)
            log.warning(
                "outbox: deleted the %d oldest records of %s to fit its cap of %d bytes",
                evicted,
                self._path,
                self._max_bytes,
            )
        # Pages freed by acks are kept for the next outage, as long as the cap accounts for them.
        use = retention.page_use(conn)
        if use.file_bytes > SHRINK_ABOVE * self._max_bytes and use.free_pages:
            conn.execute(f"PRAGMA incremental_vacuum({use.free_pages})").fetchall()

    def _replace_corrupt(self, error: BaseException, *, lost: int | None) -> None:
        self._disconnect()
        aside = database.move_aside(self._path)
        self._totals = dataclasses.replace(self._totals, records=0, bytes=0)
        self._saved = _Totals()
        self._oldest_ns = None
        log.error(
            "outbox %s is corrupt (%s): moved it to %s and started an empty queue (%s records lost)",
            self._path,
            error,
            aside,
            "its" if lost is None else lost,
        )

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
        self._conn = None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the outbox {self._path} is closed")

    def _enter_fault(self, error: BaseException, *, dropped: int) -> None:
        full = _disk_full(error)
        if full:
            self._totals = dataclasses.replace(
                self._totals, dropped_disk_full=self._totals.dropped_disk_full + dropped
            )
        else:
            self._totals = dataclasses.replace(
                self._totals, dropped_write_failed=self._totals.dropped_write_failed + dropped
            )
        fault = f"{'disk full' if full else 'cannot write'}: {self._path}: {error}"
        if self._fault is None:
            log.error(
                "outbox: %s; dropping what is appended until the file can be written (%d records so far)",
                fault,
                dropped,
            )
        else:
            log.debug("outbox: still failing: %s", fault)
        self._fault = fault

    def _leave_fault(self) -> None:
        if self._fault is not None:
            log.warning(
                "outbox: writing to %s again; %d records dropped for a full disk, %d for other faults so far",
                self._path,
                self._totals.dropped_disk_full,
                self._totals.dropped_write_failed,
            )
            self._fault = None


class AsyncOutbox:
    """An ``Outbox`` for the event loop: its work is done in a thread of its own, one call at a time, in
    the order the calls were made. A call whose awaiting task is cancelled still runs to its end."""

    def __init__(self, outbox: Outbox, thread: ThreadPoolExecutor) -> None:
        self._outbox = outbox
        self._thread = thread

    @classmethod
    async def open(cls, path: Path, *, max_bytes: int) -> AsyncOutbox:
        # One thread for all work on the file: a connection is used in the thread that opened it, and a
        # file moved aside must have no other connection left open (closing one deletes the log by its
        # name, which would be the new file's).
        thread = ThreadPoolExecutor(1, thread_name_prefix="sparkplug-outbox")
        try:
            opening = functools.partial(Outbox, path, max_bytes=max_bytes)
            outbox = await asyncio.get_running_loop().run_in_executor(thread, opening)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(outbox, thread)

    @property
    def path(self) -> Path:
        return self._outbox.path

    @property
    def max_bytes(self) -> int:
        return self._outbox.max_bytes

    @property
    def pending(self) -> int:
        return self._outbox.pending

    def __len__(self) -> int:
        return len(self._outbox)

    @property
    def queued_bytes(self) -> int:
        return self._outbox.queued_bytes

    @property
    def oldest_ns(self) -> int | None:
        return self._outbox.oldest_ns

    @property
    def evicted(self) -> int:
        return self._outbox.evicted

    @property
    def dropped_disk_full(self) -> int:
        return self._outbox.dropped_disk_full

    @property
    def dropped_write_failed(self) -> int:
        return self._outbox.dropped_write_failed

    @property
    def fault(self) -> str | None:
        return self._outbox.fault

    async def append(self, readings: Iterable[QueuedReading]) -> int | None:
        """``Outbox.append``; ``readings`` is taken as a list before the call returns to the loop."""
        return await self._in_thread(self._outbox.append, list(readings))

    async def peek(self, limit: int, *, after: int = 0) -> list[tuple[int, QueuedReading]]:
        return await self._in_thread(functools.partial(self._outbox.peek, limit, after=after))

    async def ack(self, up_to_id: int) -> int:
        return await self._in_thread(self._outbox.ack, up_to_id)

    async def close(self) -> None:
        try:
            await self._in_thread(self._outbox.close)
        finally:
            self._thread.shutdown(wait=False)

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)


def _row(reading: QueuedReading) -> _Row:
    kind, stored = codec.encode(reading.value)
    return (
        reading.device,
        reading.tag,
        reading.source_time_ns,
        int(reading.quality),
        kind,
        stored,
        _stored_size(reading, stored),
    )


def _stored_size(reading: QueuedReading, stored: codec.StoredValue) -> int:
    if isinstance(stored, str):
        value = len(stored.encode("utf-8"))
    elif isinstance(stored, bytes):
        value = len(stored)
    else:
        value = 0 if stored is None else 8
    names = len(reading.tag.encode("utf-8", "surrogatepass")) + len(
        reading.device.encode("utf-8", "surrogatepass")
    )
    return ROW_OVERHEAD + names + value


def _newest_within(rows: Sequence[_Row], max_bytes: int) -> tuple[Sequence[_Row], int]:
    """The newest of ``rows`` whose sizes fit ``max_bytes``, and how many older ones do not."""
    total = 0
    for index in range(len(rows) - 1, -1, -1):
        total += rows[index][-1]
        if total > max_bytes:
            return rows[index + 1 :], index + 1
    return rows, 0


def _oldest_ns(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT source_time_ns FROM records ORDER BY id LIMIT 1").fetchone()
    return None if row is None else int(row[0])


def _disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError):
        return error.errno == errno.ENOSPC
    return getattr(error, "sqlite_errorname", "") == "SQLITE_FULL"
