"""Who an HTTP request comes from: a client certificate or HTTP Basic credentials of the users file.

The same users, roles, lockout and audit records as the OPC UA server: one UserStore, one LoginGuard (a
user name locked out after failed logins is locked out of both faces), `login` audit records. Anonymous
requests read only, and only where the config opts in (the loopback demo).

A password hash takes 100 ms or more by design, so a request's credentials are not hashed each time: a
successful login is remembered for CREDENTIAL_CACHE_S under the SHA-256 of its user name and password
(the password itself is never kept), as web servers' auth caches do; a changed users file empties it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ..audit import audit
from ..identity.users import UserStore
from ..opcua.rights import ROLE_RIGHTS, Right, roles_of
from ..opcua.security import NO_USER_STORE, UNKNOWN_CERTIFICATE, WRONG_CREDENTIALS, LoginGuard, locked_out
from .model import Principal
from .sessions import COOKIE, Session, SessionStore

log = logging.getLogger(__name__)

CREDENTIAL_CACHE_S = 60.0
REALM = 'Basic realm="edge-agent", charset="UTF-8"'
PRINCIPAL = web.RequestKey("principal", Principal)
"""The request key under which handlers find the Principal."""
SESSION = web.RequestKey("session", Session)
"""The request key of the browser session a request came with, when it came with one."""

ANONYMOUS = Principal("anonymous", frozenset({"Observer"}), ROLE_RIGHTS["Observer"])

Refusal = Callable[[int, str], web.Response]
"""Builds the error response (status, text) in the API's Result shape."""


@dataclass
class _Remembered:
    principal: Principal
    until: float
    users_signature: object


class Authenticator:
    """Finds the Principal of a request; see the module's docstring."""

    def __init__(
        self,
        users: UserStore | None,
        guard: LoginGuard,
        *,
        anonymous_read: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
        self._guard = guard
        self._anonymous_read = anonymous_read
        self._clock = clock
        self._remembered: dict[bytes, _Remembered] = {}
        self.sessions = SessionStore(clock)
        self.open_paths: tuple[str, ...] = ()
        """Path prefixes served without credentials."""
        self.login_page: str | None = None
        """Where a browser without credentials is sent."""

    def users_signature(self) -> object:
        return self._users.signature() if self._users is not None else None

    def session_of(self, request: web.Request) -> Session | None:
        """The browser session the request's cookie names, if it is live."""
        token = request.cookies.get(COOKIE)
        return self.sessions.find(token, self.users_signature()) if token else None

    async def principal(self, request: web.Request) -> tuple[Principal | None, str]:
        """The request's principal, or None and why not (for the log and the 401)."""
        session = self.session_of(request)
        if session is not None:
            request[SESSION] = session
            return session.principal, ""
        peer = request.remote or "?"
        certificate = _client_certificate(request)
        if certificate is not None:
            found = await self._by_certificate(certificate, peer)
            if found is not None:
                return found, ""
            if "Authorization" not in request.headers:
                return None, UNKNOWN_CERTIFICATE if self._users is not None else NO_USER_STORE
        header = request.headers.get("Authorization")
        if header is not None:
            return await self._by_password(header, peer)
        if self._anonymous_read:
            return ANONYMOUS, ""
        return None, "credentials are needed (HTTP Basic over TLS, or a client certificate)"

    async def _by_certificate(self, der: bytes, peer: str) -> Principal | None:
        key = b"x509:" + hashlib.sha256(der).digest()
        if (remembered := self._recall(key)) is not None:
            return remembered
        users = self._users
        user = users.authenticate_certificate(der) if users is not None else None
        if user is None:
            audit("login", via="aas-api", token="X509", peer=peer, result="BadUserAccessDenied")
            return None
        principal = _principal_of(user)
        audit("login", via="aas-api", user=principal.name, token="X509", peer=peer, result="Good")
        self._remember(key, principal)
        return principal

    def _recall(self, key: bytes) -> Principal | None:
        remembered = self._remembered.get(key)
        signature = self._users.signature() if self._users is not None else None
        if remembered and remembered.until > self._clock() and remembered.users_signature == signature:
            return remembered.principal
        return None

    def _remember(self, key: bytes, principal: Principal) -> None:
        now = self._clock()
        for old in [old for old, entry in self._remembered.items() if entry.until <= now]:
            del self._remembered[old]
        signature = self._users.signature() if self._users is not None else None
        self._remembered[key] = _Remembered(principal, now + CREDENTIAL_CACHE_S, signature)

    async def _by_password(self, header: str, peer: str) -> tuple[Principal | None, str]:
        credentials = _basic_credentials(header)
        if credentials is None:
            return None, "the Authorization header is not HTTP Basic credentials"
        return await self.login(*credentials, peer)

    async def login(self, name: str, password: str, peer: str) -> tuple[Principal | None, str]:
        """The principal of ``name`` if ``password`` is theirs, or None and why not; locked out after
        repeated failures (with OPC UA), audited."""
        key = b"basic:" + hashlib.sha256(f"{name}\0{password}".encode()).digest()
        if (remembered := self._recall(key)) is not None:
            return remembered, ""
        users = self._users
        locked = self._guard.locked_for(name)
        if locked:
            reason = locked_out(locked)
            audit("login", via="aas-api", user=name, peer=peer, result="BadUserAccessDenied", reason=reason)
            return None, reason
        if users is None:
            audit(
                "login",
                via="aas-api",
                user=name,
                peer=peer,
                result="BadUserAccessDenied",
                reason=NO_USER_STORE,
            )
            return None, NO_USER_STORE
        user = await asyncio.to_thread(users.authenticate_password, name, password)
        if user is None:
            delay = self._guard.failed(name)
            audit(
                "login",
                via="aas-api",
                user=name,
                peer=peer,
                result="BadUserAccessDenied",
                reason=WRONG_CREDENTIALS,
            )
            await asyncio.sleep(delay)
            return None, WRONG_CREDENTIALS
        self._guard.succeeded(name)
        principal = _principal_of(user)
        audit(
            "login",
            via="aas-api",
            user=name,
            peer=peer,
            result="Good",
            roles=",".join(sorted(principal.roles)),
        )
        self._remember(key, principal)
        return principal, ""

    def middleware(self, refuse: Refusal) -> Callable[..., Awaitable[web.StreamResponse]]:
        """An aiohttp middleware that puts the principal on each request, or answers 401.

        Paths in ``open_paths`` (the login form, the page's assets) are served to anyone; a browser that
        asks for a page without credentials is sent to the login form when there is one."""

        @web.middleware
        async def authenticate(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            principal, reason = await self.principal(request)
            if principal is None and request.path.startswith(self.open_paths):
                return await handler(request)
            if principal is None and self.login_page is not None and wants_html(request):
                raise web.HTTPSeeOther(self.login_page)
            if principal is None:
                log.info("refused an HTTP request from %s: %s", request.remote, reason)
                response = refuse(401, reason)
                response.headers["WWW-Authenticate"] = REALM
                return response
            request[PRINCIPAL] = principal
            return await handler(request)

        return authenticate


def _principal_of(user: object) -> Principal:
    roles = roles_of(user)
    rights: frozenset[Right] = frozenset()
    for role in roles:
        rights |= ROLE_RIGHTS.get(role, frozenset())
    return Principal(getattr(user, "name", None) or "?", roles, rights)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        text = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, colon, password = text.partition(":")
    return (name, password) if colon else None


def _client_certificate(request: web.Request) -> bytes | None:
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return der or None


def wants_html(request: web.Request) -> bool:
    """Whether the request asks for HTML before anything else, as browsers do (``text/html,...``)."""
    first = request.headers.get("Accept", "").split(",", 1)[0]
    return first.split(";", 1)[0].strip().lower() == "text/html"
