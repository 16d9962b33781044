"""A process that writes to the outbox or takes bdSeq values as fast as it can, until it is killed.

``python -m tests.sparkplug.killed_process outbox DATABASE`` appends batches of 100 readings of one counter
tag (values 0, 1, 2, ...) and prints ``acked ID COUNT`` after each append returns: the record with id ID
and the values 0 to COUNT-1 are then on disk.

``python -m tests.sparkplug.killed_process bdseq FILE`` takes one bdSeq after the other and prints
``bdseq VALUE`` once ``next`` has returned it.

``lines_until_killed`` runs one of them and kills it with SIGKILL while it is at work.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from edge_agent.sparkplug.bdseq import BdSeqStore
from edge_agent.sparkplug.outbox import Outbox, QueuedReading

REPO = Path(__file__).resolve().parents[2]
TAG = "counter"
DEVICE = "plc"
BATCH = 100


def append_forever(database: Path) -> None:
    outbox = Outbox(database, max_bytes=100 * 2**20)
    count = 0
    while True:
        last_id = outbox.append(
            QueuedReading(TAG, value, 0, 1_000_000 + value, DEVICE) for value in range(count, count + BATCH)
        )
        count += BATCH
        print(f"acked {last_id} {count}", flush=True)


def take_bdseq_forever(path: Path) -> None:
    store = BdSeqStore(path)
    while True:
        print(f"bdseq {store.next()}", flush=True)


def lines_until_killed(what: str, where: Path, *, at_least: int) -> list[str]:
    """Run this script on ``what`` and ``where``; kill it with SIGKILL once it has printed ``at_least``
    lines. Returns every line it printed, those still in the pipe when it died too."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sparkplug.killed_process", what, str(where)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while len(lines) < at_least:
            line = process.stdout.readline()
            assert line, f"the process ended by itself with status {process.wait()}"
            lines.append(line)
        # Killed while it goes on writing.
        process.send_signal(signal.SIGKILL)
        remaining, _ = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    # A line cut short by the kill says nothing: only whole lines count.
    return [line.rstrip("\n") for line in lines] + remaining.split("\n")[:-1]


if __name__ == "__main__":
    what, where = sys.argv[1], Path(sys.argv[2])
    if what == "outbox":
        append_forever(where)
    else:
        take_bdseq_forever(where)
