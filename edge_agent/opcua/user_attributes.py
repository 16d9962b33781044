"""UserAccessLevel and UserExecutable as each session's rights make them (Part 3, Part 18).

A variable's UserAccessLevel is its AccessLevel as far as the session's user may use it: a session that
may not write reads it without the write bits. A method's UserExecutable is true only when the session
may call it (rights.METHOD_RIGHTS and friends). Both are computed at each read, for the caller of the
request being served (caller.py): by the Read service, and by a monitored item's first sample, which
asyncua takes while serving CreateMonitoredItems. Reads by the server itself see the stored values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from asyncua import Server, ua

from .asyncua_seam import Reader, compute_on_read
from .caller import current_caller
from .rights import UNLISTED_METHOD_RIGHT, Right

_WRITE_BITS = (
    ua.AccessLevel.CurrentWrite.mask
    | ua.AccessLevel.HistoryWrite.mask
    | ua.AccessLevel.StatusWrite.mask
    | ua.AccessLevel.TimestampWrite.mask
)
_NOT_EXECUTABLE = ua.DataValue(ua.Variant(False, ua.VariantType.Boolean))

Stored = Callable[[], ua.DataValue]


@cache
def _access_level(level: int) -> ua.DataValue:
    # One DataValue per level: reads of thousands of variables share a handful of them.
    return ua.DataValue(ua.Variant(level, ua.VariantType.Byte))


def install(server: Server, method_rights: Mapping[ua.NodeId, Right]) -> int:
    """Compute UserAccessLevel and UserExecutable per caller on every node where they could differ.

    Those are variables with a write bit in UserAccessLevel and methods whose UserExecutable is true.
    Call once the address space is complete (an attribute replaced later is not covered); the rights of
    each method are looked up in ``method_rights`` at each read, so it may still be filled. Returns how
    many attributes were set up.
    """
    return compute_on_read(server, ua.AttributeIds.UserAccessLevel, _user_access_level) + compute_on_read(
        server, ua.AttributeIds.UserExecutable, lambda stored: _user_executable(stored, method_rights)
    )


def _stored_value(stored: Stored) -> object:
    value = stored()
    return None if value.Value is None else value.Value.Value


def _user_access_level(stored: Stored) -> Reader | None:
    level = _stored_value(stored)
    if not isinstance(level, int) or not level & _WRITE_BITS:
        return None

    def read(nodeid: ua.NodeId) -> ua.DataValue:
        value = stored()
        caller = current_caller()
        if caller is None or caller.may_write():
            return value
        return _access_level(value.Value.Value & ~_WRITE_BITS)

    return read


def _user_executable(stored: Stored, method_rights: Mapping[ua.NodeId, Right]) -> Reader | None:
    if _stored_value(stored) is not True:
        return None

    def read(nodeid: ua.NodeId) -> ua.DataValue:
        caller = current_caller()
        if caller is None or caller.may_call(method_rights.get(nodeid, UNLISTED_METHOD_RIGHT)):
            return stored()
        return _NOT_EXECUTABLE

    return read
