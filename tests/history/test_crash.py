"""A process killed while it records loses nothing it had committed, and leaves a sound file."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from pathlib import Path

from tests.support.history import history_config, running_store

from .recording_process import TAG

REPO = Path(__file__).resolve().parents[2]


async def record_until_killed(database: Path, at_least: int) -> int:
    """Kill -9 a recording process once it has committed ``at_least`` readings; the number it had."""
    recorder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.history.recording_process",
        str(database),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert recorder.stdout is not None
    acknowledged = 0
    try:
        while acknowledged < at_least:
            line = await asyncio.wait_for(recorder.stdout.readline(), timeout=30)
            assert line, "the recording process ended by itself"
            acknowledged = int(line.split()[1])
        # Killed while it goes on appending and committing.
        recorder.send_signal(signal.SIGKILL)
        remaining, _ = await recorder.communicate()
    finally:
        if recorder.returncode is None:
            recorder.kill()
            await recorder.wait()
    for line in remaining.splitlines():
        acknowledged = int(line.split()[1])
    return acknowledged


async def test_every_reading_committed_before_a_kill_is_there_after_it(tmp_path: Path) -> None:
    config = history_config(tmp_path)

    acknowledged = await record_until_killed(config.database, at_least=10_000)

    with contextlib.closing(sqlite3.connect(config.database)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    async with running_store(config) as store:
        values = [r.value for r in await store.read(TAG)]
    assert values[:acknowledged] == list(range(acknowledged))
    assert values == list(range(len(values)))
