"""asyncua's Write, Call and HistoryRead services with the agent's own handling put in front.

asyncua has no public hook before a service acts on a request: a write is applied by its
AttributeService (Node.set_writable and value setters see it only after the rights check and only
per node), a Call runs every method of the request through its MethodService, and HistoryRead goes
to a HistoryManager whose storage interface gets continuation points as bare timestamps. Each is
replaced here by a subclass that asks the agent first (seams S8-S10 of the package docstring).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AddressSpace, AttributeService, MethodService
from asyncua.server.history import HistoryManager
from asyncua.server.internal_server import InternalServer

Target = TypeVar("Target")
WriteHandler = Callable[[Target, ua.WriteValue, User], Awaitable[ua.StatusCode]]
CallPermit = Callable[[ua.CallMethodRequest], bool]
HistoryReader = Callable[[ua.HistoryReadParameters], Awaitable[list[ua.HistoryReadResult]]]

# Who asyncua's own (in-process) session is; its writes carry no other user.
SERVER_USER = User(role=UserRole.Admin)


class _RoutedAttributeService(AttributeService, Generic[Target]):
    """Writes of the Value of a node in ``targets`` go to ``handler``; other writes go on as asyncua's."""

    def __init__(
        self, aspace: AddressSpace, targets: Mapping[ua.NodeId, Target], handler: WriteHandler[Target]
    ) -> None:
        super().__init__(aspace)
        self._targets = targets
        self._handler = handler

    async def write(self, params: ua.WriteParameters, user: User = SERVER_USER) -> list[ua.StatusCode]:
        results: list[ua.StatusCode] = []
        for write_value in params.NodesToWrite:
            target = self._targets.get(write_value.NodeId)
            if target is None or write_value.AttributeId != ua.AttributeIds.Value:
                results.extend(await super().write(ua.WriteParameters(NodesToWrite=[write_value]), user))
            else:
                results.append(await self._handler(target, write_value, user))
        return results


def route_value_writes(
    server: Server, targets: Mapping[ua.NodeId, Target], handler: WriteHandler[Target]
) -> None:
    """Have a client's write of the Value of a node in ``targets`` answered by ``handler``.

    The handler is called as ``handler(target, write_value, user)``.

    ``targets`` is looked up at each write, so it may still grow.
    """
    iserver = server.iserver
    iserver.attribute_service = _RoutedAttributeService(iserver.aspace, targets, handler)


class _PermittedMethodService(MethodService):
    """Runs each method of a Call that ``permit`` allows; answers each other one BadUserAccessDenied."""

    def __init__(self, aspace: AddressSpace, permit: CallPermit) -> None:
        super().__init__(aspace)
        self._permit = permit

    async def call(self, methods: list[ua.CallMethodRequest]) -> list[ua.CallMethodResult]:
        results: list[ua.CallMethodResult] = []
        for method in methods:
            if self._permit(method):
                results.extend(await super().call([method]))
            else:
                results.append(
                    ua.CallMethodResult(StatusCode=ua.StatusCode(ua.StatusCodes.BadUserAccessDenied))
                )
        return results


def judge_method_calls(server: Server, permit: CallPermit) -> None:
    """Ask ``permit`` about each method of every Call (Part 4: each method gets its own status)."""
    iserver = server.iserver
    iserver.method_service = _PermittedMethodService(iserver.aspace, permit)


class _DelegatingHistoryManager(HistoryManager):
    """asyncua's history manager with HistoryRead answered by ``reader``."""

    def __init__(self, iserver: InternalServer, reader: HistoryReader) -> None:
        super().__init__(iserver)
        self._reader = reader

    async def read_history(self, params: ua.HistoryReadParameters) -> list[ua.HistoryReadResult]:
        return await self._reader(params)


def serve_history_reads(server: Server, reader: HistoryReader) -> None:
    """Have every HistoryRead request answered by ``reader`` (asyncua's own storage is never asked)."""
    iserver = server.iserver
    iserver.history_manager = _DelegatingHistoryManager(iserver, reader)
