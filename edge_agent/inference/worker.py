"""A thread of its own for a model whose invocations are too long for the event loop.

``asyncio.to_thread`` costs about 80 µs a call here (a context copy, the default executor's queue, two
futures); one long-lived thread per model with a plain queue and one ``call_soon_threadsafe`` back costs
about a third of that. A model runs one invocation at a time, so a single thread is all it needs.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

Job = Callable[[], Any]
Done = Callable[[Any, BaseException | None], None]


class InferenceWorker:
    """Runs submitted jobs one after another in a daemon thread; reports each back on the event loop."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Job, Done, asyncio.AbstractEventLoop] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job, done: Done) -> None:
        """Run ``job`` in the thread, then ``done(result, None)`` or ``done(None, error)`` on the loop."""
        self._jobs.put((job, done, asyncio.get_running_loop()))

    def close(self) -> None:
        """Let the thread end once the job it may be running is done (and reported)."""
        self._jobs.put(None)

    def _serve(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, done, loop = item
            try:
                result, error = job(), None
            except BaseException as exc:  # reported to the loop, which decides what it means
                result, error = None, exc
            try:
                loop.call_soon_threadsafe(done, result, error)
            except RuntimeError:
                return  # the loop is closed: the agent has stopped
