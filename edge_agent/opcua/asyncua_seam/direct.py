"""Nodes put into asyncua's address space as its own NodeData, equal attributes one object from the start.

asyncua's AddNodes makes three objects (AttributeValue, DataValue, Variant) for each of the ~24 attributes of
a node, then walks the parent's references and reads the type definition's attributes for each reference
it makes. For the agent's tens of thousands of nodes that is most of its start time, and the attributes
were then made one object afterwards (compact.py). Here each attribute's value is looked up first and the
objects are made only for a value not seen before; the references to a parent and to a type definition,
equal for all siblings, are one object each. The attributes stored are those AddNodes would store for the
same item (test_direct_nodes compares both).
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from dataclasses import dataclass
from typing import Any

from asyncua import ua
from asyncua.server.address_space import AddressSpace, AttributeValue, NodeData

from .compact import AttributeSharer

_MASK = ua.NodeAttributesMask
_Spec = tuple[str, ua.AttributeIds, int, ua.VariantType | None, bool]


def _spec(name: str, variant_type: ua.VariantType | None, is_array: bool = False) -> _Spec:
    return (name, getattr(ua.AttributeIds, name), getattr(_MASK, name), variant_type, is_array)


# The attributes AddNodes takes from an item's NodeAttributes, with the variant types asyncua gives them
# (address_space.NodeManagementService._add_nodeattributes; UserWriteMask ends up UInt32 there too).
_ATTRIBUTES: tuple[_Spec, ...] = (
    _spec("AccessLevel", ua.VariantType.Byte),
    _spec("ArrayDimensions", ua.VariantType.UInt32, True),
    _spec("BrowseName", ua.VariantType.QualifiedName),
    _spec("ContainsNoLoops", ua.VariantType.Boolean),
    _spec("DataType", ua.VariantType.NodeId),
    _spec("Description", ua.VariantType.LocalizedText),
    _spec("DisplayName", ua.VariantType.LocalizedText),
    _spec("EventNotifier", ua.VariantType.Byte),
    _spec("Executable", ua.VariantType.Boolean),
    _spec("Historizing", ua.VariantType.Boolean),
    _spec("InverseName", ua.VariantType.LocalizedText),
    _spec("IsAbstract", ua.VariantType.Boolean),
    _spec("MinimumSamplingInterval", ua.VariantType.Double),
    _spec("NodeClass", ua.VariantType.Int32),
    _spec("NodeId", ua.VariantType.NodeId),
    _spec("Symmetric", ua.VariantType.Boolean),
    _spec("UserAccessLevel", ua.VariantType.Byte),
    _spec("UserExecutable", ua.VariantType.Boolean),
    _spec("UserWriteMask", ua.VariantType.UInt32),
    _spec("ValueRank", ua.VariantType.Int32),
    _spec("WriteMask", ua.VariantType.UInt32),
    _spec("DataTypeDefinition", ua.VariantType.ExtensionObject),
    _spec("Value", None),
)
_HAS_TYPE_DEFINITION = ua.NodeId(ua.ObjectIds.HasTypeDefinition)
_PER_NODE = frozenset(
    {
        ua.AttributeIds.NodeId,
        ua.AttributeIds.BrowseName,
        ua.AttributeIds.DisplayName,
        ua.AttributeIds.Description,
        ua.AttributeIds.Value,
    }
)
"""The attributes a node has of its own; a NodeShape holds the rest."""


class LayeredAttributes(dict[ua.AttributeIds, AttributeValue]):
    """A node's own attributes over those its shape holds for every node of that shape.

    asyncua reaches a node's attributes with [], get, `in` and assignment; each answers from the node's
    own entries first, then from the shape's. An assignment makes an entry the node's own. The node's
    own entries are its names and Value: a dict of four instead of fourteen, ~400 bytes less per node.
    """

    __slots__ = ("shared",)

    def __init__(
        self, own: dict[ua.AttributeIds, AttributeValue], shared: dict[ua.AttributeIds, AttributeValue]
    ):
        super().__init__(own)
        self.shared = shared

    def __missing__(self, key: ua.AttributeIds) -> AttributeValue:
        return self.shared[key]

    def get(self, key: ua.AttributeIds, default: Any = None) -> Any:
        found = dict.get(self, key)
        return found if found is not None else self.shared.get(key, default)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in self.shared

    def __iter__(self) -> Iterator[ua.AttributeIds]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def keys(self) -> KeysView[ua.AttributeIds]:  # type: ignore[override]
        return {**self.shared, **dict(dict.items(self))}.keys()

    def items(self) -> ItemsView[ua.AttributeIds, AttributeValue]:  # type: ignore[override]
        return {**self.shared, **dict(dict.items(self))}.items()

    def values(self) -> ValuesView[AttributeValue]:  # type: ignore[override]
        return {**self.shared, **dict(dict.items(self))}.values()


def _own_node_id(nodeid: ua.NodeId, attribute: ua.AttributeIds) -> ua.DataValue:
    return ua.DataValue(ua.Variant(nodeid, ua.VariantType.NodeId))


def _node_id_attribute() -> AttributeValue:
    """One NodeId attribute for every node of a shape: a Read of it answers the node's own id.

    asyncua answers an attribute with a value_callback by calling it with the node id read.
    """
    attribute = AttributeValue(None)
    attribute.value_callback = _own_node_id
    return attribute


@dataclass(frozen=True, slots=True)
class NodeShape:
    """What many nodes have alike: class, place below a parent, type definition, the other attributes.

    Made from an AddNodes item standing for all of them (DirectNodes.shape); a node is then made from a
    shape, its own id, names and value, without an item of its own.
    """

    node_class: ua.NodeClass
    reference_type: ua.NodeId
    type_definition: ua.NodeId
    attributes: dict[ua.AttributeIds, AttributeValue]

    @property
    def typed(self) -> bool:
        return not self.type_definition.is_null()


@dataclass(frozen=True, slots=True)
class _Names:
    """A browse name and display name, as the objects every node so named shares."""

    browse_name: ua.QualifiedName
    browse_attribute: AttributeValue
    display_name: ua.LocalizedText
    display_attribute: AttributeValue


class DirectNodes:
    """Adds AddNodes items to ``aspace`` (each parent before its children), sharing through ``sharer``."""

    def __init__(self, aspace: AddressSpace, sharer: AttributeSharer) -> None:
        self._aspace = aspace
        self._sharer = sharer
        self._to_parent: dict[tuple[int, int, object], ua.ReferenceDescription] = {}
        self._to_type: dict[tuple[int, object], ua.ReferenceDescription] = {}
        self._described_cache: dict[tuple[ua.NodeId, ua.NodeId, bool], ua.ReferenceDescription] = {}
        self._names: dict[tuple[int, str, str | None], _Names] = {}
        self._descriptions: dict[str, AttributeValue] = {}
        self._layers: dict[tuple[int, ...], dict[ua.AttributeIds, AttributeValue]] = {}
        self._seen_once: set[tuple[int, ...]] = set()
        self._last_parent_id: ua.NodeId | None = None
        self._last_parent: NodeData | None = None

    def shape(self, prototype: ua.AddNodesItem) -> NodeShape:
        """The shape of nodes made like ``prototype`` (its node id, names and value are not part of it)."""
        attributes = self._shape_attributes(prototype)
        attributes[ua.AttributeIds.NodeId] = _node_id_attribute()
        return NodeShape(
            node_class=prototype.NodeClass,
            reference_type=prototype.ReferenceTypeId,
            type_definition=prototype.TypeDefinition,
            attributes=attributes,
        )

    def add_shaped(
        self,
        nodeid: ua.NodeId,
        shape: NodeShape,
        parent: ua.NodeId,
        browse_name: ua.QualifiedName,
        *,
        display_name: str | None = None,
        description: str | None = None,
        value: ua.Variant | None = None,
        own_value: bool = False,
    ) -> ua.NodeId:
        """Add one node of ``shape`` below ``parent``; returns its id (numbered here if ``nodeid`` is null).

        Its Value stays an object of its own with ``own_value`` (a value that changes), else it is shared.
        """
        aspace = self._aspace
        if nodeid.has_null_identifier():
            nodeid = aspace.generate_nodeid(nodeid.NamespaceIndex)
        elif nodeid in aspace:
            raise RuntimeError(f"cannot add OPC UA node {nodeid}: the node id exists")
        if parent is self._last_parent_id and self._last_parent is not None:
            parent_node = self._last_parent
        else:
            found = aspace.get(parent)
            if found is None:
                raise RuntimeError(f"cannot add OPC UA node {nodeid}: no parent {parent}")
            parent_node = self._last_parent = found
            self._last_parent_id = parent
        names = self._names_of(browse_name, display_name)
        own = {
            ua.AttributeIds.BrowseName: names.browse_attribute,
            ua.AttributeIds.DisplayName: names.display_attribute,
            ua.AttributeIds.Description: self._description(description),
        }
        if value is not None:
            own[ua.AttributeIds.Value] = (
                AttributeValue(ua.DataValue(value))
                if own_value
                else self._sharer.attribute(ua.AttributeIds.Value, value, None, False)
            )
        shared, own = self._layer(shape, own, own_value)
        node = NodeData(nodeid)
        node.attributes = LayeredAttributes(own, shared)
        node.references.append(self._reference_to_parent(parent_node, shape.reference_type))
        if shape.typed:
            node.references.append(self._reference_to_type(nodeid, shape.type_definition))
        aspace[nodeid] = node
        parent_node.references.append(
            ua.ReferenceDescription(
                ReferenceTypeId=shape.reference_type,
                IsForward=True,
                NodeId=nodeid,
                BrowseName=names.browse_name,
                DisplayName=names.display_name,
                NodeClass=shape.node_class,
                TypeDefinition=shape.type_definition,
            )
        )
        return nodeid

    def _layer(
        self, shape: NodeShape, own: dict[ua.AttributeIds, AttributeValue], own_value: bool
    ) -> tuple[dict[ua.AttributeIds, AttributeValue], dict[ua.AttributeIds, AttributeValue]]:
        """The shared and own attributes of a node of ``shape`` with the attributes ``own``.

        Nodes alike in their names and (shared) value too, like every element's Category, share those
        as well: from the second such node on, all of their attributes are one dict and their own is empty.
        """
        keep = {ua.AttributeIds.Value: own.pop(ua.AttributeIds.Value)} if own_value else {}
        key = (id(shape), *(id(attribute) for attribute in own.values()))
        layer = self._layers.get(key)
        if layer is None:
            if key not in self._seen_once:
                self._seen_once.add(key)
                own.update(keep)
                return shape.attributes, own
            layer = self._layers[key] = {**shape.attributes, **own}
        return layer, keep

    def _names_of(self, browse_name: ua.QualifiedName, display_name: str | None) -> _Names:
        key = (browse_name.NamespaceIndex, browse_name.Name, display_name)
        found = self._names.get(key)
        if found is None:
            shared = self._sharer.attribute
            display = ua.LocalizedText(display_name or browse_name.Name)
            browse_attribute = shared(
                ua.AttributeIds.BrowseName, browse_name, ua.VariantType.QualifiedName, False
            )
            display_attribute = shared(
                ua.AttributeIds.DisplayName, display, ua.VariantType.LocalizedText, False
            )
            found = self._names[key] = _Names(
                browse_attribute.value.Value.Value,
                browse_attribute,
                display_attribute.value.Value.Value,
                display_attribute,
            )
        return found

    def _description(self, text: str | None) -> AttributeValue:
        found = self._descriptions.get(text or "")
        if found is None:
            found = self._descriptions[text or ""] = self._sharer.attribute(
                ua.AttributeIds.Description,
                ua.LocalizedText(text) if text else ua.LocalizedText(),
                ua.VariantType.LocalizedText,
                False,
            )
        return found

    def reference(self, source: ua.NodeId, reference_type: ua.NodeId, target: ua.NodeId) -> None:
        """A non-hierarchical reference from ``source`` to ``target`` and its inverse."""
        for start, end, forward in ((source, target, True), (target, source, False)):
            key = (end, reference_type, forward)
            description = self._described_cache.get(key)
            if description is None:
                description = self._described_cache[key] = self._described(
                    end, reference_type, forward=forward
                )
            self._aspace[start].references.append(description)

    def _shape_attributes(self, item: ua.AddNodesItem) -> dict[ua.AttributeIds, AttributeValue]:
        """The attributes AddNodes would store for ``item``, but for those each node has of its own."""
        shared = self._sharer.attribute
        attributes = {
            ua.AttributeIds.NodeClass: shared(
                ua.AttributeIds.NodeClass, item.NodeClass, ua.VariantType.Int32, False
            ),
        }
        given: Any = item.NodeAttributes
        specified = given.SpecifiedAttributes
        for name, attribute_id, bit, variant_type, is_array in _ATTRIBUTES:
            if not specified & bit or attribute_id in _PER_NODE:
                continue
            value = getattr(given, name)
            if attribute_id == ua.AttributeIds.DataTypeDefinition and not isinstance(
                value, ua.DataTypeDefinition
            ):
                attributes[attribute_id] = shared(attribute_id, None, ua.VariantType.Null, False)
            else:
                attributes[attribute_id] = shared(attribute_id, value, variant_type, is_array)
        return attributes

    def _reference_to_parent(self, parent: NodeData, reference_type: ua.NodeId) -> ua.ReferenceDescription:
        # Keyed by plain values: NodeId hashes in Python, and this runs once per node.
        key = (id(parent), reference_type.NamespaceIndex, reference_type.Identifier)
        found = self._to_parent.get(key)
        if found is None:
            found = self._to_parent[key] = self._described(parent.nodeid, reference_type, forward=False)
        return found

    def _reference_to_type(self, nodeid: ua.NodeId, type_definition: ua.NodeId) -> ua.ReferenceDescription:
        key = (type_definition.NamespaceIndex, type_definition.Identifier)
        found = self._to_type.get(key)
        if found is None:
            if type_definition not in self._aspace:
                raise RuntimeError(f"cannot add OPC UA node {nodeid}: no type definition {type_definition}")
            found = self._to_type[key] = self._described(type_definition, _HAS_TYPE_DEFINITION, forward=True)
        return found

    def _described(
        self, target: ua.NodeId, reference_type: ua.NodeId, *, forward: bool
    ) -> ua.ReferenceDescription:
        """A reference to ``target`` as asyncua's AddReferences describes it (_add_reference_no_check)."""
        node = self._aspace[target]

        def attribute(attribute_id: ua.AttributeIds) -> Any:
            stored = node.attributes.get(attribute_id)
            data = None if stored is None else stored.value
            return None if data is None or data.Value is None else data.Value.Value

        description = ua.ReferenceDescription(
            ReferenceTypeId=reference_type, IsForward=forward, NodeId=target
        )
        node_class = attribute(ua.AttributeIds.NodeClass)
        if node_class is not None:
            description.NodeClass = ua.NodeClass(node_class)
        browse_name = attribute(ua.AttributeIds.BrowseName)
        if browse_name:
            description.BrowseName = browse_name
        display_name = attribute(ua.AttributeIds.DisplayName)
        if display_name:
            description.DisplayName = display_name
        if description.NodeClass in (ua.NodeClass.Object, ua.NodeClass.Variable):
            for reference in node.references:
                if reference.IsForward and reference.ReferenceTypeId == _HAS_TYPE_DEFINITION:
                    description.TypeDefinition = reference.NodeId
                    break
        self._sharer.share_reference(description)
        return description
