"""The page's live updates: server-sent events of the tag store's changes and the status line.

One stream per open page. Readings are coalesced per tag and sent at most FLUSHES_PER_S times a second,
so a tag changing at 100 Hz costs a watching browser four updates a second, and an idle agent sends a
status line every STATUS_EVERY_S (which also tells a proxy the stream is alive).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from typing import Protocol

from aiohttp import web

from ..tags import Reading, TagInfo
from .model import TagRow, tag_row

FLUSHES_PER_S = 4
STATUS_EVERY_S = 5.0
MAX_STREAMS = 16
"""Open pages at once; more are refused (503) rather than letting browsers pile up work on the agent."""

Listener = Callable[[Reading], None]


class LiveSource(Protocol):
    def tags(self) -> Sequence[TagInfo]: ...

    def status(self) -> str: ...

    def listen(self, listener: Listener) -> Callable[[], None]: ...


def tag_event(rows: list[TagRow]) -> bytes:
    data = [
        {
            "name": row.name,
            "value": row.value,
            "quality": row.quality.name,
            "severity": row.severity,
            "time": row.source_time,
            "number": row.number,
            "time_ms": row.time_ms,
        }
        for row in rows
    ]
    return b"event: tags\ndata: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def status_event(status: str) -> bytes:
    return b"event: status\ndata: " + json.dumps({"status": status}).encode() + b"\n\n"


class EventStreams:
    """Serves /status/events over ``source``; ``headers`` go on every stream."""

    def __init__(self, source: LiveSource, headers: dict[str, str]) -> None:
        self._source = source
        self._headers = headers
        self.open = 0
        self._closing = False
        self._wakers: set[asyncio.Event] = set()

    async def close(self, app: object = None) -> None:
        """End every open stream now (the server stops: it would otherwise wait for browsers to leave)."""
        self._closing = True
        for waker in self._wakers:
            waker.set()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if self._closing:
            raise web.HTTPServiceUnavailable(reason="the agent is stopping")
        if self.open >= MAX_STREAMS:
            raise web.HTTPServiceUnavailable(reason=f"{MAX_STREAMS} status pages are open already")
        infos = {info.name: info for info in self._source.tags()}
        pending: dict[str, Reading] = {}
        changed = asyncio.Event()

        def heard(reading: Reading) -> None:
            pending[reading.tag] = reading
            changed.set()

        response = web.StreamResponse(
            headers={**self._headers, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
        )
        self.open += 1
        self._wakers.add(changed)
        unlisten = self._source.listen(heard)
        try:
            await response.prepare(request)
            await response.write(status_event(self._source.status()))
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STATUS_EVERY_S):
                        await changed.wait()
                if self._closing:
                    break
                if not changed.is_set():
                    await response.write(status_event(self._source.status()))
                    continue
                changed.clear()
                readings, pending = list(pending.values()), {}
                rows = [tag_row(infos[r.tag], r) for r in readings if r.tag in infos]
                if rows:
                    await response.write(tag_event(rows))
                await asyncio.sleep(1 / FLUSHES_PER_S)
        except ConnectionResetError:
            # The browser went away (a closed tab, a reload): the stream ends with it.
            return response
        finally:
            unlisten()
            self._wakers.discard(changed)
            self.open -= 1
        return response
