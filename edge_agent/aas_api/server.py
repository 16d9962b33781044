"""The HTTP face in the agent's event loop: an aiohttp server of the AAS Part 2 API, HTTPS by default."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..config.aas_api import AasApiConfig
from ..identity import PkiLayout
from ..identity.users import UserStore
from ..opcua.security import LoginGuard
from ..status_page import StatusRoutes, StatusSource
from .auth import Authenticator
from .connections import ConnectionGuard
from .descriptors import Descriptor, shell_descriptor
from .live_shell import LiveShell
from .registry import Registrar
from .results import error_response
from .routes import build_app
from .tls import server_tls_context

log = logging.getLogger(__name__)

# Request line and header bounds: a few kB is what real clients send; aiohttp's defaults are 8 kB per line
# and field, and the number of fields is bounded too, so huge headers are refused (431) before use.
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190


class _MalformedRequests(logging.Filter):
    """Says a malformed request (bad syntax, a line or header over the limits) in one INFO line.

    aiohttp logs each as an ERROR with its traceback: a client sending garbage would fill the journal.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            message = " ".join(str(error.message).split())[:200]
            record.msg, record.args = "%s: %s %s", (record.getMessage(), error.code, message)
            record.exc_info, record.exc_text = None, None
        return True


_HTTP_LOG = logging.getLogger("edge_agent.aas_api.http")
_HTTP_LOG.addFilter(_MalformedRequests())


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
        opcua_endpoint: str | None = None,
        status: StatusSource | None = None,
    ) -> None:
        self.config = config
        self.shell = shell
        self._pki = pki
        self._authenticator = Authenticator(users, guard, anonymous_read=config.anonymous_read)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self.guard = ConnectionGuard(
            max_connections=config.limits.max_connections, request_timeout=config.limits.request_timeout
        )
        self._status = status
        """What the status page at ``/`` shows to browsers; None: no page."""
        self._opcua_endpoint = opcua_endpoint
        """The OPC UA server's endpoint: the shell's second endpoint in the registry's descriptor."""
        self._registrar: Registrar | None = None
        self._unlisten: Callable[[], None] | None = None
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
        status_routes = (
            StatusRoutes(self._status, self._authenticator, self.shell.write)
            if self._status is not None
            else None
        )
        app = build_app(
            self.shell,
            middlewares=[self.guard.middleware, self._authenticator.middleware(error_response)],
            max_page=config.limits.page_size,
            client_max_size=int(config.limits.max_request_size),
            root_page=status_routes.root_page if status_routes is not None else None,
        )
        if status_routes is not None:
            status_routes.attach(app)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            max_line_size=MAX_LINE_SIZE,
            max_field_size=MAX_FIELD_SIZE,
            logger=_HTTP_LOG,
        )
        await runner.setup()
        assert runner.server is not None
        try:
            # Our own listener rather than aiohttp's TCPSite: the guard wraps each connection's protocol.
            self._listener = await asyncio.get_running_loop().create_server(
                self.guard.wrap(runner.server),
                config.host,
                config.port,
                ssl=tls,
                backlog=config.limits.max_connections,
                reuse_address=True,
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("serving the AAS API (IDTA-01002-3-0) at %s", config.listen)
        if config.registry is not None:
            registrar = Registrar(config.registry, self.descriptor, trusted=self._pki.trusted_certs)
            self._registrar = registrar
            self._unlisten = self.shell.on_replace(registrar.changed)
            registrar.start()

    def descriptor(self) -> Descriptor | None:
        """The shell's descriptor for an AAS Registry, with the URLs others reach it at."""
        return shell_descriptor(
            self.shell.environment(), api_base=self.config.public_url, opcua_endpoint=self._opcua_endpoint
        )

    async def stop(self) -> None:
        # The descriptor stays registered: a registry keeps those of shells that are down.
        unlisten, self._unlisten = self._unlisten, None
        if unlisten is not None:
            unlisten()
        registrar, self._registrar = self._registrar, None
        if registrar is not None:
            await registrar.stop()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.shutdown()
            await runner.cleanup()
        if listener is not None:
            await listener.wait_closed()
