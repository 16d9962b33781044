"""Method calls judged one by one against the caller's rights (Part 4: each method gets its own status).

A Call request may hold several methods; each one the caller's roles allow runs, each other one is
answered BadUserAccessDenied, and every one is audited.
"""

from __future__ import annotations

from collections.abc import Mapping

from asyncua import ua

from ..audit import audit
from .caller import current_caller
from .rights import UNLISTED_METHOD_RIGHT, Right, who


class MethodRightsCheck:
    """Whether the caller may run a method, audited (judge_method_calls asks it for each method of a Call).

    ``method_rights`` is the right each method needs, by its NodeId; a method not in it needs
    UNLISTED_METHOD_RIGHT. Calls without a caller are the server's own and always run, unaudited.
    """

    def __init__(self, method_rights: Mapping[ua.NodeId, Right]) -> None:
        self._method_rights = method_rights

    def __call__(self, method: ua.CallMethodRequest) -> bool:
        caller = current_caller()
        if caller is None:
            return True
        permitted = caller.may_call(self._method_rights.get(method.MethodId, UNLISTED_METHOD_RIGHT))
        audit(
            "call",
            who=who(caller.user),
            method=_method_name(method.MethodId),
            result="allowed" if permitted else "BadUserAccessDenied",
        )
        return permitted


def _method_name(method: ua.NodeId) -> str:
    if method.NamespaceIndex == 0 and isinstance(method.Identifier, int):
        name: str = ua.ObjectIdNames.get(method.Identifier, str(method.Identifier))
        return name.removeprefix("Server_")
    return str(method.Identifier).rsplit("#", 1)[-1]
