"""Which namespace-0 nodes a reduced server keeps: derived from asyncua's whole namespace, never listed.

``make ns0`` runs this module; it writes ns0_keep_micro.json and ns0_keep_standard.json next to it,
each the sorted numeric ids kept and the asyncua version they were derived from.

Seeds, all derived:

- Root and the folders organized under it; the Server object with its children: the ones its type
  declares Mandatory ("micro", what the Micro Embedded Device 2017 Server Profile needs), or all of
  them ("standard");
- every namespace-0 id the I4AAS NodeSet2 file names;
- every ``ua.ObjectIds.Name`` spelled in asyncua's server code and in edge_agent.opcua, so a node the
  code reads, writes or refers to is there; an object of the Server named this way is kept whole;
- the built-in data types.

The closure adds, for each kept node: its reference types, HasTypeDefinition, HasModellingRule,
HasEncoding and HasProperty targets, its supertypes, its data type and the data types of its fields,
the instance declarations of a type or an instance declaration (Mandatory ones only for "micro"),
and the parents of an instance up to Root.
"""

from __future__ import annotations

import ast
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from asyncua import ua

from .asyncua_seam import StandardNode, asyncua_sources, kept_items, save_kept_items, standard_nodes
from .asyncua_seam.ns0 import asyncua_version
from .i4aas.nodeset import NODESET_FILE
from .ns0_keep import items_file, keep_file

Profile = Literal["micro", "standard"]
PROFILES: tuple[Profile, ...] = ("micro", "standard")
HERE = Path(__file__).parent

_R = ua.ObjectIds
_HAS_SUBTYPE = ua.NodeId(_R.HasSubtype)
_HAS_TYPE_DEFINITION = ua.NodeId(_R.HasTypeDefinition)
_HAS_MODELLING_RULE = ua.NodeId(_R.HasModellingRule)
_HAS_ENCODING = ua.NodeId(_R.HasEncoding)
_HAS_PROPERTY = ua.NodeId(_R.HasProperty)
_ORGANIZES = ua.NodeId(_R.Organizes)
_HIERARCHICAL_CHILD = frozenset(
    {ua.NodeId(_R.HasComponent), _HAS_PROPERTY, ua.NodeId(_R.HasOrderedComponent)}
)
_FOLDER_TYPE = ua.NodeId(_R.FolderType)
_ENCODING_TYPE = ua.NodeId(_R.DataTypeEncodingType)
_MANDATORY = ua.NodeId(_R.ModellingRule_Mandatory)
_INSTANCE_CLASSES = frozenset({ua.NodeClass.Object, ua.NodeClass.Variable, ua.NodeClass.Method})
_TYPE_CLASSES = frozenset(
    {ua.NodeClass.ObjectType, ua.NodeClass.VariableType, ua.NodeClass.DataType, ua.NodeClass.ReferenceType}
)
_NS0_ID = re.compile(r"^(?:ns=0;)?i=(\d+)$")

Nodes = dict[ua.NodeId, StandardNode]


def agent_sources() -> list[Path]:
    """edge_agent.opcua's Python files but this one, whose ids are the derivation's own vocabulary."""
    return [path for path in sorted(HERE.rglob("*.py")) if path.name != Path(__file__).name]


def derive(nodes: Nodes, profile: Profile) -> set[ua.NodeId]:
    """The namespace-0 nodes a server of ``profile`` keeps, out of the whole namespace ``nodes``."""
    code = {
        nodeid
        for nodeid in object_id_seeds([*asyncua_sources(), *agent_sources()])
        if nodeid in nodes and _type_definition(nodes, nodeid) != _ENCODING_TYPE
    }
    # Encodings the code names are message type ids (CreateSessionRequest_Encoding_DefaultBinary), not
    # address-space needs: a kept data type brings its own encodings.
    seeds = (
        folder_seeds(nodes)
        | server_object_seeds(nodes, profile)
        | nodeset_seeds(NODESET_FILE)
        | code
        | whole_object_seeds(nodes, code)
        | builtin_type_seeds()
    )
    return closure(nodes, seeds, mandatory_only=profile == "micro")


def keep_document(nodes: Nodes, profile: Profile) -> str:
    """The keep file of ``profile`` as ``make ns0`` writes it."""
    ids = sorted(nodeid.Identifier for nodeid in derive(nodes, profile))
    return json.dumps({"asyncua": asyncua_version(), "profile": profile, "ids": ids}, indent=0) + "\n"


def folder_seeds(nodes: Nodes) -> set[ua.NodeId]:
    """Root and the folders organized under it, recursively."""
    found: set[ua.NodeId] = set()
    todo = [ua.NodeId(_R.RootFolder)]
    while todo:
        nodeid = todo.pop()
        found.add(nodeid)
        todo.extend(
            child
            for child in _forward(nodes, nodeid, {_ORGANIZES})
            if _type_definition(nodes, child) == _FOLDER_TYPE and child not in found
        )
    return found


def server_object_seeds(nodes: Nodes, profile: Profile) -> set[ua.NodeId]:
    """The Server object and its descendants: the Mandatory ones ("micro") or all ("standard")."""
    found: set[ua.NodeId] = set()
    todo = [ua.NodeId(_R.Server)]
    while todo:
        nodeid = todo.pop()
        found.add(nodeid)
        for child in _forward(nodes, nodeid, _HIERARCHICAL_CHILD):
            if child in found:
                continue
            if profile == "micro" and _declaration_rule(nodes, nodeid, child) != _MANDATORY:
                continue
            todo.append(child)
    return found


def nodeset_seeds(nodeset: Path) -> set[ua.NodeId]:
    """Every namespace-0 id a NodeSet2 file names (data types, parents, references, type definitions)."""
    root = ET.parse(nodeset).getroot()
    spaces = {"u": "http://opcfoundation.org/UA/2011/03/UANodeSet.xsd"}
    aliases = {
        alias.get("Alias"): (alias.text or "").strip() for alias in root.iterfind("u:Aliases/u:Alias", spaces)
    }
    found: set[ua.NodeId] = set()

    def add(text: str | None) -> None:
        if not text:
            return
        match = _NS0_ID.match(aliases.get(text.strip(), text.strip()))
        if match:
            found.add(ua.NodeId(int(match.group(1)), 0))

    for element in root.iter():
        for key in ("DataType", "ParentNodeId", "ReferenceType", "TypeDefinition"):
            add(element.get(key))
        if element.tag.endswith("}Reference"):
            add(element.text)
    return found


def object_id_seeds(sources: Iterable[Path]) -> set[ua.NodeId]:
    """Every ``ua.ObjectIds.Name`` or ``ObjectIds.Name`` spelled in the Python files ``sources``."""
    found: set[ua.NodeId] = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and _name_of(node.value) == "ObjectIds"
                and isinstance(getattr(_R, node.attr, None), int)
            ):
                found.add(ua.NodeId(getattr(_R, node.attr), 0))
    return found


def builtin_type_seeds() -> set[ua.NodeId]:
    """The data types of the built-in types (Boolean up to DiagnosticInfo)."""
    return {ua.NodeId(variant.value, 0) for variant in ua.VariantType if 0 < variant.value <= 25}


def whole_object_seeds(nodes: Nodes, named: set[ua.NodeId]) -> set[ua.NodeId]:
    """The descendants of each object of the Server the code names and reads below (Server.Namespaces,
    whose children an XML import reads): a named object none of whose descendants is named is used whole.
    Elsewhere (type systems, folders) a named object is a parent, not a whole."""
    under_server = _descendants(nodes, ua.NodeId(_R.Server))
    found: set[ua.NodeId] = set()
    for nodeid in named:
        if (
            nodeid not in under_server
            or nodes[nodeid].node_class != ua.NodeClass.Object
            or _modelling_rule(nodes, nodeid) is not None
            or _type_definition(nodes, nodeid) == _FOLDER_TYPE
        ):
            continue
        below = _descendants(nodes, nodeid)
        if not below & named:
            found |= below
    return found


def closure(nodes: Nodes, seeds: Iterable[ua.NodeId], *, mandatory_only: bool) -> set[ua.NodeId]:
    """``seeds`` and every node they need, by the rules of the module docstring."""
    keep: set[ua.NodeId] = set()
    todo = [seed for seed in seeds if seed in nodes]
    while todo:
        nodeid = todo.pop()
        if nodeid in keep:
            continue
        keep.add(nodeid)
        todo.extend(n for n in _needs(nodes, nodeid, mandatory_only) if n not in keep and n in nodes)
    return keep


def _needs(nodes: Nodes, nodeid: ua.NodeId, mandatory_only: bool) -> Iterator[ua.NodeId]:
    node = nodes[nodeid]
    declares = node.node_class in _TYPE_CLASSES or _modelling_rule(nodes, nodeid) is not None
    for reference in node.references:
        kind, target = reference.reference_type, reference.target
        yield kind
        if reference.forward:
            if kind in (_HAS_TYPE_DEFINITION, _HAS_MODELLING_RULE, _HAS_ENCODING):
                yield target
            elif kind == _HAS_PROPERTY:
                # A property of an instance is kept whatever its rule; of a type, as its declarations are.
                if not declares or _wanted_declaration(nodes, target, mandatory_only, optional_rule=None):
                    yield target
            elif (
                declares
                and kind in _HIERARCHICAL_CHILD
                and node.node_class != ua.NodeClass.DataType
                and _wanted_declaration(nodes, target, mandatory_only, optional_rule=_MANDATORY)
            ):
                yield target
        elif kind == _HAS_SUBTYPE:
            yield target
        elif node.node_class in _INSTANCE_CLASSES and (kind in _HIERARCHICAL_CHILD or kind == _ORGANIZES):
            yield target  # the parent: an instance stays reachable from Root
    if isinstance(node.data_type, ua.NodeId):
        yield node.data_type
    definition = node.definition
    if isinstance(definition, ua.StructureDefinition):
        yield from (field.DataType for field in definition.Fields or ())
        if definition.BaseDataType is not None:
            yield definition.BaseDataType


def _wanted_declaration(
    nodes: Nodes, nodeid: ua.NodeId, mandatory_only: bool, *, optional_rule: ua.NodeId | None
) -> bool:
    """Whether a declaration is kept: any, or with ``mandatory_only`` a Mandatory one (or one whose rule
    is ``optional_rule``)."""
    rule = _modelling_rule(nodes, nodeid)
    return not mandatory_only or rule in (_MANDATORY, optional_rule)


def _name_of(expression: ast.expr) -> str | None:
    if isinstance(expression, ast.Attribute):
        return expression.attr
    if isinstance(expression, ast.Name):
        return expression.id
    return None


def _forward(nodes: Nodes, nodeid: ua.NodeId, kinds: Iterable[ua.NodeId]) -> list[ua.NodeId]:
    wanted = set(kinds)
    return [r.target for r in nodes[nodeid].references if r.forward and r.reference_type in wanted]


def _modelling_rule(nodes: Nodes, nodeid: ua.NodeId) -> ua.NodeId | None:
    return next(iter(_forward(nodes, nodeid, {_HAS_MODELLING_RULE})), None)


def _type_definition(nodes: Nodes, nodeid: ua.NodeId) -> ua.NodeId | None:
    return next(iter(_forward(nodes, nodeid, {_HAS_TYPE_DEFINITION})), None)


def _supertypes(nodes: Nodes, type_id: ua.NodeId | None) -> Iterator[ua.NodeId]:
    while type_id is not None and type_id in nodes:
        yield type_id
        type_id = next(
            (
                r.target
                for r in nodes[type_id].references
                if not r.forward and r.reference_type == _HAS_SUBTYPE
            ),
            None,
        )


def _declaration_rule(nodes: Nodes, parent: ua.NodeId, child: ua.NodeId) -> ua.NodeId | None:
    """The modelling rule of the instance declaration ``child`` of ``parent`` instantiates (by name)."""
    name = nodes[child].browse_name
    for type_id in _supertypes(nodes, _type_definition(nodes, parent)):
        for declaration in _forward(nodes, type_id, _HIERARCHICAL_CHILD):
            if nodes[declaration].browse_name == name:
                return _modelling_rule(nodes, declaration)
    return None


def _descendants(nodes: Nodes, nodeid: ua.NodeId) -> set[ua.NodeId]:
    found: set[ua.NodeId] = set()
    todo = [nodeid]
    while todo:
        for child in _forward(nodes, todo.pop(), _HIERARCHICAL_CHILD | {_ORGANIZES}):
            if child not in found and child in nodes:
                found.add(child)
                todo.append(child)
    return found


STORED_ITEMS: tuple[Profile, ...] = ("micro",)
"""Profiles whose nodes ship as items to load (the default's); standard makes them from the generated code."""


def main() -> None:
    nodes = standard_nodes()
    for profile in PROFILES:
        document = keep_document(nodes, profile)
        keep_file(profile).write_text(document, encoding="utf-8")
        ids = json.loads(document)["ids"]
        print(f"{keep_file(profile).name}: {len(ids)} of {len(nodes)} nodes")
        if profile in STORED_ITEMS:
            save_kept_items(items_file(profile), kept_items({ua.NodeId(i, 0) for i in ids}))
            print(f"{items_file(profile).name}: {items_file(profile).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
