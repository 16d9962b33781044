"""Clients' writes of tag values, routed to the tag store and from there to the device."""

from __future__ import annotations

import logging

from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AddressSpace, AttributeService

from ..audit import audit
from ..tags import TagInfo
from ..tagstore import TagStore
from .rights import who
from .tag_values import TagValueError, from_variant

log = logging.getLogger(__name__)

# Who asyncua's own (in-process) session is; its writes carry no other user.
_SERVER_USER = User(role=UserRole.Admin)


class TagWriteService(AttributeService):
    """Sends a client's write of a tag value to the tag store; other writes go on as asyncua does them.

    The client gets the store's answer (the device's Quality) as the write's status code. The node's
    value is not changed here: the source publishes what the device really holds.
    """

    def __init__(self, aspace: AddressSpace, store: TagStore, targets: dict[ua.NodeId, TagInfo]) -> None:
        super().__init__(aspace)
        self._store = store
        self._targets = targets

    async def write(self, params: ua.WriteParameters, user: User = _SERVER_USER) -> list[ua.StatusCode]:
        results: list[ua.StatusCode] = []
        for write_value in params.NodesToWrite:
            info = self._targets.get(write_value.NodeId)
            if info is None or write_value.AttributeId != ua.AttributeIds.Value:
                results.extend(await super().write(ua.WriteParameters(NodesToWrite=[write_value]), user))
            else:
                results.append(await self._write_tag(info, write_value, user))
        return results

    async def _write_tag(self, info: TagInfo, write_value: ua.WriteValue, user: User) -> ua.StatusCode:
        if user.role is UserRole.Anonymous:
            audit("write", who=who(user), tag=info.name, result="BadUserAccessDenied")
            return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
        if not info.writable:
            audit("write", who=who(user), tag=info.name, result="BadNotWritable")
            return ua.StatusCode(ua.StatusCodes.BadNotWritable)
        if write_value.IndexRange:
            return ua.StatusCode(ua.StatusCodes.BadWriteNotSupported)
        try:
            value = from_variant(info, write_value.Value.Value if write_value.Value else None)
        except TagValueError as exc:
            log.info("refused a write to %s: %s", info.name, exc)
            return ua.StatusCode(int(exc.quality))
        try:
            quality = await self._store.write(info.name, value)
        except Exception:
            log.exception("writing %r to %s failed", value, info.name)
            return ua.StatusCode(ua.StatusCodes.BadInternalError)
        audit("write", who=who(user), tag=info.name, value=value, result=quality.name)
        return ua.StatusCode(int(quality))
