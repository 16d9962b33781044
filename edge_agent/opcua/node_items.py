"""AddNodes items for the agent's address space (asyncua_seam.add_nodes_in_bulk adds them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from asyncua import ua

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


def analog_property_items(
    nodeid_of: Callable[[str], ua.NodeId],
    variable: ua.NodeId,
    unit: str | None,
    eu_range: tuple[float, float] | None,
) -> list[ua.AddNodesItem]:
    """EngineeringUnits and EURange (OPC UA Part 8) of ``variable``, for whichever of the two is given.

    ``nodeid_of`` names each property's NodeId by its name. Part 8 defines these properties in namespace 0;
    clients look them up by that name.
    """
    found = []
    if unit:
        found.append(
            (ua.QualifiedName("EngineeringUnits", 0), engineering_units(unit), ua.ObjectIds.EUInformation)
        )
    if eu_range is not None:
        low, high = eu_range
        found.append(
            (ua.QualifiedName("EURange", 0), ua.Range(Low=float(low), High=float(high)), ua.ObjectIds.Range)
        )
    return [
        variable_item(
            nodeid_of(name.Name), name, variable, ua.Variant(value, ua.VariantType.ExtensionObject), data_type
        )
        for name, value, data_type in found
    ]


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
