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

from asyncua import ua
from asyncua.server.address_space import AddressSpace, AttributeValue

from .caller import current_caller
from .rights import UNLISTED_METHOD_RIGHT, Right

_WRITE_BITS = (
    ua.AccessLevel.CurrentWrite.mask
    | ua.AccessLevel.HistoryWrite.mask
    | ua.AccessLevel.StatusWrite.mask
    | ua.AccessLevel.TimestampWrite.mask
)
_NOT_EXECUTABLE = ua.DataValue(ua.Variant(False, ua.VariantType.Boolean))

ValueCallback = Callable[[ua.NodeId, ua.AttributeIds], ua.DataValue]


@cache
def _access_level(level: int) -> ua.DataValue:
    # One DataValue per level: reads of thousands of variables share a handful of them.
    return ua.DataValue(ua.Variant(level, ua.VariantType.Byte))


def install(aspace: AddressSpace, method_rights: Mapping[ua.NodeId, Right]) -> int:
    """Compute UserAccessLevel and UserExecutable per caller on every node where they could differ.

    Those are variables with a write bit in UserAccessLevel and methods whose UserExecutable is true.
    Call once the address space is complete (an attribute replaced later is not covered); the rights of
    each method are looked up in ``method_rights`` at each read, so it may still be filled. Returns how
    many attributes were set up.
    """
    installed = 0
    # asyncua gives a value_callback the node id but not the attribute object; attributes equal across
    # nodes may be one shared object (compact.py), so each object is set up once, reading its own value.
    seen: set[int] = set()
    for nodeid in list(aspace.keys()):
        attributes = aspace[nodeid].attributes
        for attribute_id, make in (
            (ua.AttributeIds.UserAccessLevel, _user_access_level),
            (ua.AttributeIds.UserExecutable, lambda attr: _user_executable(attr, method_rights)),
        ):
            attribute = attributes.get(attribute_id)
            if attribute is None or id(attribute) in seen or not _may_differ(attribute_id, attribute):
                continue
            seen.add(id(attribute))
            attribute.value_callback = make(attribute)
            installed += 1
    return installed


def _may_differ(attribute_id: ua.AttributeIds, attribute: AttributeValue) -> bool:
    if attribute.value_callback is not None or attribute.value is None or attribute.value.Value is None:
        return False
    stored = attribute.value.Value.Value
    if attribute_id == ua.AttributeIds.UserAccessLevel:
        return isinstance(stored, int) and bool(stored & _WRITE_BITS)
    return stored is True


def _user_access_level(attribute: AttributeValue) -> ValueCallback:
    def read(nodeid: ua.NodeId, attribute_id: ua.AttributeIds) -> ua.DataValue:
        stored = attribute.value
        assert stored is not None
        caller = current_caller()
        if caller is None or caller.may_write():
            return stored
        return _access_level(stored.Value.Value & ~_WRITE_BITS)  # type: ignore[union-attr]

    return read


def _user_executable(attribute: AttributeValue, method_rights: Mapping[ua.NodeId, Right]) -> ValueCallback:
    def read(nodeid: ua.NodeId, attribute_id: ua.AttributeIds) -> ua.DataValue:
        stored = attribute.value
        assert stored is not None
        caller = current_caller()
        if caller is None or caller.may_call(method_rights.get(nodeid, UNLISTED_METHOD_RIGHT)):
            return stored
        return _NOT_EXECUTABLE

    return read
