"""The HTTP face in the agent's event loop: an aiohttp server of the AAS Part 2 API, HTTPS by default."""

from __future__ import annotations

import logging
import ssl

from aiohttp import web

from ..config.aas_api import AasApiConfig
from ..identity import PkiLayout
from ..identity.users import UserStore
from ..opcua.security import LoginGuard
from .auth import Authenticator
from .live_shell import LiveShell
from .results import error_response
from .routes import build_app
from .tls import server_tls_context

log = logging.getLogger(__name__)

# Request line and header bounds: a few kB is what real clients send; aiohttp's defaults are 8 kB per line
# and field, and the number of fields is bounded too, so huge headers are refused (431) before use.
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190


class AasApiServer:
    """Serves ``shell`` as configured by ``config``; ``start`` returns once the port accepts connections."""

    def __init__(
        self,
        config: AasApiConfig,
        shell: LiveShell,
        *,
        pki: PkiLayout,
        users: UserStore | None,
        guard: LoginGuard,
    ) -> None:
        self.config = config
        self.shell = shell
        self._pki = pki
        self._authenticator = Authenticator(users, guard, anonymous_read=config.anonymous_read)
        self._runner: web.AppRunner | None = None
        self.url = config.listen

    async def start(self) -> None:
        config = self.config
        tls: ssl.SSLContext | None = None
        if config.scheme == "https":
            tls = server_tls_context(self._pki)
        else:
            log.warning(
                "INSECURE: the AAS API on %s is served without TLS (aas_api.insecure.plaintext): requests, "
                "passwords and values go in the clear",
                config.listen,
            )
        if config.anonymous_read:
            log.warning(
                "INSECURE: anonymous requests may read the AAS API on %s (aas_api.insecure.anonymous_read)",
                config.listen,
            )
        app = build_app(
            self.shell,
            middlewares=[self._authenticator.middleware(error_response)],
            max_page=config.limits.page_size,
            client_max_size=int(config.limits.max_request_size),
        )
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            max_line_size=MAX_LINE_SIZE,
            max_field_size=MAX_FIELD_SIZE,
            keepalive_timeout=config.limits.request_timeout,
        )
        await runner.setup()
        site = web.TCPSite(
            runner,
            config.host,
            config.port,
            ssl_context=tls,
            backlog=config.limits.max_connections,
            reuse_address=True,
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("serving the AAS API (IDTA-01002-3-0) at %s", config.listen)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
