"""Bounds on the HTTP face's connections: how many at once, and how long one may take to send a request.

aiohttp bounds a request's size but not the time its headers take to arrive, nor the number of
connections: a client that opens many and trickles a byte now and then (slowloris) would hold them, and
their buffers, for ever. The guard wraps each connection's protocol: beyond ``max_connections`` a new one
is closed at once; an open one is closed when ``request_timeout`` passes without a request coming
complete, headers and body (from its opening, and from the end of its last request: an idle keep-alive
connection too).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ConnectionGuard:
    def __init__(self, *, max_connections: int, request_timeout: float) -> None:
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self._open: dict[asyncio.BaseTransport, _GuardedProtocol] = {}
        self.refused = 0
        self.timed_out = 0

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def wrap(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server`` around aiohttp's (``runner.server``)."""
        return lambda: _GuardedProtocol(self, inner())

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Stops the clock while a complete request is handled, and starts it again after."""
        guarded = self._open.get(request.transport) if request.transport is not None else None
        if request.body_exists:
            # The body too must come within the time (the clock still runs): read it here, aiohttp keeps
            # it for the handler. Its size is bounded by the app's client_max_size.
            try:
                async with asyncio.timeout(self.request_timeout):
                    await request.read()
            except TimeoutError:
                self.timed_out += 1
                log.info("closed the HTTP connection of %s: its request body came too slowly", request.remote)
                if request.transport is not None:
                    request.transport.close()
                raise web.HTTPRequestTimeout() from None
        if guarded is not None:
            guarded.disarm()
        try:
            return await handler(request)
        finally:
            if guarded is not None:
                guarded.arm()

    def _admit(self, guarded: _GuardedProtocol, transport: asyncio.BaseTransport) -> bool:
        if len(self._open) >= self.max_connections:
            self.refused += 1
            log.warning(
                "refused an HTTP connection from %s: %d are open (aas_api.limits.max_connections)",
                transport.get_extra_info("peername"),
                len(self._open),
            )
            return False
        self._open[transport] = guarded
        return True

    def _forget(self, transport: asyncio.BaseTransport) -> None:
        self._open.pop(transport, None)


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the guard's count and clock around it."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._guard._admit(self, transport):
            transport.abort() if isinstance(transport, asyncio.Transport) else transport.close()
            return
        self._transport = transport
        self.arm()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._transport is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is None:
            return
        self.disarm()
        self._guard._forget(self._transport)
        self._transport = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def arm(self) -> None:
        self.disarm()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._guard.request_timeout, self._expire)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        transport = self._transport
        if transport is None:
            return
        self._guard.timed_out += 1
        log.info(
            "closed an HTTP connection from %s: no complete request within %.0f s",
            transport.get_extra_info("peername"),
            self._guard.request_timeout,
        )
        transport.close()

    def __getattr__(self, name: str) -> Any:
        # Anything else aiohttp asks of its protocol (its flow control state) is the inner one's.
        return getattr(self._inner, name)
