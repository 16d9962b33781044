"""Who the request being served comes from, for the code asyncua hands no user to.

asyncua gives the session's user to the permission ruleset with every request of a session, but not to
attribute reads, monitored items or method calls. The ruleset notes the caller here, in a ContextVar:
asyncua serves each connection's requests one after another in that connection's own task, and a
connection carries one session (sessions.AgentUaProcessor), so the caller noted for a request is seen
by everything that request runs, and by no other connection. Tasks a request starts (a subscription's
publishing) keep that session's caller. The server's own reads and calls run with no caller.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from .rights import Right, rights_of


@dataclass(frozen=True, slots=True)
class Caller:
    """A session's user and what that user may do over the channel the session is on."""

    user: Any
    rights: frozenset[Right]
    read_only_channel: bool = False
    """Whether the channel carries reads only (the None channel of the loopback demo), whatever the roles."""

    @classmethod
    def of(cls, user: Any, *, read_only_channel: bool = False) -> Caller:
        return cls(user, rights_of(user), read_only_channel)

    def may_write(self) -> bool:
        return not self.read_only_channel and Right.WRITE in self.rights

    def may_call(self, needed: Right) -> bool:
        return not self.read_only_channel and needed in self.rights


_caller: ContextVar[Caller | None] = ContextVar("opcua_caller", default=None)


def serving(caller: Caller) -> None:
    """Note the caller of the request about to be served (the permission ruleset calls this)."""
    _caller.set(caller)


def current_caller() -> Caller | None:
    """The caller of the request being served; None for the server's own reads and calls."""
    return _caller.get()
