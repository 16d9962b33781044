"""The history's SQLite file: its schema, its settings, and what is done with a file that is corrupt."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    tag_id INTEGER NOT NULL REFERENCES tags (id),
    source_time_ns INTEGER NOT NULL,
    server_time_ns INTEGER NOT NULL,
    status INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    -- No declared type: SQLite keeps each value as the INTEGER, REAL, TEXT or BLOB it was given.
    value
);
CREATE INDEX IF NOT EXISTS samples_by_tag_and_time ON samples (tag_id, source_time_ns);
"""

# What SQLite says of a file whose pages cannot be trusted or that is no database at all.
_CORRUPT = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


PAGE_CACHE_KB = 1024


def is_corrupt(error: BaseException) -> bool:
    return isinstance(error, sqlite3.DatabaseError) and getattr(error, "sqlite_errorname", "") in _CORRUPT


def connect(path: Path, *, wal_limit: int) -> sqlite3.Connection:
    """Open (or create) the history file for writing; raises sqlite3 errors as they come.

    ``wal_limit`` bounds the write-ahead log in bytes: it is checkpointed into the database when it holds
    that much, and cut back to that size afterwards, so that the log counts little against ``max_size``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    try:
        # Must come before the first table: an existing file keeps the mode it was created with.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode syncs at checkpoints, not at every commit: a commit survives the process being
        # killed (it is in the OS's cache), a power cut may take back the last commits but never corrupts
        # the file. Syncing every second would wear an SD card for little.
        conn.execute("PRAGMA synchronous = NORMAL")
        # The page cache is the store's only memory that grows with the file: 1 MB holds the pages a
        # writer and a HistoryRead touch, and keeps the agent's RSS flat once it is full (SQLite's
        # default is 2 MB, reached only after the file has grown for a while).
        conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KB}")
        page_size: int = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute(f"PRAGMA wal_autocheckpoint = {max(8, wal_limit // page_size)}")
        conn.execute(f"PRAGMA journal_size_limit = {wal_limit}")
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.close()
        raise
    return conn


def move_aside(path: Path) -> Path:
    """Rename a corrupt history file (and its write-ahead log) to ``<name>.corrupt-<UTC time>``.

    The log goes with it, as ``<name>.corrupt-<UTC time>-wal``, so that the pair can still be opened to
    rescue what is readable; the shared-memory index is rebuilt by SQLite and is deleted.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    suffix = 1
    while aside.exists():
        suffix += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}.{suffix}")
    path.rename(aside)
    wal = log_path(path)
    if wal.exists():
        wal.rename(aside.with_name(aside.name + "-wal"))
    with contextlib.suppress(FileNotFoundError):
        path.with_name(path.name + "-shm").unlink()
    return aside


def log_path(path: Path) -> Path:
    """The write-ahead log beside the history file."""
    return path.with_name(path.name + "-wal")


def size_on_disk(path: Path) -> int:
    """Bytes the history takes: the database file and its write-ahead log."""
    total = 0
    for file in (path, log_path(path)):
        with contextlib.suppress(FileNotFoundError):
            total += file.stat().st_size
    return total


def open_or_replace(path: Path, *, wal_limit: int) -> sqlite3.Connection:
    """Open the history file; a corrupt one is moved aside (see ``move_aside``) and a fresh one started."""
    try:
        conn = connect(path, wal_limit=wal_limit)
    except sqlite3.DatabaseError as exc:
        # Setting up the file reads its header and schema: damage there shows here. Damage further in
        # shows when a write reaches it (see replace_corrupt).
        if not is_corrupt(exc):
            raise
        replace_corrupt(path, exc)
        return connect(path, wal_limit=wal_limit)
    return conn


def replace_corrupt(path: Path, error: BaseException) -> None:
    """Move a corrupt file aside, so that the next ``connect`` starts a new one."""
    aside = move_aside(path)
    log.error("history database %s is corrupt (%s): moved it to %s and started a new one", path, error, aside)


def is_storage_fault(error: BaseException) -> bool:
    """Errors that come from the disk or the file, and may go away: worth keeping what was to be written."""
    return isinstance(error, sqlite3.OperationalError | OSError) or is_corrupt(error)
