"""AddNodes items for the agent's address space, and the NodeShapes made from them.

A node is added from its item (asyncua_seam.add_node) or, where thousands are alike, from a NodeShape
made once from one item (NodeShapes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from asyncua import ua

from .asyncua_seam import DirectNodes, NodeShape

ReferenceType: TypeAlias = int | ua.NodeId


def _node_id(value: int | ua.NodeId) -> ua.NodeId:
    return value if isinstance(value, ua.NodeId) else ua.NodeId(value)


def node_item(
    node_class: ua.NodeClass,
    nodeid: ua.NodeId,
    browse_name: ua.QualifiedName,
    parent: ua.NodeId,
    *,
    reference_type: ReferenceType,
    type_definition: int | ua.NodeId,
    attrs: Any,
) -> ua.AddNodesItem:
    item = ua.AddNodesItem()
    item.NodeClass = node_class
    item.RequestedNewNodeId = nodeid
    item.BrowseName = browse_name
    item.ParentNodeId = parent
    item.ReferenceTypeId = _node_id(reference_type)
    item.TypeDefinition = _node_id(type_definition)
    item.NodeAttributes = attrs
    return item


def object_item(
    nodeid: ua.NodeId,
    browse_name: ua.QualifiedName,
    parent: ua.NodeId,
    type_definition: int | ua.NodeId,
    *,
    reference_type: ReferenceType = ua.ObjectIds.HasComponent,
    display_name: str | None = None,
    description: str | None = None,
) -> ua.AddNodesItem:
    attrs = ua.ObjectAttributes()
    attrs.DisplayName = ua.LocalizedText(display_name or browse_name.Name)
    if description:
        attrs.Description = ua.LocalizedText(description)
    attrs.EventNotifier = 0
    return node_item(
        ua.NodeClass.Object,
        nodeid,
        browse_name,
        parent,
        reference_type=reference_type,
        type_definition=type_definition,
        attrs=attrs,
    )


def variable_item(
    nodeid: ua.NodeId,
    browse_name: ua.QualifiedName,
    parent: ua.NodeId,
    value: ua.Variant,
    data_type: int | ua.NodeId,
    *,
    reference_type: ReferenceType = ua.ObjectIds.HasProperty,
    type_definition: int | ua.NodeId = ua.ObjectIds.PropertyType,
    value_rank: int = ua.ValueRank.Scalar,
    writable: bool = False,
    display_name: str | None = None,
    description: str | None = None,
) -> ua.AddNodesItem:
    access = ua.AccessLevel.CurrentRead.mask
    if writable:
        access |= ua.AccessLevel.CurrentWrite.mask
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(display_name or browse_name.Name)
    if description:
        attrs.Description = ua.LocalizedText(description)
    attrs.DataType = _node_id(data_type)
    attrs.ValueRank = value_rank
    if value_rank == ua.ValueRank.OneDimension:
        attrs.ArrayDimensions = [0]
    attrs.Value = value
    attrs.AccessLevel = access
    attrs.UserAccessLevel = access
    return node_item(
        ua.NodeClass.Variable,
        nodeid,
        browse_name,
        parent,
        reference_type=reference_type,
        type_definition=type_definition,
        attrs=attrs,
    )


_UNITS_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"


def engineering_units(unit: str) -> ua.EUInformation:
    # -1: no UNECE code is known for the unit; clients show the DisplayName.
    return ua.EUInformation(
        NamespaceUri=_UNITS_NAMESPACE,
        UnitId=-1,
        DisplayName=ua.LocalizedText(unit),
        Description=ua.LocalizedText(unit),
    )


AnalogProperty: TypeAlias = tuple[ua.QualifiedName, ua.Variant, int]
"""An analog property's BrowseName, value and DataType."""


def analog_properties(unit: str | None, eu_range: tuple[float, float] | None) -> list[AnalogProperty]:
    """EngineeringUnits and EURange (OPC UA Part 8) for whichever of the two is given.

    Part 8 defines these properties in namespace 0; clients look them up by that name.
    """
    found = []
    if unit:
        found.append(
            (
                ua.QualifiedName("EngineeringUnits", 0),
                ua.Variant(engineering_units(unit), ua.VariantType.ExtensionObject),
                ua.ObjectIds.EUInformation,
            )
        )
    if eu_range is not None:
        low, high = eu_range
        found.append(
            (
                ua.QualifiedName("EURange", 0),
                ua.Variant(ua.Range(Low=float(low), High=float(high)), ua.VariantType.ExtensionObject),
                ua.ObjectIds.Range,
            )
        )
    return found


def method_item(
    nodeid: ua.NodeId, browse_name: ua.QualifiedName, parent: ua.NodeId, *, description: str
) -> ua.AddNodesItem:
    attrs = ua.MethodAttributes()
    attrs.DisplayName = ua.LocalizedText(browse_name.Name)
    attrs.Description = ua.LocalizedText(description)
    attrs.Executable = True
    attrs.UserExecutable = True
    return node_item(
        ua.NodeClass.Method,
        nodeid,
        browse_name,
        parent,
        reference_type=ua.ObjectIds.HasComponent,
        type_definition=ua.NodeId(),
        attrs=attrs,
    )


class NodeShapes:
    """The shapes of the agent's kinds of node, each made once from an item standing for all of its nodes."""

    def __init__(self, nodes: DirectNodes) -> None:
        self.nodes = nodes
        self._made: dict[tuple[object, ...], NodeShape] = {}

    def object(
        self, type_definition: int | ua.NodeId, *, reference_type: ReferenceType = ua.ObjectIds.HasComponent
    ) -> NodeShape:
        key = ("object", type_definition, reference_type)
        found = self._made.get(key)
        if found is None:
            prototype = object_item(
                ua.NodeId(), ua.QualifiedName(), ua.NodeId(), type_definition, reference_type=reference_type
            )
            found = self._made[key] = self.nodes.shape(prototype)
        return found

    def variable(
        self,
        data_type: int | ua.NodeId,
        *,
        value_rank: int = ua.ValueRank.Scalar,
        reference_type: ReferenceType = ua.ObjectIds.HasProperty,
        type_definition: int | ua.NodeId = ua.ObjectIds.PropertyType,
        writable: bool = False,
    ) -> NodeShape:
        key = ("variable", data_type, value_rank, reference_type, type_definition, writable)
        found = self._made.get(key)
        if found is None:
            prototype = variable_item(
                ua.NodeId(),
                ua.QualifiedName(),
                ua.NodeId(),
                ua.Variant(),
                data_type,
                value_rank=value_rank,
                reference_type=reference_type,
                type_definition=type_definition,
                writable=writable,
            )
            found = self._made[key] = self.nodes.shape(prototype)
        return found

    def add_analog_properties(
        self,
        nodeid_of: Callable[[str], ua.NodeId],
        variable: ua.NodeId,
        unit: str | None,
        eu_range: tuple[float, float] | None,
    ) -> None:
        """Add the analog properties (analog_properties) of ``variable``; ``nodeid_of`` names their ids."""
        for name, value, data_type in analog_properties(unit, eu_range):
            self.nodes.add_shaped(nodeid_of(name.Name), self.variable(data_type), variable, name, value=value)
