"""What each OPC UA Part 18 role may do on the agent's server; the README's table of rights is this one.

| right | Observer | Operator | Engineer | SecurityAdmin |
|---|---|---|---|---|
| browse, read, subscribe, read history, ExportAAS, GetMonitoredItems, ResendData | yes | yes | yes | yes |
| write writable tags, GetDiagnostics | no | yes | yes | yes |
| ReloadConfiguration (which also swaps models) | no | no | yes | yes |
| manage trust lists and users | no | no | no | yes |

Roles are cumulative, each above the one before. A session without Part 18 roles (asyncua's own
User, as tests and the anonymous demo make them) has the rights of an Observer when anonymous and
of an Operator otherwise. GetMonitoredItems and ResendData (standard methods of the Server object)
act on the calling session's own subscriptions only.

What a session may do is also what it reads: a variable's UserAccessLevel is its AccessLevel without
the write bits for a session that may not write, a method's UserExecutable is false for a session whose
roles do not allow it. Sessions on the read-only None channel of the loopback demo may neither write
nor call, whatever their roles.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from asyncua import ua
from asyncua.crypto.permission_rules import UserRole


class Right(StrEnum):
    READ = "read"
    WRITE = "write"
    DIAGNOSE = "diagnose"
    RECONFIGURE = "reconfigure"
    SECURE = "secure"


_OBSERVER = frozenset({Right.READ})
_OPERATOR = _OBSERVER | {Right.WRITE, Right.DIAGNOSE}
_ENGINEER = _OPERATOR | {Right.RECONFIGURE}
_SECURITY_ADMIN = _ENGINEER | {Right.SECURE}

ROLE_RIGHTS: dict[str, frozenset[Right]] = {
    "Observer": _OBSERVER,
    "Operator": _OPERATOR,
    "Engineer": _ENGINEER,
    "SecurityAdmin": _SECURITY_ADMIN,
}

METHOD_RIGHTS: dict[str, Right] = {
    "ExportAAS": Right.READ,
    "GetDiagnostics": Right.DIAGNOSE,
    "ReloadConfiguration": Right.RECONFIGURE,
}
"""The right each administration method needs, by name."""

SERVER_METHOD_RIGHTS: dict[ua.NodeId, Right] = {
    # Both act only on a subscription of the calling session (Part 4): reading what it subscribed to.
    ua.NodeId(ua.ObjectIds.Server_GetMonitoredItems): Right.READ,
    ua.NodeId(ua.ObjectIds.Server_ResendData): Right.READ,
}
"""The right each standard method of the Server object needs; any other method not in a table of rights
(asyncua's other standard ones) needs WRITE."""

UNLISTED_METHOD_RIGHT = Right.WRITE


def roles_of(user: Any) -> frozenset[str]:
    """The Part 18 role names of a session's user."""
    roles = getattr(user, "roles", None)
    if roles:
        return frozenset(str(role) for role in roles)
    if user is None or getattr(user, "role", UserRole.Anonymous) is UserRole.Anonymous:
        return frozenset({"Observer"})
    return frozenset({"Operator"})


def rights_of(user: Any) -> frozenset[Right]:
    found: frozenset[Right] = frozenset()
    for role in roles_of(user):
        found |= ROLE_RIGHTS.get(role, frozenset())
    return found


def who(user: Any) -> str:
    """A user as the audit log names it: name and roles."""
    name = getattr(user, "name", None) or "anonymous"
    return f"{name} ({', '.join(sorted(roles_of(user)))})"
