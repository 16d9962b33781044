"""The page's live updates: server-sent events of the tag store's changes and the status line.

One broadcaster for all open pages: it gathers the readings since its last round, per tag only the last,
and at most FLUSHES_PER_S times a second encodes them once for every page; an idle agent sends the
status line every STATUS_EVERY_S (which also tells a proxy the stream is alive). A page that connects
first gets every tag's current reading, so nothing it shows is older than its stream. A tag is sent as
``[name, value text, quality name, source time in ms, value as a plot draws it]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable

from aiohttp import web

from ..tags import Reading, TagInfo
from .model import StatusSource, health_rows, tag_row

FLUSHES_PER_S = 4
STATUS_EVERY_S = 5.0
MAX_STREAMS = 16
"""Open pages at once; more are refused (503) rather than letting browsers pile up work on the agent."""
BACKLOG = 32
"""Updates a page may fall behind by; a page further behind is closed (its browser reconnects afresh)."""

Listener = Callable[[Reading], None]
_END = b""


def tag_event(infos: dict[str, TagInfo], readings: Iterable[Reading]) -> bytes:
    data = []
    for reading in readings:
        info = infos.get(reading.tag)
        if info is not None:
            row = tag_row(info, reading)
            data.append([row.name, row.value, row.quality.name, row.time_ms, row.number])
    return b"event: tags\ndata: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def status_event(source: StatusSource) -> bytes:
    """The status line, and each source's and model's health as the page's tables show it."""
    # Not collect(): that would make a row of every tag too, every few seconds, for nothing.
    diagnostics = source.diagnostics()
    sources, models = health_rows(diagnostics)
    health = {
        "status": str(diagnostics.get("status", "")),
        "sources": [[s.name, s.up, s.good, s.bad, s.last_good, s.cycles, s.failed_cycles] for s in sources],
        "models": [
            [m.name, m.state, m.invocations, m.latency_p99_ms, m.overruns, m.failures] for m in models
        ],
    }
    return b"event: status\ndata: " + json.dumps(health, separators=(",", ":")).encode() + b"\n\n"


class EventStreams:
    """Serves /status/events over ``source``; ``headers`` go on every stream."""

    def __init__(self, source: StatusSource, headers: dict[str, str]) -> None:
        self._source = source
        self._headers = headers
        self._pages: set[asyncio.Queue[bytes]] = set()
        self._pending: dict[str, Reading] = {}
        self._changed = asyncio.Event()
        self._broadcaster: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._closing = False

    @property
    def open(self) -> int:
        return len(self._pages)

    async def close(self, app: object = None) -> None:
        """End every open stream now (the server stops: it would otherwise wait for browsers to leave)."""
        self._closing = True
        for page in self._pages:
            _offer(page, _END)
        await self._stop_broadcasting()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if self._closing:
            raise web.HTTPServiceUnavailable(reason="the agent is stopping")
        if len(self._pages) >= MAX_STREAMS:
            raise web.HTTPServiceUnavailable(reason=f"{MAX_STREAMS} status pages are open already")
        page: asyncio.Queue[bytes] = asyncio.Queue(maxsize=BACKLOG)
        response = web.StreamResponse(
            headers={**self._headers, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        self._pages.add(page)
        self._start_broadcasting()
        try:
            await response.prepare(request)
            infos = {info.name: info for info in self._source.tags()}
            current = self._source.readings()
            await response.write(status_event(self._source))
            await response.write(tag_event(infos, current.values()))
            while (update := await page.get()) != _END:
                await response.write(update)
        except ConnectionResetError:
            pass  # the browser went away (a closed tab, a reload): the stream ends with it
        finally:
            self._pages.discard(page)
            if not self._pages:
                await self._stop_broadcasting()
        return response

    def _heard(self, reading: Reading) -> None:
        self._pending[reading.tag] = reading
        self._changed.set()

    def _start_broadcasting(self) -> None:
        if self._broadcaster is None:
            self._unlisten = self._source.listen(self._heard)
            self._broadcaster = asyncio.create_task(self._broadcast(), name="status-page-events")

    async def _stop_broadcasting(self) -> None:
        task, self._broadcaster = self._broadcaster, None
        unlisten, self._unlisten = self._unlisten, None
        if unlisten is not None:
            unlisten()
        self._pending.clear()
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _broadcast(self) -> None:
        infos = {info.name: info for info in self._source.tags()}
        loop = asyncio.get_running_loop()
        status_due = loop.time() + STATUS_EVERY_S
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(status_due - loop.time(), 0)):
                    await self._changed.wait()
            updates = []
            if self._changed.is_set():
                self._changed.clear()
                readings, self._pending = list(self._pending.values()), {}
                updates.append(tag_event(infos, readings))
            if loop.time() >= status_due:
                # Also while tags change all the time: the tables' health must not wait for a quiet moment.
                updates.append(status_event(self._source))
                status_due = loop.time() + STATUS_EVERY_S
            for update in updates:
                for page in list(self._pages):
                    if not _offer(page, update):
                        _close_behind(page)
            await asyncio.sleep(1 / FLUSHES_PER_S)


def _offer(page: asyncio.Queue[bytes], update: bytes) -> bool:
    try:
        page.put_nowait(update)
    except asyncio.QueueFull:
        return False
    return True


def _close_behind(page: asyncio.Queue[bytes]) -> None:
    # Too far behind to catch up by deltas: empty its queue and end its stream.
    while not page.empty():
        page.get_nowait()
    page.put_nowait(_END)
