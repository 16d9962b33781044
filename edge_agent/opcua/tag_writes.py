"""Clients' writes of tag values, routed to the tag store and from there to the device."""

from __future__ import annotations

import logging

from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole

from ..audit import audit
from ..tags import TagInfo
from ..tagstore import TagStore
from .rights import who
from .tag_values import TagValueError, from_variant

log = logging.getLogger(__name__)


class TagWriter:
    """Sends a client's write of a tag value to the tag store (route_value_writes calls it).

    The client gets the store's answer (the device's Quality) as the write's status code. The node's
    value is not changed here: the source publishes what the device really holds.
    """

    def __init__(self, store: TagStore) -> None:
        self._store = store

    async def __call__(self, info: TagInfo, write_value: ua.WriteValue, user: User) -> ua.StatusCode:
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
