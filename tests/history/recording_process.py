"""A process that records readings of one counter tag as fast as it can, until it is killed.

After each flush that committed everything appended so far it prints ``committed N``: the values 0 to N-1
are then in the file. Run as ``python -m tests.history.recording_process DATABASE``.
"""

from __future__ import annotations

import asyncio
import sys

from edge_agent.config.history import HistoryConfig
from edge_agent.history import HistoryStore
from edge_agent.quality import Quality
from edge_agent.tags import Reading, now_ns

TAG = "counter"


async def record(database: str) -> None:
    store = HistoryStore(HistoryConfig.model_validate({"database": database, "flush_interval": "10ms"}))
    await store.open()
    start = now_ns()
    value = 0
    while True:
        for _ in range(200):
            store.append(Reading(TAG, value, Quality.Good, start + value))
            value += 1
        if await store.flush():
            print(f"committed {value}", flush=True)


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1]))
