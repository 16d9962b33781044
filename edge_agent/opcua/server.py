"""The agent's OPC UA server: asyncua, with every insecure default replaced.

What a default configuration offers:

- only the configured RSA security policies, SignAndEncrypt only; no None endpoint;
- only client applications whose certificates the PKI trust list accepts;
- user name and X509 identity tokens, refused until a user store exists; no anonymous sessions,
  and never asyncua's built-in "admin";
- messages up to the configured size (asyncua's own default is 100 MB per message) and at most the
  configured number of sessions.

The None policy and anonymous read access exist for a loopback demo and must be opted into; each
start logs every such opt-in at WARNING, starting with "INSECURE".
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from asyncua import Server, ua
from asyncua.common.connection import TransportLimits
from asyncua.crypto.security_policies import SecurityPolicyFactory, SecurityPolicyNone

from ..identity import ApplicationIdentity, PkiLayout, ensure_application_certificate
from ..tagstore import TagStore
from .security import (
    AgentPermissionRuleset,
    AgentUserManager,
    DiscoveryOnlyRuleset,
    UserDirectory,
    secure_policy_types,
)
from .sessions import AgentInternalServer
from .tag_nodes import TagNodes
from .trust import TrustListValidator

log = logging.getLogger(__name__)

PRODUCT_NAME = "edge-agent"
PRODUCT_URI = "urn:edge-agent"
MANUFACTURER = "edge-agent project"
DEFAULT_PORT = 4840
# The chunk size asyncua negotiates down from; a message is at most this many bytes per chunk.
CHUNK_SIZE = 65535
# OPC UA Part 6 requires every peer to accept chunks (and so messages) of at least 8192 bytes.
MIN_MESSAGE_SIZE = 8192
# TCP connections allowed beyond the session cap, so that a client can still ask for the endpoints
# (or reconnect) while every session is taken.
SPARE_CONNECTIONS = 4


@dataclass(frozen=True, slots=True)
class OpcUaSettings:
    """The parts of the opcua configuration the server uses, checked."""

    endpoint: str
    host: str
    port: int
    policies: tuple[str, ...]
    none_policy: bool
    anonymous_read: bool
    pki: Path
    users: Path | None
    max_sessions: int
    max_message_size: int

    @classmethod
    def from_config(cls, config: Any) -> OpcUaSettings:
        """Read ``edge_agent.config.schema.OpcUaConfig`` (or anything with its attributes)."""
        parsed = urlparse(config.endpoint)
        if parsed.scheme != "opc.tcp" or not parsed.hostname:
            raise ValueError(f"OPC UA endpoint {config.endpoint!r} is not opc.tcp://HOST:PORT[/path]")
        insecure = getattr(config, "insecure", None)
        none_policy = bool(insecure is not None and insecure.none_policy)
        policies = tuple(dict.fromkeys(config.security))
        secure_policy_types(policies)
        if not policies and not none_policy:
            raise ValueError("no OPC UA security policy is configured: clients could not connect")
        limits = config.limits
        if limits.max_sessions < 1:
            raise ValueError("opcua.limits.max_sessions must be at least 1")
        if limits.max_message_size < MIN_MESSAGE_SIZE:
            raise ValueError(f"opcua.limits.max_message_size must be at least {MIN_MESSAGE_SIZE} bytes")
        users = getattr(config, "users", None)
        return cls(
            endpoint=config.endpoint,
            host=parsed.hostname,
            port=parsed.port if parsed.port is not None else DEFAULT_PORT,
            policies=policies,
            none_policy=none_policy,
            anonymous_read=bool(insecure is not None and insecure.anonymous_read),
            pki=Path(config.pki),
            users=Path(users) if users is not None else None,
            max_sessions=int(limits.max_sessions),
            max_message_size=int(limits.max_message_size),
        )

    @property
    def on_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def transport_limits(max_message_size: int) -> TransportLimits:
    """Per-connection limits: messages up to ``max_message_size``, in as many chunks as that takes."""
    chunk = min(CHUNK_SIZE, max_message_size)
    return TransportLimits(
        max_recv_buffer=chunk,
        max_send_buffer=chunk,
        # Each chunk also carries headers and padding, so one chunk more than the plain division.
        max_chunk_count=math.ceil(max_message_size / chunk) + 1,
        max_message_size=max_message_size,
    )


class AgentOpcUaServer:
    """The OPC UA server of one agent: tags from ``store``, security from ``config``."""

    def __init__(
        self,
        config: Any,
        store: TagStore,
        *,
        server_name: str,
        application_uri: str,
        user_directory: UserDirectory | None = None,
    ) -> None:
        self._settings = OpcUaSettings.from_config(config)
        self._store = store
        self._server_name = server_name
        self._application_uri = application_uri
        self._user_directory = user_directory
        self._pki = PkiLayout(self._settings.pki)
        self._endpoint_url = self._settings.endpoint
        self._server: Server | None = None
        self._tags: TagNodes | None = None
        self._identity: ApplicationIdentity | None = None

    @property
    def endpoint_url(self) -> str:
        """The endpoint clients connect to (with the real port once started on port 0)."""
        return self._endpoint_url

    @property
    def pki(self) -> PkiLayout:
        return self._pki

    @property
    def identity(self) -> ApplicationIdentity | None:
        """The certificate and key the server presents; None until started."""
        return self._identity

    @property
    def tag_namespace_index(self) -> int:
        if self._tags is None:
            raise RuntimeError("the OPC UA server is not running")
        return self._tags.namespace_index

    def security_summary(self) -> list[str]:
        """One human line per way in, e.g. "opc.tcp://127.0.0.1:4840 Basic256Sha256 SignAndEncrypt"."""
        settings, url = self._settings, self._endpoint_url
        lines = [f"{url} {policy} SignAndEncrypt" for policy in settings.policies]
        if settings.none_policy:
            where = "loopback demo" if settings.on_loopback else "reachable from the network"
            lines.append(f"{url} None (INSECURE, {where})")
        if settings.anonymous_read:
            lines.append(f"{url} anonymous read-only sessions (INSECURE)")
        return lines

    def insecure_warnings(self) -> list[str]:
        settings, url = self._settings, self._endpoint_url
        warnings = []
        if settings.none_policy:
            warnings.append(
                f"INSECURE: the None security policy is enabled on {url}: messages are neither signed "
                "nor encrypted and clients are not authenticated"
            )
            if not settings.on_loopback:
                warnings.append(f"INSECURE: the unsecured endpoint {url} is reachable from the network")
        if settings.anonymous_read:
            warnings.append(
                f"INSECURE: anonymous sessions are enabled on {url}: anyone who can reach it may browse, "
                "read and subscribe without credentials"
            )
        return warnings

    async def start(self) -> None:
        """Build the address space and listen; the endpoint accepts connections when this returns."""
        if self._server is not None:
            raise RuntimeError("the OPC UA server is already running")
        settings = self._settings
        if settings.users is not None and self._user_directory is None:
            log.warning(
                "opcua.users (%s) is not read yet: user name and X509 logins are refused", settings.users
            )

        identity = await asyncio.to_thread(
            ensure_application_certificate,
            self._pki,
            application_uri=self._application_uri,
            ip_addresses=[settings.host] if _is_ip(settings.host) else [],
        )
        server = await self._build_server(identity)
        tags = TagNodes(server, self._store)
        await tags.build()
        await server.start()
        try:
            tags.start()
            if settings.port == 0 and server.bserver is not None:
                self._adopt_bound_port(server, server.bserver.port)
        except BaseException:
            await tags.stop()
            await server.stop()
            raise
        self._server, self._tags, self._identity = server, tags, identity
        for line in self.security_summary():
            log.info("OPC UA endpoint: %s", line)
        for warning in self.insecure_warnings():
            log.warning("%s", warning)

    async def stop(self) -> None:
        server, tags = self._server, self._tags
        self._server = self._tags = None
        if tags is not None:
            await tags.stop()
        if server is not None:
            await server.stop()

    async def _build_server(self, identity: ApplicationIdentity) -> Server:
        settings = self._settings
        iserver = AgentInternalServer(
            user_manager=AgentUserManager(anonymous=settings.anonymous_read, directory=self._user_directory),
            max_sessions=settings.max_sessions,
        )
        iserver.max_connections = settings.max_sessions + SPARE_CONNECTIONS
        server = Server(iserver=iserver)
        server.name = self._server_name
        server.product_uri = PRODUCT_URI
        server.manufacturer_name = MANUFACTURER
        server.application_type = ua.ApplicationType.Server
        server.set_endpoint(settings.endpoint)
        await server.init()
        await server.set_application_uri(self._application_uri)
        await server.set_build_info(
            PRODUCT_URI, MANUFACTURER, PRODUCT_NAME, _version(), _version(), _build_date()
        )

        server.allow_remote_admin(False)
        iserver.certificate = identity.certificate
        iserver.private_key = identity.private_key
        policy_types = secure_policy_types(settings.policies)
        if settings.none_policy:
            policy_types.append(ua.SecurityPolicyType.NoSecurity)
        server.set_security_policy(policy_types, permission_ruleset=AgentPermissionRuleset())  # type: ignore[arg-type]
        tokens: list[type] = [ua.UserNameIdentityToken, ua.X509IdentityToken]
        if settings.anonymous_read:
            tokens.insert(0, ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        server.set_certificate_validator(TrustListValidator(self._pki))
        server.limits = transport_limits(settings.max_message_size)
        if not settings.none_policy:
            _confine_unsecured_channels(server, identity)
        return server

    def _adopt_bound_port(self, server: Server, port: int) -> None:
        """After binding port 0, advertise the port the OS chose instead of 0."""
        parsed = urlparse(self._settings.endpoint)
        host = parsed.netloc.rsplit(":", 1)[0]
        url = urlunparse(parsed._replace(netloc=f"{host}:{port}"))
        server.set_endpoint(url)
        for endpoint in server.iserver.endpoints:
            endpoint.EndpointUrl = url
            endpoint.Server.DiscoveryUrls = [url]
        self._endpoint_url = url


def _confine_unsecured_channels(server: Server, identity: ApplicationIdentity) -> None:
    # asyncua opens an unsecured channel for any client that asks, None endpoint or not: clients need
    # one for GetEndpoints. Such a channel otherwise carries no permission ruleset at all, so this
    # factory (found before the configured ones) gives it one that allows discovery only. asyncua has
    # no public hook for this.
    server._policies.append(
        SecurityPolicyFactory(
            SecurityPolicyNone,
            ua.MessageSecurityMode.None_,
            identity.certificate,
            identity.private_key,
            permission_ruleset=DiscoveryOnlyRuleset(),
        )
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _version() -> str:
    try:
        return metadata.version("edge-agent")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _build_date() -> datetime:
    # When this copy of the package was installed: the closest thing to a build date it carries.
    return datetime.fromtimestamp(Path(__file__).stat().st_mtime, UTC)
