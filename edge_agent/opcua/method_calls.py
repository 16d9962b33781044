"""Method calls judged one by one against the caller's rights (Part 4: each method gets its own status).

A Call request may hold several methods; each one the caller's roles allow runs, each other one is
answered BadUserAccessDenied, and every one is audited.
"""

from __future__ import annotations

from collections.abc import Mapping

from asyncua import ua
from asyncua.server.address_space import AddressSpace, MethodService

from ..audit import audit
from .caller import current_caller
from .rights import UNLISTED_METHOD_RIGHT, Right, who


class RightsCheckedMethodService(MethodService):
    """asyncua's method service, running only the methods the caller may call.

    ``method_rights`` is the right each method needs, by its NodeId; a method not in it needs
    UNLISTED_METHOD_RIGHT. Calls without a caller are the server's own and always run.
    """

    def __init__(self, aspace: AddressSpace, method_rights: Mapping[ua.NodeId, Right]) -> None:
        super().__init__(aspace)
        self._method_rights = method_rights

    async def call(self, methods: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
        caller = current_caller()
        if caller is None:
            return await super().call(methods)
        results: list[ua.CallMethodResult] = []
        for method in methods:
            permitted = caller.may_call(self._method_rights.get(method.MethodId, UNLISTED_METHOD_RIGHT))
            audit(
                "call",
                who=who(caller.user),
                method=_method_name(method.MethodId),
                result="allowed" if permitted else "BadUserAccessDenied",
            )
            if permitted:
                results.extend(await super().call([method]))
            else:
                results.append(
                    ua.CallMethodResult(StatusCode=ua.StatusCode(ua.StatusCodes.BadUserAccessDenied))
                )
        return results


def _method_name(method: ua.NodeId) -> str:
    if method.NamespaceIndex == 0 and isinstance(method.Identifier, int):
        return ua.ObjectIdNames.get(method.Identifier, str(method.Identifier)).removeprefix("Server_")
    return str(method.Identifier).rsplit("#", 1)[-1]
