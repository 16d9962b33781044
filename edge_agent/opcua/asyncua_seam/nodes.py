"""The address space as asyncua stores it: bulk adds, attribute objects, values computed on read.

asyncua's public API reaches a node only through a session (Node.read_*/write_*): one awaited service
call per attribute, no way to share attribute objects between nodes, no read hook. The agent builds
thousands of nodes at start and updates their values on every reading, so it works on the stored
attributes directly here (seams S4-S7 of the package docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeAlias

from asyncua import Server, ua
from asyncua.server.address_space import AttributeValue

from .compact import AttributeSharer
from .direct import DirectNodes

# A value attribute as asyncua stores it; outside this package only passed around, never looked into.
ValueAttribute: TypeAlias = AttributeValue
Reader = Callable[[ua.NodeId], ua.DataValue]


async def add_node(server: Server, item: ua.AddNodesItem) -> ua.NodeId:
    """Add one node as the server itself (no client session, no rights check); returns its id."""
    (result,) = await server.iserver.isession.add_nodes([item])
    result.StatusCode.check()
    nodeid: ua.NodeId = result.AddedNodeId
    return nodeid


def direct_nodes(server: Server, sharer: AttributeSharer | None = None) -> DirectNodes:
    """A maker of nodes straight into ``server``'s address space (see direct.py)."""
    return DirectNodes(server.iserver.aspace, sharer if sharer is not None else AttributeSharer())


def share_attributes(server: Server, sharer: AttributeSharer, nodes: Sequence[ua.NodeId]) -> None:
    """Let ``sharer`` make equal attributes of ``nodes`` one object (see compact.py)."""
    sharer.share(server.iserver.aspace, nodes)


def value_attribute(server: Server, nodeid: ua.NodeId) -> ValueAttribute:
    """The object holding the Value attribute of ``nodeid``: set_value on it is a Read's answer at once."""
    attribute: ValueAttribute = server.iserver.aspace[nodeid].attributes[ua.AttributeIds.Value]
    return attribute


def use_value_attribute(server: Server, nodeid: ua.NodeId, attribute: ValueAttribute) -> None:
    """Make ``nodeid`` show ``attribute`` as its Value: one update, and subscribers of either, reach both."""
    server.iserver.aspace[nodeid].attributes[ua.AttributeIds.Value] = attribute


def set_value(attribute: ValueAttribute, datavalue: ua.DataValue) -> bool:
    """Store ``datavalue`` without notifying anyone; True when monitored items watch the attribute.

    asyncua's own write path (write_attribute_value) is async and notifies at once; readings arrive on
    the event loop's hot path, so notification is left to the caller's own task (notify_watchers).
    """
    attribute.value = datavalue
    return bool(attribute.datachange_callbacks)


async def notify_watchers(attribute: ValueAttribute, datavalue: ua.DataValue) -> list[BaseException]:
    """Hand ``datavalue`` to the monitored items of ``attribute``; returns what their callbacks raised."""
    failures: list[BaseException] = []
    for handle, callback in list(attribute.datachange_callbacks.items()):
        try:
            await callback(handle, datavalue)
        except Exception as exc:  # one subscriber's failure must not starve the others
            failures.append(exc)
    return failures


def replace_attribute(
    server: Server, nodeid: ua.NodeId, attribute_id: ua.AttributeIds, value: ua.DataValue
) -> None:
    """Give ``nodeid`` a new attribute object holding ``value``.

    A new object rather than a write into the old one: equal attributes of many nodes may be one shared
    object (compact.py), and only this node is to change.
    """
    server.iserver.aspace[nodeid].attributes[attribute_id] = AttributeValue(value)


def stored_value(server: Server, nodeid: ua.NodeId, attribute_id: ua.AttributeIds) -> ua.DataValue | None:
    """The DataValue ``nodeid`` stores for ``attribute_id``, None if it has no such attribute."""
    attribute = server.iserver.aspace[nodeid].attributes.get(attribute_id)
    return attribute.value if attribute is not None else None


def compute_on_read(
    server: Server,
    attribute_id: ua.AttributeIds,
    reader_for: Callable[[Callable[[], ua.DataValue]], Reader | None],
) -> int:
    """Have every stored ``attribute_id`` attribute answered by a reader, for those ``reader_for`` gives one.

    ``reader_for`` is shown a getter of the attribute's stored DataValue and returns a reader (called with
    the node id at each Read and first sample of a monitored item) or None to leave the attribute alone.
    Attributes that already compute their value, or hold none, are skipped. Attributes shared between
    nodes (compact.py) are one object and get one reader. Returns how many readers were installed.
    """
    installed = 0
    seen: set[int] = set()
    for attribute in _stored_attributes(server, attribute_id):
        if id(attribute) in seen or attribute.value_callback is not None or attribute.value is None:
            continue
        seen.add(id(attribute))
        reader = reader_for(_getter(attribute))
        if reader is not None:
            # asyncua calls a value_callback with (node id, attribute id).
            attribute.value_callback = _callback(reader)
            installed += 1
    return installed


def _stored_attributes(server: Server, attribute_id: ua.AttributeIds) -> Iterator[AttributeValue]:
    aspace = server.iserver.aspace
    for nodeid in list(aspace.keys()):
        attribute = aspace[nodeid].attributes.get(attribute_id)
        if attribute is not None:
            yield attribute


def _getter(attribute: AttributeValue) -> Callable[[], ua.DataValue]:
    def stored() -> ua.DataValue:
        value: ua.DataValue = attribute.value
        return value

    return stored


def _callback(reader: Reader) -> Callable[[ua.NodeId, ua.AttributeIds], ua.DataValue]:
    def read(nodeid: ua.NodeId, attribute_id: ua.AttributeIds) -> ua.DataValue:
        return reader(nodeid)

    return read
