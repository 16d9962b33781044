"""Sessions: how many there may be, and which connection each one belongs to.

Gaps in asyncua 2.1 closed here:

- It caps sessions only with a process-wide class attribute, so the cap lives here, per server. Only
  activated sessions count: CreateSession or ActivateSession beyond ``max_sessions`` activated
  sessions fails with BadTooManySessions, and a session nobody activates holds no place.
- It answers CreateSession on any channel, even the unsecured one every client may open to ask for
  the endpoints. Here a session is created only on a channel whose permission ruleset is meant for
  sessions (an AgentPermissionRuleset): a secured channel, or the None channel when it is offered.
- It validates the certificate a client names in CreateSession, and only when one is named, but
  never checks that it is the certificate the secure channel was opened with. Here CreateSession on
  a secured channel must name the channel's own certificate, the one whose key the client proved.
- It validates that certificate on the None channel too, so a client that sends its own (as
  node-opcua's default client, UaExpert and most GUI clients do) is refused there with
  BadCertificateUntrusted and filed as rejected. OPC UA Part 4 (CreateSession parameters) says: if
  the securityPolicyUri is None, the Server shall ignore the ApplicationInstanceCertificate. Here it
  is removed from the request before asyncua reads it: not validated, not filed, not audited.
- It lets one connection create session after session, each left registered until activated (with
  no timeout before that); it keeps an activated session with subscriptions after its connection is
  lost; and it lets any new channel take over a session by its authentication token, which is a
  counter. Here a connection holds at most one session, the session is activated only over that
  connection, a connection with no activated session is closed after ACTIVATION_DEADLINE_S, and a
  session is closed with its connection, so its place is free at once.
- It lets any client register servers that FindServers then lists; here RegisterServer is refused.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import weakref
from typing import Any

from asyncua import Server, ua
from asyncua.common.utils import Buffer, ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.security_policies import SecurityPolicyNone
from asyncua.crypto.uacrypto import der_from_x509, x509_from_der
from asyncua.server.binary_server_asyncio import BinaryServer, OPCUAProtocol
from asyncua.server.internal_session import InternalSession, SessionState
from asyncua.server.uaprocessor import UaProcessor
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary, uatcp_to_binary

from ..security import AgentPermissionRuleset, AgentUserManager, UserTokenCertificate
from .ns0 import ReducibleInternalServer

log = logging.getLogger(__name__)

# A connection that has not activated a session this many seconds after it was opened is closed,
# and with it any session it created.
ACTIVATION_DEADLINE_S = 10.0

# The header of every OPC UA TCP message: type, chunk type, size including the header.
_HEADER = struct.Struct("<3scI")
# The smallest receive buffer OPC UA allows (Part 6); a Hello is never refused for being this big.
_MIN_CHUNK = 8192

_ANONYMOUS = User(role=UserRole.Anonymous)
_CREATE_SESSION = ua.NodeId(ua.ObjectIds.CreateSessionRequest_Encoding_DefaultBinary)
_ACTIVATE_SESSION = ua.NodeId(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)


class AgentInternalServer(ReducibleInternalServer):
    """asyncua's InternalServer with a per-server cap on activated sessions."""

    def __init__(self, *, user_manager: Any, max_sessions: int) -> None:
        super().__init__(user_manager=user_manager)
        self.max_sessions = max_sessions
        self.max_pending_activation_seconds = ACTIVATION_DEADLINE_S
        self._client_sessions: weakref.WeakSet[AgentSession] = weakref.WeakSet()

    def client_sessions(self) -> list[AgentSession]:
        """The sessions clients hold now, activated or not."""
        return list(self._client_sessions)

    @property
    def activated_sessions(self) -> int:
        return sum(1 for session in self._client_sessions if session.is_activated())

    def claim_session_place(self, name: str) -> None:
        """Refuse (BadTooManySessions) when every place is taken by an activated session."""
        if self.activated_sessions >= self.max_sessions:
            log.warning("refused a session from %s: %d sessions already open", name, self.max_sessions)
            raise ServiceError(ua.StatusCodes.BadTooManySessions)

    def create_session(self, name: str, user: User = _ANONYMOUS, external: bool = False) -> InternalSession:
        if not external:
            return super().create_session(name, user=user, external=external)
        self.claim_session_place(name)
        session = AgentSession(self, self.aspace, self.subscription_service, name, user=user, external=True)
        self._client_sessions.add(session)
        return session

    def register_server(self, server: Any, conf: Any = None) -> None:
        # asyncua answers RegisterServer from anyone, over any channel, and then lists the
        # registered server in FindServers. This server is no discovery server.
        raise ServiceError(ua.StatusCodes.BadServiceUnsupported)

    def verify_x509_token(
        self, isession: Any, token: ua.X509IdentityToken, signature: ua.SignatureData
    ) -> bytes:
        return UserTokenCertificate(super().verify_x509_token(isession, token, signature))


class AgentSession(InternalSession):
    """A client's session: it takes a place when first activated, if one is free."""

    iserver: AgentInternalServer

    def activate_session(
        self, params: ua.ActivateSessionParameters, peer_certificate: bytes | None
    ) -> ua.ActivateSessionResult:
        if self.state is SessionState.Created:
            self.iserver.claim_session_place(self.name)
        return super().activate_session(params, peer_certificate)


class AgentUaProcessor(UaProcessor):
    """Serves one client connection: at most one session, created and activated over it alone."""

    async def _process_message(self, typeid: ua.NodeId, requesthdr: Any, seqhdr: Any, body: Buffer) -> Any:
        if typeid == _ACTIVATE_SESSION and self.session is not None:
            await self._check_password_first(body)
        if typeid == _CREATE_SESSION:
            return await self._create_session(typeid, requesthdr, seqhdr, body)
        if typeid == _ACTIVATE_SESSION and self.session is None:
            # asyncua would look the session up by its authentication token and hand it to this
            # connection; a session here belongs to the connection that created it.
            log.warning("refused to activate a session %s did not create", self.name)
            raise ServiceError(ua.StatusCodes.BadSessionIdInvalid)
        return await super()._process_message(typeid, requesthdr, seqhdr, body)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self._close_session()

    async def _create_session(self, typeid: ua.NodeId, requesthdr: Any, seqhdr: Any, body: Buffer) -> Any:
        channel = self._connection.security_policy
        if not isinstance(channel.permissions, AgentPermissionRuleset):
            log.warning(
                "refused a session from %s on an unsecured channel: the None security policy is not offered",
                self.name,
            )
            raise ServiceError(ua.StatusCodes.BadSecurityPolicyRejected)
        if channel.URI == SecurityPolicyNone.URI:
            body = _without_client_certificate(body)
        elif channel.peer_certificate:
            params = struct_from_binary(ua.CreateSessionParameters, body.copy())
            if _first_certificate(params.ClientCertificate) != channel.peer_certificate:
                log.warning(
                    "refused a session from %s: it names another certificate than its channel's", self.name
                )
                raise ServiceError(ua.StatusCodes.BadSecurityChecksFailed)
        await self._close_session()
        try:
            return await super()._process_message(typeid, requesthdr, seqhdr, body)
        except BaseException:
            # A refused CreateSession (untrusted certificate, no place) leaves nothing behind.
            await self._close_session()
            raise

    async def _check_password_first(self, body: Buffer) -> None:
        """Have the user manager check a password off the event loop before asyncua asks it, on the loop."""
        manager = self.iserver.user_manager
        if not isinstance(manager, AgentUserManager):
            return
        try:
            params = struct_from_binary(ua.ActivateSessionParameters, body.copy())
            token = params.UserIdentityToken
            if not isinstance(token, ua.UserNameIdentityToken):
                return
            username, password = self.iserver.decrypt_user_token(self.session, token)
        except Exception:
            return  # asyncua's own activation answers what is wrong with the token
        await manager.prepare(username, password or "", peer=self.name)

    async def _close_session(self) -> None:
        watchdog = self._session_watchdog_task
        if watchdog is not None and watchdog is not asyncio.current_task():
            watchdog.cancel()
        if self.session is not None:
            await self.session.close_session(True)


class AgentProtocol(OPCUAProtocol):
    """asyncua's per-connection protocol, with an AgentUaProcessor, refusing oversized input early.

    asyncua buffers whatever a message header announces (up to 4 GB) before it looks at the size, and
    reassembles a multi-chunk message up to max_message_size for anyone who opened a channel, session
    or not: fifty half-sent GetEndpoints messages could hold 100 MB. Here a chunk larger than the
    receive buffer the server offers is refused as soon as its header arrives, and so is a message in
    several chunks before the connection has an activated session (nothing a client sends before that
    needs more than one chunk). Both end the connection with BadTcpMessageTooLarge.
    """

    # OPCUAProtocol's, declared for the type checker (asyncua is not followed; see pyproject.toml).
    _buffer: bytes
    processor: UaProcessor | None

    def data_received(self, data: bytes) -> None:
        head = (
            data[: _HEADER.size]
            if not self._buffer
            else (self._buffer + data[: _HEADER.size])[: _HEADER.size]
        )
        if len(head) == _HEADER.size and self.transport is not None:
            refusal = self._refusal(*_HEADER.unpack(head))
            if refusal is not None:
                log.warning("refused a message from %s: %s", self.peer_name, refusal)
                self._buffer = b""
                error = ua.ErrorMessage(ua.StatusCode(ua.StatusCodes.BadTcpMessageTooLarge), refusal)
                self.transport.write(uatcp_to_binary(ua.MessageType.Error, error))
                self.transport.close()
                return
        super().data_received(data)

    def _refusal(self, message_type: bytes, chunk_type: bytes, size: int) -> str | None:
        if size > max(self.limits.max_recv_buffer, _MIN_CHUNK):
            return f"a chunk of {size} bytes is larger than the {self.limits.max_recv_buffer} bytes offered"
        if chunk_type == ua.ChunkType.Intermediate and not self._has_activated_session():
            return "a message in several chunks before a session is activated"
        return None

    def _has_activated_session(self) -> bool:
        session = self.processor.session if self.processor is not None else None
        return session is not None and session.state == SessionState.Activated

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if self.processor is not None:
            # Replaced before it has seen a byte: the message loop only starts on the next turn.
            self.processor = AgentUaProcessor(self.iserver, self.transport, self.limits)
            self.processor.set_policies(self.policies)


class AgentServer(Server):
    """asyncua's Server, serving every connection with an AgentUaProcessor."""

    # asyncua builds its BinaryServer inside start() and assigns it here right before it starts
    # listening, with no other hook for the connection protocol.
    @property
    def bserver(self) -> BinaryServer | None:
        return self._binary_server

    @bserver.setter
    def bserver(self, binary_server: BinaryServer | None) -> None:
        if binary_server is not None:
            binary_server._make_protocol = lambda: _agent_protocol(binary_server)
        self._binary_server = binary_server


def _agent_protocol(binary_server: BinaryServer) -> AgentProtocol:
    return AgentProtocol(
        iserver=binary_server.iserver,
        policies=binary_server._policies,
        clients=binary_server.clients,
        closing_tasks=binary_server.closing_tasks,
        limits=binary_server.limits,
    )


def _without_client_certificate(body: Buffer) -> Buffer:
    """A CreateSession request body with no client certificate, the rest as it was."""
    params = struct_from_binary(ua.CreateSessionParameters, body.copy())
    if not params.ClientCertificate:
        return body
    params.ClientCertificate = None
    return Buffer(struct_to_binary(params))


def _first_certificate(der: bytes | None) -> bytes:
    """The first certificate of a DER chain, as a secure channel keeps its peer's; b"" if none."""
    try:
        return bytes(der_from_x509(x509_from_der(der)))
    except ValueError:
        return b""
