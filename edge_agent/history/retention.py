"""Keeping the history within its bounds: samples older than the retention span, and the oldest samples
once the file would outgrow its size cap."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

# Fractions of max_size. The write-ahead log is checkpointed at WAL_SHARE of it (at most LOG_MOST bytes);
# the samples are pruned when they fill PRUNE_ABOVE of it, down to PRUNE_TO. What is left between
# PRUNE_ABOVE + WAL_SHARE and the cap absorbs the batches written between two checks.
WAL_SHARE = 0.05
LOG_MOST = 64 * 2**20
PRUNE_ABOVE = 0.75
PRUNE_TO = 0.65
# Free pages kept in the file for new samples to reuse; beyond this the file is shrunk.
SHRINK_ABOVE = 0.8


def log_limit(max_size: int) -> int:
    """The size of the write-ahead log at which it is folded back into the file."""
    return min(int(max_size * WAL_SHARE), LOG_MOST)


@dataclass(frozen=True, slots=True)
class PageUse:
    page_size: int
    pages: int
    free_pages: int

    @property
    def file_bytes(self) -> int:
        return self.pages * self.page_size

    @property
    def used_bytes(self) -> int:
        return (self.pages - self.free_pages) * self.page_size


def page_use(conn: sqlite3.Connection) -> PageUse:
    def pragma(name: str) -> int:
        value: int = conn.execute(f"PRAGMA {name}").fetchone()[0]
        return value

    return PageUse(pragma("page_size"), pragma("page_count"), pragma("freelist_count"))


def prune_older_than(conn: sqlite3.Connection, cutoff_ns: int) -> int:
    """Delete every sample whose source time is before ``cutoff_ns``; returns how many went.

    Tag by tag, so that each delete walks the (tag, time) index instead of the whole table.
    """
    deleted = 0
    tag_ids = [row[0] for row in conn.execute("SELECT id FROM tags")]
    conn.execute("BEGIN IMMEDIATE")
    try:
        for tag_id in tag_ids:
            cursor = conn.execute(
                "DELETE FROM samples WHERE tag_id = ? AND source_time_ns < ?", (tag_id, cutoff_ns)
            )
            deleted += cursor.rowcount
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return deleted


def prune_to_size(conn: sqlite3.Connection, max_size: int) -> int:
    """Delete the oldest samples while they take more than PRUNE_ABOVE of ``max_size``; returns how many.

    The oldest are those recorded first (lowest ids), whatever their source times. Pages freed stay in
    the file for new samples, unless the file is beyond SHRINK_ABOVE of the cap: then it is shrunk.
    """
    deleted = 0
    use = page_use(conn)
    # A few rounds: the number of rows to delete is estimated from the share of pages to free.
    for _ in range(8):
        if use.used_bytes <= PRUNE_ABOVE * max_size:
            break
        first, last = conn.execute("SELECT min(id), max(id) FROM samples").fetchone()
        if first is None:
            break
        share = 1 - PRUNE_TO * max_size / use.used_bytes
        cut = first + max(1, math.ceil((last - first + 1) * share))
        deleted += conn.execute("DELETE FROM samples WHERE id < ?", (cut,)).rowcount
        use = page_use(conn)
    if use.file_bytes > SHRINK_ABOVE * max_size and use.free_pages:
        conn.execute(f"PRAGMA incremental_vacuum({use.free_pages})").fetchall()
    return deleted


def keep_log_within(conn: sqlite3.Connection, log_path: Path, limit: int) -> None:
    """Fold the write-ahead log back into the file and cut it to nothing once it is over ``limit`` bytes.

    SQLite's own checkpoints keep the log's file at its largest size; this bounds it for the size cap.
    """
    try:
        size = log_path.stat().st_size
    except FileNotFoundError:
        return
    if size > limit:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
