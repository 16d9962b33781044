"""Sample rows: writing a batch of readings, and reading one tag's samples over a span of time."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from ..quality import Quality
from ..tags import Reading
from . import codec

NO_LOWER_BOUND = -(2**63)
NO_UPPER_BOUND = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Position:
    """Where a read stopped: the last sample returned. Samples are ordered by source time, then by id."""

    source_time_ns: int
    sample_id: int


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Some of the samples of a read, in the order asked; ``next`` is set when more remain after them."""

    readings: list[Reading]
    next: Position | None


class SampleWriter:
    """Inserts readings; knows the ids of the tag names already in the file. Used by one thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._tag_ids: dict[str, int] = {
            name: tag_id for tag_id, name in conn.execute("SELECT id, name FROM tags")
        }

    def insert(self, readings: Sequence[Reading]) -> None:
        """Write all of ``readings`` in one transaction, or none of them."""
        conn = self._conn
        new_ids: dict[str, int] = {}
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = []
            for reading in readings:
                tag_id = self._tag_ids.get(reading.tag, new_ids.get(reading.tag))
                if tag_id is None:
                    cursor = conn.execute("INSERT INTO tags (name) VALUES (?)", (reading.tag,))
                    # Always set by an INSERT into a table with a rowid.
                    tag_id = new_ids[reading.tag] = cast(int, cursor.lastrowid)
                kind, value = codec.encode(reading.value)
                rows.append(
                    (
                        tag_id,
                        reading.source_time_ns,
                        reading.server_time_ns,
                        int(reading.quality),
                        kind,
                        value,
                    )
                )
            conn.executemany(
                "INSERT INTO samples (tag_id, source_time_ns, server_time_ns, status, kind, value)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        # Only now: ids of a transaction that was rolled back do not exist.
        self._tag_ids.update(new_ids)


def read_samples(
    conn: sqlite3.Connection,
    *,
    tag: str,
    lower_ns: int | None,
    upper_ns: int | None,
    max_values: int,
    reverse: bool,
    after: Position | None,
) -> HistoryPage:
    """Samples of ``tag`` with ``lower_ns <= source time < upper_ns`` (None: unbounded), oldest first or
    newest first, at most ``max_values`` (0: all), continuing after ``after`` when given."""
    found = conn.execute("SELECT id FROM tags WHERE name = ?", (tag,)).fetchone()
    if found is None:
        return HistoryPage([], None)
    where = ["tag_id = ?", "source_time_ns >= ?", "source_time_ns < ?"]
    params: list[int] = [
        found[0],
        NO_LOWER_BOUND if lower_ns is None else lower_ns,
        NO_UPPER_BOUND if upper_ns is None else upper_ns,
    ]
    if after is not None:
        where.append("(source_time_ns, id) < (?, ?)" if reverse else "(source_time_ns, id) > (?, ?)")
        params += [after.source_time_ns, after.sample_id]
    order = "DESC" if reverse else "ASC"
    sql = (
        "SELECT id, source_time_ns, server_time_ns, status, kind, value FROM samples"
        f" WHERE {' AND '.join(where)} ORDER BY source_time_ns {order}, id {order}"
    )
    if max_values > 0:
        sql += " LIMIT ?"
        params.append(max_values + 1)
    rows = conn.execute(sql, params).fetchall()
    more = max_values > 0 and len(rows) > max_values
    if more:
        rows = rows[:max_values]
    readings = [
        Reading(tag, codec.decode(kind, value), _quality(status), source_ns, server_ns)
        for _, source_ns, server_ns, status, kind, value in rows
    ]
    last = rows[-1] if more else None
    return HistoryPage(readings, None if last is None else Position(last[1], last[0]))


def _quality(status: int) -> Quality:
    try:
        return Quality(status)
    except ValueError:
        # A status this version does not name (written by another one): say it is bad, not that it is good.
        return Quality.BadInternalError
