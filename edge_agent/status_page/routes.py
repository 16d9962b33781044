"""The status page's routes on the HTTP face: the page, its assets and the diagnostics download.

Who may see what follows the Part 18 rights of the OPC UA server: reading the page needs Read (every
role), the diagnostics download Diagnose (Operator and above).
"""

from __future__ import annotations

import json
import time
from importlib import resources

from aiohttp import web

from ..aas_api.auth import PRINCIPAL, SESSION, Authenticator
from ..history import HistoryUnavailableError
from ..opcua.rights import Right
from .events import EventStreams
from .history import WINDOW_S, plot_points
from .login import LOGIN, LoginRoutes
from .model import StatusSource, collect
from .render import DIAGNOSTICS, EVENTS, HISTORY, STATIC, page
from .writes import Writer, WriteRoutes

# The page's scripts and styles come from its own origin only, never inline; nothing may frame it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
ASSETS = {"page.css": "text/css", "page.js": "text/javascript"}
ASSET_CACHE_S = 3600


class StatusRoutes:
    """The page over ``source``; ``root_page`` is what the HTTP face answers a browser at ``/``."""

    def __init__(self, source: StatusSource, authenticator: Authenticator, write: Writer) -> None:
        self._source = source
        self._assets = {name: _asset(name) for name in ASSETS}
        self.streams = EventStreams(source, SECURITY_HEADERS)
        self._login = LoginRoutes(authenticator, SECURITY_HEADERS)
        self._writes = WriteRoutes(lambda: list(source.tags()), write)
        # The login form and the assets it uses are open to anyone; a browser without a login goes there.
        authenticator.open_paths = (LOGIN, STATIC + "/")
        authenticator.login_page = LOGIN

    async def root_page(self, request: web.Request) -> web.StreamResponse:
        principal = request[PRINCIPAL]
        if Right.READ not in principal.rights:
            raise web.HTTPForbidden(reason="reading the status page needs the Read right")
        session = request.get(SESSION)
        html = page(
            collect(self._source),
            user=principal.name,
            can_diagnose=Right.DIAGNOSE in principal.rights,
            csrf=session.csrf if session is not None else None,
            can_write=Right.WRITE in principal.rights,
        )
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)

    async def diagnostics(self, request: web.Request) -> web.StreamResponse:
        if Right.DIAGNOSE not in request[PRINCIPAL].rights:
            raise web.HTTPForbidden(reason="the diagnostics need the Diagnose right (Operator and above)")
        body = json.dumps(self._source.diagnostics(), indent=2, default=str)
        headers = {
            **SECURITY_HEADERS,
            "Content-Disposition": 'attachment; filename="edge-agent-diagnostics.json"',
        }
        return web.Response(text=body, content_type="application/json", headers=headers)

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self._assets:
            raise web.HTTPNotFound(reason=f"no asset {name}")
        headers = {**SECURITY_HEADERS, "Cache-Control": f"private, max-age={ASSET_CACHE_S}"}
        return web.Response(
            body=self._assets[name], content_type=ASSETS[name], charset="utf-8", headers=headers
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        if Right.READ not in request[PRINCIPAL].rights:
            raise web.HTTPForbidden(reason="the status page's updates need the Read right")
        return await self.streams.stream(request)

    async def history(self, request: web.Request) -> web.StreamResponse:
        """A tag's last WINDOW_S seconds as plot points, with the alarm threshold of a score."""
        if Right.READ not in request[PRINCIPAL].rights:
            raise web.HTTPForbidden(reason="the status page's plots need the Read right")
        tag = request.match_info["tag"]
        if tag not in {info.name for info in self._source.tags()}:
            raise web.HTTPNotFound(reason=f"no tag {tag}")
        end_ns = time.time_ns()
        start_ns = end_ns - WINDOW_S * 1_000_000_000
        try:
            readings = await self._source.history(tag, start_ns, end_ns)
        except HistoryUnavailableError as error:
            raise web.HTTPServiceUnavailable(reason=f"the history cannot be read: {error}") from None
        body = {
            "tag": tag,
            "recorded": readings is not None,
            "start_ms": start_ns // 1_000_000,
            "end_ms": end_ns // 1_000_000,
            "threshold": self._source.threshold(tag),
            "points": plot_points(readings or (), start_ns=start_ns, end_ns=end_ns),
        }
        return web.json_response(body, headers=SECURITY_HEADERS)

    def attach(self, app: web.Application) -> None:
        """Add the page's routes to ``app``; its open streams end when the app shuts down."""
        app.on_shutdown.append(self.streams.close)
        router = app.router
        self._login.register(router)
        self._writes.register(router)
        router.add_get(HISTORY + "/{tag}", self.history)
        router.add_get(EVENTS, self.events)
        router.add_get(DIAGNOSTICS, self.diagnostics)
        router.add_get(STATIC + "/{name}", self.asset)


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()
