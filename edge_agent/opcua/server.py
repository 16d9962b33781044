"""The agent's OPC UA server: asyncua, with every insecure default replaced.

What a default configuration offers:

- only the configured RSA security policies, SignAndEncrypt only; no None endpoint;
- only client applications whose certificates the PKI trust list accepts;
- user name and X509 identity tokens, refused until a user store exists; no anonymous sessions,
  and never asyncua's built-in "admin";
- messages up to the configured size (asyncua's own default is 100 MB per message) and at most the
  configured number of sessions.

The None policy and anonymous read access exist for a loopback demo and must be opted into; each
start logs every such opt-in at WARNING, starting with "INSECURE". Sessions on the None channel may
only read, whoever logs in, and the server refuses to start with either opt-in on an endpoint that
is not loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

from aas_core3 import types as aas
from asyncua import Server, ua
from asyncua.common.connection import TransportLimits
from cryptography.hazmat.primitives import serialization

from ..config.opcua import AddressSpace, OpcUaConfig, is_loopback
from ..history import HistoryStore
from ..identity import ApplicationIdentity, PkiLayout, ensure_application_certificate, expiry_warning
from ..tagstore import TagStore
from .admin_methods import Administration, add_admin_methods
from .asyncua_seam import (
    AttributeSharer,
    activated_sessions,
    build_server,
    judge_method_calls,
    set_unsecured_channel_ruleset,
    use_identity,
)
from .history_read import enable_history
from .i4aas import ShellNodes
from .method_calls import MethodRightsCheck
from .ns0_keep import kept_items_file, kept_nodes
from .rights import METHOD_RIGHTS, SERVER_METHOD_RIGHTS, Right
from .security import (
    AgentPermissionRuleset,
    AgentUserManager,
    DiscoveryOnlyRuleset,
    LoginGuard,
    UnsecuredReadRuleset,
    UserDirectory,
    secure_policy_types,
)
from .subscription_methods import add_subscription_methods
from .tag_nodes import TagNodes
from .trust import TrustListValidator
from .user_attributes import install as install_user_attributes

log = logging.getLogger(__name__)

PRODUCT_NAME = "edge-agent"
PRODUCT_URI = "urn:edge-agent"
MANUFACTURER = "edge-agent project"
# The chunk size asyncua negotiates down from; a message is at most this many bytes per chunk.
CHUNK_SIZE = 65535
# TCP connections allowed beyond the session cap, so that a client can still ask for the endpoints
# (or reconnect) while every session is taken.
SPARE_CONNECTIONS = 4
# How often the shell's slowly changing values (inference counts, days to expiry) are brought up to date.
SHELL_REFRESH_S = 30.0


EnvironmentFactory = Callable[[bytes], aas.Environment]
"""Builds the shell to serve, given the DER of the certificate the server presents."""


class InsecureEndpointError(ValueError):
    """Insecure settings on an endpoint other machines can reach: the server does not start."""


@dataclass(frozen=True, slots=True)
class OpcUaSettings:
    """What the server uses of a validated ``OpcUaConfig``, flattened; the config owns every rule."""

    endpoint: str
    host: str
    port: int
    policies: tuple[str, ...]
    none_policy: bool
    anonymous_read: bool
    sign_only: bool
    pki: Path
    users: Path | None
    max_sessions: int
    max_message_size: int
    certificate_warning: float
    """Seconds before the application certificate expires from which each start warns of it."""
    address_space: AddressSpace = "micro"

    @classmethod
    def from_config(cls, config: OpcUaConfig) -> OpcUaSettings:
        insecure = config.insecure
        return cls(
            endpoint=config.endpoint,
            host=config.host,
            port=config.port,
            policies=tuple(config.security),
            none_policy=insecure is not None and insecure.none_policy,
            sign_only=config.sign_only,
            anonymous_read=insecure is not None and insecure.anonymous_read,
            pki=config.pki,
            users=config.users,
            max_sessions=config.limits.max_sessions,
            max_message_size=int(config.limits.max_message_size),
            certificate_warning=config.certificate_warning,
            address_space=config.address_space,
        )

    @property
    def insecure(self) -> bool:
        return self.none_policy or self.anonymous_read

    @property
    def on_loopback(self) -> bool:
        return is_loopback(self.host)


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
    """The OPC UA server of one agent: tags from ``store``, security from ``config``.

    ``config`` must be a validated OpcUaConfig; a changed copy (``model_copy``) is not checked again,
    except that insecure settings on an endpoint that is not loopback refuse to start.
    """

    def __init__(
        self,
        config: OpcUaConfig,
        store: TagStore,
        *,
        server_name: str,
        application_uri: str,
        user_directory: UserDirectory | None = None,
        environment: EnvironmentFactory | None = None,
        administration: Administration | None = None,
        history: HistoryStore | None = None,
    ) -> None:
        self._settings = OpcUaSettings.from_config(config)
        self._environment = environment
        self._administration = administration
        self._history = history
        self._refresher: asyncio.Task[None] | None = None
        self._ruleset = AgentPermissionRuleset()
        self._method_rights: dict[ua.NodeId, Right] = dict(SERVER_METHOD_RIGHTS)
        """The right each method needs, by its NodeId; filled as methods are added."""
        self.shell: ShellNodes | None = None
        self._store = store
        self._server_name = server_name
        self._application_uri = application_uri
        self._user_directory = user_directory
        # One count of failed logins per user name for every face of the agent (OPC UA and HTTP).
        self.login_guard = LoginGuard()
        self._pki = PkiLayout(self._settings.pki)
        self._server: Server | None = None
        self._tags: TagNodes | None = None
        self._identity: ApplicationIdentity | None = None

    @property
    def endpoint_url(self) -> str:
        """The endpoint clients connect to."""
        return self._settings.endpoint

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
        settings, url = self._settings, self._settings.endpoint
        lines = [f"{url} {policy} SignAndEncrypt" for policy in settings.policies]
        if settings.sign_only:
            lines += [f"{url} {policy} Sign (not encrypted)" for policy in settings.policies]
        if settings.none_policy:
            lines.append(f"{url} None (INSECURE, loopback demo, read only)")
        if settings.anonymous_read:
            lines.append(f"{url} anonymous read-only sessions (INSECURE)")
        return lines

    def diagnostics(self) -> dict[str, object]:
        """The endpoint, its ways in and how many sessions are active, JSON-ready."""
        server = self._server
        sessions = activated_sessions(server) if server is not None else 0
        return {
            "endpoint": self.endpoint_url,
            "security": self.security_summary(),
            "sessions": sessions,
            "max_sessions": self._settings.max_sessions,
        }

    def insecure_warnings(self) -> list[str]:
        settings, url = self._settings, self._settings.endpoint
        warnings = []
        if settings.sign_only:
            warnings.append(
                f"Sign-only endpoints are enabled on {url} (opcua.sign_only): messages on them are signed "
                "but not encrypted: tag values and user passwords can be read by anyone on the network path"
            )
        if settings.none_policy:
            warnings.append(
                f"INSECURE: the None security policy is enabled on {url}: messages are neither signed "
                "nor encrypted and clients are not authenticated; sessions on it may only read"
            )
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
        if settings.insecure and not settings.on_loopback:
            # The config refuses this too; a copy changed after validation must not get past it.
            raise InsecureEndpointError(
                f"refusing to serve OPC UA on {settings.endpoint}: insecure settings (opcua.insecure) are "
                "only allowed on a loopback endpoint such as opc.tcp://127.0.0.1:4840"
            )
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
        expiring = expiry_warning(
            identity.certificate,
            path=self._pki.own_certificate,
            pki=self._pki.root,
            window=timedelta(seconds=settings.certificate_warning),
            made_here=identity.made_here,
        )
        if expiring is not None:
            log.warning("%s", expiring)
        server = await self._build_server(identity)
        # Equal attributes of the built nodes become one object: a tag with a unit and a range costs
        # about a third of the memory it would otherwise.
        sharer = AttributeSharer()
        tags = TagNodes(server, self._store)
        await tags.build(sharer)
        if self._environment is not None:
            der = identity.certificate.public_bytes(serialization.Encoding.DER)
            self.shell = await self._build_shell(server, tags, self._environment(der), sharer)
        if self._history is not None:
            history = self._history
            recorded = {node: info for node, info in tags.value_nodes.items() if history.records(info.name)}
            await enable_history(server, history, recorded)
        # Last: the attributes it covers must be the ones the address space ends up with.
        install_user_attributes(server, self._method_rights)
        await server.start()
        try:
            tags.start()
        except BaseException:
            await tags.stop()
            await server.stop()
            raise
        self._server, self._tags, self._identity = server, tags, identity
        if self.shell is not None:
            der = identity.certificate.public_bytes(serialization.Encoding.DER)
            self._refresher = asyncio.create_task(
                self._refresh_shell(self.shell, der), name="opcua-shell-refresh"
            )
        for line in self.security_summary():
            log.info("OPC UA endpoint: %s", line)
        for warning in self.insecure_warnings():
            log.warning("%s", warning)

    async def stop(self) -> None:
        server, tags = self._server, self._tags
        self._server = self._tags = None
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        if tags is not None:
            await tags.stop()
        if server is not None:
            await server.stop()

    async def _refresh_shell(self, shell: ShellNodes, certificate_der: bytes) -> None:
        """Keep what the shell says of itself current (inference counts, days to expiry) while serving."""
        assert self._environment is not None
        while True:
            await asyncio.sleep(SHELL_REFRESH_S)
            try:
                await shell.refresh(self._environment(certificate_der))
            except Exception:
                log.exception("refreshing the shell's values failed; trying again in %.0f s", SHELL_REFRESH_S)

    async def _build_shell(
        self, server: Server, tags: TagNodes, environment: aas.Environment, sharer: AttributeSharer
    ) -> ShellNodes:
        known = {info.name: info for info in self._store.tags}
        shell = ShellNodes(server, known.get)
        await shell.build(environment, sharer)
        for nodeid, info in shell.live.items():
            tags.alias(nodeid, info.name)
        assert shell.namespace_index is not None
        for node in shell.shells:
            methods = await add_admin_methods(server, node, shell.namespace_index, self._administration)
            for name, method in methods.items():
                self._method_rights[method] = METHOD_RIGHTS[name]
        return shell

    async def _build_server(self, identity: ApplicationIdentity) -> Server:
        settings = self._settings
        server = build_server(
            user_manager=AgentUserManager(
                anonymous=settings.anonymous_read, directory=self._user_directory, guard=self.login_guard
            ),
            max_sessions=settings.max_sessions,
            max_connections=settings.max_sessions + SPARE_CONNECTIONS,
            ns0_keep=kept_nodes(settings.address_space),
            ns0_items=kept_items_file(settings.address_space),
        )
        server.name = self._server_name
        server.product_uri = PRODUCT_URI
        server.manufacturer_name = MANUFACTURER
        server.application_type = ua.ApplicationType.Server
        server.set_endpoint(settings.endpoint)
        server.socket_address = (settings.host, settings.port)
        await server.init()
        await server.set_application_uri(self._application_uri)
        await server.set_build_info(
            PRODUCT_URI, MANUFACTURER, PRODUCT_NAME, _version(), _version(), _build_date()
        )

        server.allow_remote_admin(False)
        judge_method_calls(server, MethodRightsCheck(self._method_rights))
        add_subscription_methods(server)
        use_identity(server, identity.certificate, identity.private_key)
        policy_types = secure_policy_types(settings.policies, sign_only=settings.sign_only)
        if settings.none_policy:
            policy_types.append(ua.SecurityPolicyType.NoSecurity)
        server.set_security_policy(policy_types, permission_ruleset=self._ruleset)
        unsecured = UnsecuredReadRuleset() if settings.none_policy else DiscoveryOnlyRuleset()
        set_unsecured_channel_ruleset(server, identity.certificate, identity.private_key, unsecured)
        tokens: list[type] = [ua.UserNameIdentityToken, ua.X509IdentityToken]
        if settings.anonymous_read:
            tokens.insert(0, ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        server.set_certificate_validator(TrustListValidator(self._pki))
        server.limits = transport_limits(settings.max_message_size)
        return server


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
