"""The history of tag readings: a bounded SQLite file, written in batches off the event loop.

Readings are appended to a queue in memory, and a writer task commits what is queued every
``flush_interval``, one transaction per batch of up to 5000, in a thread of the store's own; history
reads run in that thread too, between two batches, on the same connection. The file is in WAL mode: a
commit appends to the log, and the database is synced at checkpoints only. A reading is safe once
committed, even if the process is killed right after: ``committed`` counts those, and ``await flush()``
returns once everything appended before it is. What is still queued when the process dies is lost: at
most one flush interval of readings.

Retention: samples older than ``retain`` (by source time) are deleted at start and then every minute or
so. The file and its write-ahead log stay under ``max_size``: when the samples fill 75 % of it, the
oldest recorded are deleted down to 65 %; the pages freed are reused by new samples, and the file is
shrunk when it is over 80 % of the cap (after a cap was lowered); the log is folded back into the file
and cut short once it passes 5 % of the cap. Between two checks (one per flush) the file grows by what
one flush writes, so a cap should hold many flushes' worth of readings: at some 60 bytes a reading on
disk, 1 MB holds about ten thousand.

Faults: when the file cannot be written (disk full, read-only file system, I/O error), the store says
why in ``fault``, logs it once at ERROR, keeps the readings queued (at most ``max_queued``: beyond that
the oldest are dropped and counted in ``dropped``) and retries every flush interval; it logs again when
writing works again. ``append`` never raises and never waits: live data never depends on the store. A
corrupt file, found at start or while writing, is moved aside as ``<name>.corrupt-<UTC time>`` (with its
log) and a new, empty one started in its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..config.history import HistoryConfig
from ..tags import Reading, now_ns
from . import database, retention
from .samples import HistoryPage, Position, SampleWriter, read_samples

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_QUEUED = 100_000
DEFAULT_BATCH_SIZE = 5_000
# How often samples past the retention span are looked for, at most.
_AGE_PRUNE_EVERY_S = 60.0


class HistoryUnavailableError(RuntimeError):
    """The history file cannot be read now; the message says why."""


class HistoryStore:
    """Records tag readings to a bounded SQLite file and reads them back by tag and time (see the module)."""

    def __init__(
        self,
        config: HistoryConfig,
        *,
        max_queued: int = DEFAULT_MAX_QUEUED,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self._config = config
        self._recorded = None if config.tags is None else frozenset(config.tags)
        self._max_queued = max_queued
        self._batch_size = batch_size
        self._queue: deque[Reading] = deque()
        self._accepted = 0
        self._in_flight = 0
        self._committed = 0
        self._dropped = 0
        self._fault: str | None = None
        self._file = _HistoryFile(config)
        # One thread for all work on the file: SQLite connections are best used from the thread that
        # opened them, and a file moved aside must have no other connection left open (closing one
        # deletes the log by its name, which would be the new file's).
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="history")
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._pass_done = asyncio.Condition()
        self._passes = 0
        self._closed = False

    @property
    def path(self) -> Path:
        return self._config.database

    @property
    def fault(self) -> str | None:
        """Why the history cannot be written now; None while it can."""
        return self._fault

    @property
    def committed(self) -> int:
        """Readings committed to the file since ``open``."""
        return self._committed

    @property
    def dropped(self) -> int:
        """Readings lost since ``open``: pushed out of a full queue while the file could not be written, or
        still queued when the store closed."""
        return self._dropped

    @property
    def queued(self) -> int:
        """Readings waiting to be committed."""
        return len(self._queue) + self._in_flight

    async def open(self) -> None:
        """Open (or create) the file and start writing. A file that cannot be opened is a fault, retried."""
        try:
            await self._in_thread(self._file.open)
        except Exception as exc:
            if not database.is_storage_fault(exc):
                raise
            self._enter_fault(exc)
        self._task = asyncio.create_task(self._write_periodically(), name="history-writer")

    def records(self, tag: str) -> bool:
        """Whether readings of ``tag`` are recorded."""
        return self._recorded is None or tag in self._recorded

    def append(self, reading: Reading) -> None:
        """Queue a reading for the next flush; a tag store listener. Never blocks, never raises."""
        if self._closed or (self._recorded is not None and reading.tag not in self._recorded):
            return
        if reading.server_time_ns == 0:
            reading = dataclasses.replace(reading, server_time_ns=now_ns())
        if len(self._queue) >= self._max_queued:
            self._queue.popleft()
            self._dropped += 1
        self._queue.append(reading)
        self._accepted += 1

    async def flush(self) -> bool:
        """Write what was appended before this call; True once it is committed (or dropped, see ``dropped``).

        False when the file cannot be written (the readings stay queued) or the store is not running.
        """
        target = self._accepted
        while self._committed + self._dropped < target:
            if self._task is None or self._task.done():
                return False
            await self._next_pass()
            if self._fault is not None:
                return False
        return True

    async def _next_pass(self) -> None:
        """Wake the writer and wait until it has been through its queue once more."""
        passes = self._passes
        self._wake.set()
        async with self._pass_done:
            await self._pass_done.wait_for(lambda: self._passes > passes)

    async def read_page(
        self,
        tag: str,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_values: int = 0,
        reverse: bool = False,
        after: Position | None = None,
    ) -> HistoryPage:
        """The committed samples of ``tag`` with ``start_ns <= source time < end_ns`` (None: unbounded),
        oldest first or, with ``reverse``, newest first; at most ``max_values`` (0: all) from after
        ``after``. Raises HistoryUnavailableError when the file cannot be read."""
        query = functools.partial(
            read_samples,
            tag=tag,
            lower_ns=start_ns,
            upper_ns=end_ns,
            max_values=max_values,
            reverse=reverse,
            after=after,
        )
        if self._closed:
            raise HistoryUnavailableError(f"the history in {self.path} is closed")
        return await self._in_thread(self._file.read, query)

    async def read(
        self,
        tag: str,
        start_ns: int | None = None,
        end_ns: int | None = None,
        max_values: int = 0,
        reverse: bool = False,
    ) -> list[Reading]:
        """The readings of ``read_page``, without the place to continue from."""
        page = await self.read_page(
            tag, start_ns=start_ns, end_ns=end_ns, max_values=max_values, reverse=reverse
        )
        return page.readings

    async def close(self) -> None:
        """Write what is queued (if the file can be written), then close the file."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._wake.set()
            await self._task
            self._task = None
            if self._queue and self._fault is None:
                # Appended while the writer's last pass was past the queue.
                await self._write_pass()
        if self._queue:
            log.warning(
                "history: %d readings could not be written to %s before closing: %s",
                len(self._queue),
                self.path,
                self._fault,
            )
            self._dropped += len(self._queue)
            self._queue.clear()
        await self._in_thread(self._file.close)
        self._thread.shutdown(wait=False)

    async def _write_periodically(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.flush_interval)
            self._wake.clear()
            try:
                await self._write_pass()
            except Exception:
                log.exception("history: the writer failed")
            finally:
                self._passes += 1
                async with self._pass_done:
                    self._pass_done.notify_all()
            if self._closed:
                return

    async def _write_pass(self) -> None:
        error: BaseException | None = None
        while self._queue and error is None:
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            self._in_flight = len(batch)
            try:
                await self._in_thread(self._file.insert, batch)
            except Exception as exc:
                if not database.is_storage_fault(exc):
                    # Not the disk's doing, so retrying would fail the same way and block what follows.
                    log.exception("history: dropped %d readings that could not be written", len(batch))
                    self._dropped += len(batch)
                    continue
                self._requeue(batch)
                error = exc
            else:
                self._committed += len(batch)
            finally:
                self._in_flight = 0
        if error is None:
            try:
                await self._in_thread(self._file.maintain)
            except Exception as exc:
                if not database.is_storage_fault(exc):
                    raise
                error = exc
        if error is None:
            self._leave_fault()
        else:
            self._enter_fault(error)

    def _requeue(self, batch: Sequence[Reading]) -> None:
        """Put a batch that was not written back in front, keeping the queue's bound: the oldest go."""
        lost = max(0, len(batch) + len(self._queue) - self._max_queued)
        self._dropped += lost
        self._queue.extendleft(reversed(batch[lost:]))

    def _enter_fault(self, error: BaseException) -> None:
        fault = f"cannot write {self.path}: {error}"
        if self._fault is None:
            log.error(
                "history: %s; keeping up to %d readings queued and retrying every %gs",
                fault,
                self._max_queued,
                self._config.flush_interval,
            )
        else:
            log.debug("history: still failing: %s", fault)
        self._fault = fault

    def _leave_fault(self) -> None:
        if self._fault is not None:
            log.warning("history: writing to %s again; %d readings dropped so far", self.path, self._dropped)
            self._fault = None

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)


class _HistoryFile:
    """The connection to the history file and what goes with it; used from the store's thread only."""

    def __init__(self, config: HistoryConfig) -> None:
        self._config = config
        self._wal_limit = retention.log_limit(config.max_size)
        self._conn: sqlite3.Connection | None = None
        self._writer: SampleWriter | None = None
        self._next_age_prune = 0.0

    def open(self) -> None:
        self._connection()

    def insert(self, batch: Sequence[Reading]) -> None:
        self._writing(lambda conn: self._sample_writer(conn).insert(batch))

    def maintain(self) -> None:
        """Delete what is past the retention span (when due) and what does not fit the size cap."""
        self._writing(self._prune)

    def read(self, query: Callable[[sqlite3.Connection], HistoryPage]) -> HistoryPage:
        try:
            return query(self._connection())
        except (sqlite3.Error, OSError) as exc:
            if isinstance(exc, sqlite3.OperationalError):
                self.close()
            raise HistoryUnavailableError(f"cannot read {self._config.database}: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._writer = None

    def _prune(self, conn: sqlite3.Connection) -> None:
        now = time.monotonic()
        if now >= self._next_age_prune:
            cutoff = now_ns() - int(self._config.retain * 1e9)
            deleted = retention.prune_older_than(conn, cutoff)
            if deleted:
                log.info("history: deleted %d readings older than %gs", deleted, self._config.retain)
            self._next_age_prune = now + min(_AGE_PRUNE_EVERY_S, self._config.retain / 10)
        deleted = retention.prune_to_size(conn, self._config.max_size)
        retention.keep_log_within(conn, database.log_path(self._config.database), self._wal_limit)
        if deleted:
            log.info(
                "history: deleted the %d oldest readings to stay within %d bytes",
                deleted,
                self._config.max_size,
            )

    def _writing(self, work: Callable[[sqlite3.Connection], None]) -> None:
        """Do ``work``; a file found corrupt is replaced by a new one and the work done there."""
        conn = self._connection()
        try:
            work(conn)
        except sqlite3.DatabaseError as exc:
            self.close()
            if not database.is_corrupt(exc):
                # Reopened at the next attempt: after an I/O error or a file made read-only, a new
                # connection sees the file as it is now.
                raise
            database.replace_corrupt(self._config.database, exc)
            work(self._connection())

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = database.open_or_replace(self._config.database, wal_limit=self._wal_limit)
        return self._conn

    def _sample_writer(self, conn: sqlite3.Connection) -> SampleWriter:
        if self._writer is None:
            self._writer = SampleWriter(conn)
        return self._writer
