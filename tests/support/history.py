"""History stores on real SQLite files in a test's own directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
