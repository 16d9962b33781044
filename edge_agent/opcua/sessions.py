"""Sessions: how many there may be, and which secure channel each one belongs to.

Gaps in asyncua 2.1 closed here:

- It caps sessions only with a process-wide class attribute, so the cap lives here, per server:
  CreateSession beyond ``max_sessions`` live sessions fails with BadTooManySessions.
- It validates the certificate a client names in CreateSession, and only when one is named, but
  never checks that it is the certificate the secure channel was opened with. A client could name
  someone else's trusted certificate, or none at all, and go on over a channel secured with an
  untrusted one. A session here is activated only over a channel whose certificate is the one that
  passed validation.
- It lets any client register servers that FindServers then lists; here RegisterServer is refused.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.uacrypto import der_from_x509, x509_from_der
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_session import InternalSession, SessionState

from .security import UserTokenCertificate

log = logging.getLogger(__name__)

_ANONYMOUS = User(role=UserRole.Anonymous)


class AgentInternalServer(InternalServer):
    """asyncua's InternalServer with a per-server session cap and channel-bound sessions."""

    def __init__(self, *, user_manager: Any, max_sessions: int) -> None:
        super().__init__(user_manager=user_manager)
        self.max_sessions = max_sessions
        self._client_sessions: weakref.WeakSet[InternalSession] = weakref.WeakSet()

    @property
    def live_sessions(self) -> int:
        return sum(1 for session in self._client_sessions if session.state is not SessionState.Closed)

    def create_session(self, name: str, user: User = _ANONYMOUS, external: bool = False) -> InternalSession:
        if not external:
            return super().create_session(name, user=user, external=external)
        if self.live_sessions >= self.max_sessions:
            log.warning("refused a session from %s: %d sessions already open", name, self.max_sessions)
            raise ServiceError(ua.StatusCodes.BadTooManySessions)
        session = ChannelBoundSession(
            self, self.aspace, self.subscription_service, name, user=user, external=True
        )
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


class ChannelBoundSession(InternalSession):
    """A session that can only be activated over a channel secured with its validated certificate."""

    _client_certificate: bytes | None = None

    async def create_session(
        self, params: ua.CreateSessionParameters, sockname: tuple[str, int] | None = None
    ) -> ua.CreateSessionResult:
        # The base class runs the server's certificate validator on this certificate.
        result = await super().create_session(params, sockname)
        # Compared in the form the secure channel keeps its peer's certificate: the first of a chain.
        self._client_certificate = der_from_x509(x509_from_der(params.ClientCertificate)) or None
        return result

    def activate_session(
        self, params: ua.ActivateSessionParameters, peer_certificate: bytes | None
    ) -> ua.ActivateSessionResult:
        # An unsecured channel has no certificate; what it may do is the permission ruleset's call.
        if peer_certificate and peer_certificate != self._client_certificate:
            log.warning(
                "refused to activate session %s: its channel certificate was not validated", self.name
            )
            raise ServiceError(ua.StatusCodes.BadSecurityChecksFailed)
        return super().activate_session(params, peer_certificate)
