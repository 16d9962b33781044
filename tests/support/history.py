"""History stores on real SQLite files in a test's own directory."""

from __future__ import annotations

import resource
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from edge_agent.config.history import HistoryConfig
from edge_agent.history import HistoryStore


def history_config(directory: Path, **settings: Any) -> HistoryConfig:
    """A history in ``directory``; flushed every 50 ms so that waiting for the writer stays short."""
    data: dict[str, Any] = {"database": str(directory / "history.sqlite"), "flush_interval": "50ms"}
    data.update(settings)
    return HistoryConfig.model_validate(data)


@asynccontextmanager
async def running_store(config: HistoryConfig, **options: Any) -> AsyncIterator[HistoryStore]:
    store = HistoryStore(config, **options)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@contextmanager
def disk_full() -> Iterator[None]:
    """No file of this process can be written to (RLIMIT_FSIZE 0): every write fails as on a full disk.

    Works for root too (unlike a read-only file), and only on this process (unlike filling a real disk).
    """
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)
