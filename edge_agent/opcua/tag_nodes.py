"""The tags in the OPC UA address space, kept live from the tag store.

Layout: Objects / EdgeAgent / Tags / <source> / <tag>, each tag a variable with NodeId
``ns=<urn:edge-agent:tags>;s=<tag name>``.

Every Reading the tag store publishes becomes the variable's DataValue at once (value, status code,
source and server timestamps), so a Read right after sees it. asyncua's own write path is async and
would null the value of a Bad reading; we instead keep the last value next to the Bad status, as the
tag store does, and hand the change to monitored items from one background task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from asyncua import Server, ua

from ..tags import Reading, TagInfo
from ..tagstore import TagStore
from .asyncua_seam import (
    AttributeSharer,
    ValueAttribute,
    add_node,
    direct_nodes,
    notify_watchers,
    route_value_writes,
    set_value,
    share_attributes,
    use_value_attribute,
    value_attribute,
)
from .node_items import NodeShapes, object_item
from .tag_values import TagValueError, data_type_id, to_datavalue, to_variant
from .tag_writes import TagWriter

log = logging.getLogger(__name__)

NAMESPACE_URI = "urn:edge-agent:tags"
ROOT_OBJECT = "EdgeAgent"
TAGS_FOLDER = "Tags"
# Readings waiting for monitored items; beyond this the oldest are dropped (the address space itself
# always has the newest value). Only reached if the event loop falls far behind the sources.
MAX_PENDING_NOTIFICATIONS = 10_000


class TagNodes:
    """Builds the tag variables and keeps them in step with the tag store."""

    def __init__(self, server: Server, store: TagStore) -> None:
        self._server = server
        self._store = store
        self._namespace_index: int | None = None
        self._nodes: dict[str, tuple[TagInfo, ValueAttribute]] = {}
        self._pending: deque[tuple[ValueAttribute, ua.DataValue]] = deque(maxlen=MAX_PENDING_NOTIFICATIONS)
        self._wakeup = asyncio.Event()
        self._notifier: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._unconvertible: set[str] = set()
        self._write_targets: dict[ua.NodeId, TagInfo] = {}

    @property
    def namespace_index(self) -> int:
        if self._namespace_index is None:
            raise RuntimeError("the tag nodes are not built yet")
        return self._namespace_index

    async def build(self, sharer: AttributeSharer | None = None) -> None:
        """Add EdgeAgent/Tags/<source>/<tag> to the address space and route client writes to the store."""
        idx = await self._server.register_namespace(NAMESPACE_URI)
        self._namespace_index = idx
        root = await add_node(
            self._server,
            _folder_item(
                idx, ROOT_OBJECT, ua.NodeId(ua.ObjectIds.ObjectsFolder), ua.ObjectIds.BaseObjectType
            ),
        )
        tags_folder = await add_node(self._server, _folder_item(idx, TAGS_FOLDER, root))
        source_folders: dict[str, ua.NodeId] = {}
        shapes = NodeShapes(direct_nodes(self._server, sharer))
        for info in self._store.tags:
            if info.source not in source_folders:
                source_folders[info.source] = await add_node(
                    self._server, _folder_item(idx, info.source, tags_folder)
                )
            nodeid = ua.NodeId(info.name, idx)
            shapes.nodes.add_shaped(
                nodeid,
                shapes.variable(
                    data_type_id(info),
                    reference_type=ua.ObjectIds.Organizes,
                    type_definition=ua.ObjectIds.BaseDataVariableType,
                    writable=info.writable,
                ),
                source_folders[info.source],
                ua.QualifiedName(info.name, idx),
                description=info.description or None,
                value=ua.Variant(None, ua.VariantType.Null),
                own_value=True,
            )
            eu_range = info.range if info.data_type in ("float", "int") else None
            # EngineeringUnits and EURange (OPC UA Part 8) for tags that declare a unit or a range.
            shapes.add_analog_properties(lambda _: ua.NodeId(0, idx), nodeid, info.unit, eu_range)
        if sharer is not None:
            share_attributes(self._server, sharer, list(source_folders.values()))
        for info in self._store.tags:
            self._nodes[info.name] = (info, value_attribute(self._server, ua.NodeId(info.name, idx)))
            self._apply(info, self._store.current(info.name))
        self._write_targets = {ua.NodeId(name, idx): info for name, (info, _) in self._nodes.items()}
        route_value_writes(self._server, self._write_targets, TagWriter(self._store))

    @property
    def value_nodes(self) -> dict[ua.NodeId, TagInfo]:
        """Every variable that shows a tag's value (tag variables and their aliases), with its tag."""
        return dict(self._write_targets)

    def alias(self, nodeid: ua.NodeId, tag: str) -> None:
        """Make the variable ``nodeid`` show tag ``tag``: the same DataValue, notifications and writes.

        The variable shares the tag variable's value attribute, so one update reaches both and a subscriber
        to either is notified; costs nothing per reading.
        """
        info, shown = self._nodes[tag]
        use_value_attribute(self._server, nodeid, shown)
        self._write_targets[nodeid] = info

    def start(self) -> None:
        """Follow the tag store from now on."""
        for name, (info, _) in self._nodes.items():
            self._apply(info, self._store.current(name))
        self._unlisten = self._store.listen(self.on_reading)
        self._notifier = asyncio.create_task(self._notify_monitored_items(), name="opcua-tag-notifier")

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._notifier is not None:
            self._notifier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._notifier
            self._notifier = None

    def on_reading(self, reading: Reading) -> None:
        """Tag store listener: called on the event loop, must not block or await."""
        entry = self._nodes.get(reading.tag)
        if entry is None:
            return
        self._apply(entry[0], reading)

    def _apply(self, info: TagInfo, reading: Reading) -> None:
        attribute = self._nodes[info.name][1]
        try:
            variant, quality = to_variant(info, reading.value), reading.quality
            self._unconvertible.discard(info.name)
        except TagValueError as exc:
            # Once per episode: a source stuck on a wrong type would otherwise log every poll.
            if info.name not in self._unconvertible:
                log.warning("tag %s: %s", info.name, exc)
                self._unconvertible.add(info.name)
            variant, quality = ua.Variant(None, ua.VariantType.Null), exc.quality
        datavalue = to_datavalue(variant, quality, reading)
        if set_value(attribute, datavalue):
            self._pending.append((attribute, datavalue))
            self._wakeup.set()

    async def _notify_monitored_items(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                attribute, datavalue = self._pending.popleft()
                for failure in await notify_watchers(attribute, datavalue):
                    log.error("monitored item callback failed", exc_info=failure)


def _folder_item(
    idx: int, name: str, parent: ua.NodeId, type_definition: int = ua.ObjectIds.FolderType
) -> ua.AddNodesItem:
    browse_name = ua.QualifiedName(name, idx)
    return object_item(
        ua.NodeId(0, idx), browse_name, parent, type_definition, reference_type=ua.ObjectIds.Organizes
    )
