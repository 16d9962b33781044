"""Browser sessions of the HTTP face: a random token in a cookie, kept here with who signed in.

A person signs in once with the login form (the same users file, lockout and audit as every login) and
their browser then sends the session cookie: HttpOnly (no script reads it), SameSite=Strict (no other
site's page sends it) and Secure over HTTPS. Each session carries its own CSRF token, which every form
that changes something must send back. Sessions live in memory: a restarted agent asks again.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from .model import Principal

COOKIE = "edge_agent_session"
IDLE_S = 8 * 3600.0
"""A session unused this long is closed (a shift)."""
MAX_SESSIONS = 64
"""Beyond this the least recently used session is closed: logins cannot grow the agent's memory."""


@dataclass
class Session:
    principal: Principal
    csrf: str
    """What a form that changes something must send back: proof it comes from this agent's own page."""
    users_signature: object
    last_used: float


class SessionStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, principal: Principal, users_signature: object) -> tuple[str, Session]:
        """A new session for ``principal``; returns its cookie value and the session."""
        self._forget_idle()
        while len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions, key=lambda token: self._sessions[token].last_used)
            del self._sessions[oldest]
        token = secrets.token_urlsafe(32)
        session = Session(principal, secrets.token_urlsafe(32), users_signature, self._clock())
        self._sessions[token] = session
        return token, session

    def find(self, token: str, users_signature: object) -> Session | None:
        """The live session of ``token``; None if unknown, idle too long, or the users file has changed
        since it was opened (a removed user or a changed role must not live on in a browser)."""
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_used > IDLE_S or session.users_signature != users_signature:
            del self._sessions[token]
            return None
        session.last_used = now
        return session

    def close(self, token: str) -> None:
        self._sessions.pop(token, None)

    def _forget_idle(self) -> None:
        now = self._clock()
        for token in [t for t, s in self._sessions.items() if now - s.last_used > IDLE_S]:
            del self._sessions[token]
