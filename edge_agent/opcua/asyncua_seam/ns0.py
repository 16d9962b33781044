"""Namespace 0 as asyncua generates it: whole, as plain data to derive from, or only the kept nodes.

asyncua fills the standard address space from ~6,000 nodes of generated code (11 MB of code objects,
38 MB of node data) and offers no way to load less (seam S12 of the package docstring). Here the same
generated function runs through a filter that passes on only the kept nodes and the references between
them, and the generated modules are dropped afterwards: they are needed once per server.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncua
from asyncua import ua
from asyncua.server.address_space import AddressSpace, NodeManagementService
from asyncua.server.internal_server import InternalServer

GENERATED = "asyncua.server.standard_address_space"
"""The package of asyncua's generated namespace-0 code."""


@dataclass(frozen=True, slots=True)
class StandardReference:
    reference_type: ua.NodeId
    target: ua.NodeId
    forward: bool


@dataclass(frozen=True, slots=True)
class StandardNode:
    """What deriving a keep set needs of one namespace-0 node."""

    node_class: ua.NodeClass
    browse_name: str
    data_type: ua.NodeId | None
    definition: Any
    """The DataTypeDefinition of a data type (a StructureDefinition, an EnumDefinition), else None."""
    references: tuple[StandardReference, ...]


def standard_nodes() -> dict[ua.NodeId, StandardNode]:
    """Every node of asyncua's whole namespace 0, with its references in both directions."""
    aspace = AddressSpace()
    _fill(NodeManagementService(aspace), None)
    nodeids = aspace.keys()  # AddressSpace is not iterable
    return {nodeid: _plain(aspace, nodeid) for nodeid in nodeids}


def asyncua_sources() -> list[Path]:
    """asyncua's Python files whose named node ids a server needs at run time: its server, and the
    node management, shortcuts and XML import its Server methods call."""
    root = Path(asyncua.__file__).parent
    common = root / "common"
    return [
        *sorted((root / "server").glob("*.py")),
        common / "manage_nodes.py",
        common / "shortcuts.py",
        common / "xmlimporter.py",
    ]


class ReducibleInternalServer(InternalServer):
    """An InternalServer that loads only the namespace-0 nodes of ``ns0_keep`` when it is set."""

    ns0_keep: frozenset[ua.NodeId] | None = None

    async def load_standard_address_space(self, shelf_file: Path | None = None) -> None:
        keep = self.ns0_keep
        if keep is None:
            await super().load_standard_address_space(shelf_file)
            return
        await asyncio.to_thread(_fill, self.node_mgt_service, keep)
        _forget_generated_code()


class _KeptOnly:
    """Stands in for the node service the generated code calls: passes on the kept nodes only."""

    def __init__(self, target: Any, keep: Collection[ua.NodeId]) -> None:
        self._target = target
        self._keep = keep

    def add_nodes(self, items: Iterable[Any]) -> None:
        self._target.add_nodes([item for item in items if item.RequestedNewNodeId in self._keep])

    def add_references(self, references: Iterable[Any]) -> None:
        self._target.add_references(
            [r for r in references if r.SourceNodeId in self._keep and r.TargetNodeId in self._keep]
        )


def _fill(nodeservice: Any, keep: Collection[ua.NodeId] | None) -> None:
    from asyncua.server.standard_address_space.standard_address_space import PostponeReferences
    from asyncua.server.standard_address_space.standard_address_space_services import (
        create_standard_address_space_Services,
    )

    with PostponeReferences(nodeservice) as postponing:
        create_standard_address_space_Services(postponing if keep is None else _KeptOnly(postponing, keep))


def _forget_generated_code() -> None:
    # A later server of this process that loads the whole namespace imports the modules again.
    for name in [name for name in sys.modules if name.startswith(GENERATED + ".")]:
        del sys.modules[name]
    package = sys.modules.get(GENERATED)
    if package is not None:
        for attribute in [a for a in vars(package) if a.startswith("standard_address_space")]:
            delattr(package, attribute)


def _plain(aspace: Any, nodeid: ua.NodeId) -> StandardNode:
    node = aspace[nodeid]

    def attribute(attribute_id: ua.AttributeIds) -> Any:
        stored = node.attributes.get(attribute_id)
        value = None if stored is None else stored.value
        return None if value is None or value.Value is None else value.Value.Value

    browse_name = attribute(ua.AttributeIds.BrowseName)
    return StandardNode(
        node_class=ua.NodeClass(attribute(ua.AttributeIds.NodeClass)),
        browse_name="" if browse_name is None else browse_name.Name,
        data_type=attribute(ua.AttributeIds.DataType),
        definition=attribute(ua.AttributeIds.DataTypeDefinition),
        references=tuple(
            StandardReference(r.ReferenceTypeId, r.NodeId, r.IsForward) for r in node.references
        ),
    )
