"""Namespace 0 as asyncua generates it: whole, as plain data to derive from, or only the kept nodes.

asyncua fills the standard address space from ~6,000 nodes of generated code (11 MB of code objects,
38 MB of node data) and offers no way to load less (seam S12 of the package docstring). Here the same
generated function runs through a filter that passes on only the kept nodes and the references between
them (kept_items); `make ns0` stores what passes as a file the server loads instead, without importing
the generated modules at all (importing them alone costs ~10 MB that stay with the process). Without
that file, or if it does not load, the generated code runs through the filter at start.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncua
from asyncua import ua
from asyncua.server.address_space import AddressSpace, NodeManagementService
from asyncua.server.internal_server import InternalServer

log = logging.getLogger(__name__)

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
    """An InternalServer that loads only the namespace-0 nodes of ``ns0_keep`` when it is set.

    With ``ns0_items`` (a file save_kept_items wrote for the same nodes) it loads them from there.
    """

    ns0_keep: frozenset[ua.NodeId] | None = None
    ns0_items: Path | None = None

    async def load_standard_address_space(self, shelf_file: Path | None = None) -> None:
        keep = self.ns0_keep
        if keep is None:
            await super().load_standard_address_space(shelf_file)
            return
        stored = load_kept_items(self.ns0_items) if self.ns0_items is not None else None
        if stored is not None:
            _add_postponing(self.node_mgt_service, *stored)
            return
        await asyncio.to_thread(_fill, self.node_mgt_service, keep)
        _forget_generated_code()


KeptItems = tuple[list[ua.AddNodesItem], list[ua.AddReferencesItem]]


def kept_items(keep: Collection[ua.NodeId]) -> KeptItems:
    """The AddNodes and AddReferences items the generated code makes for the nodes of ``keep``."""
    recorder = _Recorder()
    _run_generated(_KeptOnly(recorder, keep))
    return recorder.nodes, recorder.references


def save_kept_items(path: Path, items: KeptItems) -> None:
    # pickle, because these are asyncua's own classes (Variants holding structures, definitions ...) and
    # asyncua offers no other encoding that takes every one of them; the file ships in the package like
    # code and is read only if written by this asyncua version.
    path.write_bytes(pickle.dumps((asyncua_version(), items), protocol=pickle.HIGHEST_PROTOCOL))


def load_kept_items(path: Path) -> KeptItems | None:
    """The items ``path`` holds; None, with the reason logged, if it is missing or of another asyncua."""
    try:
        version, items = pickle.loads(path.read_bytes())  # the package's own file
    except (
        OSError,
        pickle.UnpicklingError,
        EOFError,
        AttributeError,
        ImportError,
        ValueError,
        TypeError,
    ) as exc:
        log.warning("%s does not load (%s); making namespace 0 from asyncua's generated code", path.name, exc)
        return None
    if version != asyncua_version():
        log.warning(
            "%s was written by asyncua %s; making namespace 0 from the generated code", path.name, version
        )
        return None
    nodes, references = items
    return list(nodes), list(references)


def asyncua_version() -> str:
    return metadata.version("asyncua")


class _Recorder:
    def __init__(self) -> None:
        self.nodes: list[ua.AddNodesItem] = []
        self.references: list[ua.AddReferencesItem] = []

    def add_nodes(self, items: Iterable[ua.AddNodesItem]) -> None:
        self.nodes.extend(items)

    def add_references(self, references: Iterable[ua.AddReferencesItem]) -> None:
        self.references.extend(references)


def _add_postponing(service: NodeManagementService, nodes: list[Any], references: list[Any]) -> None:
    """Add ``nodes`` and ``references`` in the generated code's order, retrying those it met too early.

    What asyncua's PostponeReferences does; written out because importing it imports every generated
    module (standard_address_space's package imports them all).
    """
    postponed = list(service.try_add_nodes(nodes, check=False))
    remaining = list(service.try_add_nodes(postponed, check=False))
    if remaining:
        raise RuntimeError(
            f"namespace 0: {len(remaining)} nodes have no parent, e.g. {remaining[0].RequestedNewNodeId}"
        )
    postponed_references = list(service.try_add_references(references))
    refused = list(service.try_add_references(postponed_references))
    if refused:
        raise RuntimeError(f"namespace 0: {len(refused)} references are refused, e.g. {refused[0]}")


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

    with PostponeReferences(nodeservice) as postponing:
        _run_generated(postponing if keep is None else _KeptOnly(postponing, keep))


def _run_generated(target: Any) -> None:
    from asyncua.server.standard_address_space.standard_address_space_services import (
        create_standard_address_space_Services,
    )

    create_standard_address_space_Services(target)


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
