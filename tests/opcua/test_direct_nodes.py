"""Nodes made from NodeShapes hold what asyncua's own AddNodes would store for the same items.

The same nodes go into two real servers: once through asyncua's AddNodes service, once through
DirectNodes; every attribute and every reference of every node (and of the parent) must read the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Server, ua

from edge_agent.opcua.asyncua_seam import AttributeSharer, add_node, direct_nodes, replace_attribute
from edge_agent.opcua.node_items import NodeShapes, analog_properties, object_item, variable_item

pytestmark = pytest.mark.asyncio(loop_scope="module")

NAMESPACE = "urn:test:direct"
HAS_DICTIONARY_ENTRY = ua.NodeId(ua.ObjectIds.HasDictionaryEntry)


class Plan:
    """The nodes of the test, each as an AddNodes item and as the arguments of add_shaped."""

    def __init__(self, idx: int, parent: ua.NodeId) -> None:
        self.idx = idx
        self.parent = parent
        self.items: list[ua.AddNodesItem] = []
        self.shaped: list[Callable[[NodeShapes], None]] = []
        self.own_values: list[ua.NodeId] = []

    def node(self, name: str) -> ua.NodeId:
        return ua.NodeId(name, self.idx)

    def object(self, name: str, parent: ua.NodeId, type_definition: int, reference_type: int) -> ua.NodeId:
        nodeid, browse = self.node(name), ua.QualifiedName(name, self.idx)
        self.items.append(object_item(nodeid, browse, parent, type_definition, reference_type=reference_type))
        self.shaped.append(
            lambda shapes: shapes.nodes.add_shaped(
                nodeid, shapes.object(type_definition, reference_type=reference_type), parent, browse
            )
        )
        return nodeid

    def variable(
        self, name: str, parent: ua.NodeId, value: ua.Variant, data_type: int, **options: Any
    ) -> ua.NodeId:
        nodeid = self.node(name)
        browse = ua.QualifiedName(options.pop("browse_name", name), self.idx)
        description = options.pop("description", None)
        own_value = options.pop("own_value", False)
        self.items.append(
            variable_item(nodeid, browse, parent, value, data_type, description=description, **options)
        )
        if own_value:
            self.own_values.append(nodeid)
        self.shaped.append(
            lambda shapes: shapes.nodes.add_shaped(
                nodeid,
                shapes.variable(data_type, **options),
                parent,
                browse,
                description=description,
                value=value,
                own_value=own_value,
            )
        )
        return nodeid


def plan(idx: int, parent: ua.NodeId) -> Plan:
    made = Plan(idx, parent)
    folder = made.object("Folder", parent, ua.ObjectIds.FolderType, ua.ObjectIds.Organizes)
    things = [
        made.object(name, folder, ua.ObjectIds.BaseObjectType, ua.ObjectIds.HasComponent)
        for name in ("Thing", "Other", "Third")
    ]
    for position in range(3):
        made.variable(f"Count{position}", folder, ua.Variant(7, ua.VariantType.Int32), ua.ObjectIds.Int32)
    # Alike in name and value too, as every shell element's Category is: from the second on, one dict.
    for position, thing in enumerate(things):
        made.variable(
            f"Kind{position}",
            thing,
            ua.Variant("pump", ua.VariantType.String),
            ua.ObjectIds.String,
            browse_name="Kind",
        )
    made.variable(
        "Texts",
        folder,
        ua.Variant([ua.LocalizedText("a", "en")], ua.VariantType.LocalizedText),
        ua.ObjectIds.LocalizedText,
        value_rank=ua.ValueRank.OneDimension,
    )
    analog = made.variable(
        "Speed",
        folder,
        ua.Variant(None, ua.VariantType.Null),
        ua.ObjectIds.Double,
        reference_type=ua.ObjectIds.HasComponent,
        type_definition=ua.ObjectIds.AnalogItemType,
        writable=True,
        description="pump speed",
        own_value=True,
    )
    for browse, value, data_type in analog_properties("rpm", (0.0, 3000.0)):
        made.variable(f"Speed.{browse.Name}", analog, value, data_type)
    return made


async def two_servers() -> AsyncIterator[tuple[Server, Server]]:
    servers = [Server(), Server()]
    for server in servers:
        await server.init()
    yield servers[0], servers[1]
    for server in servers:
        await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def built() -> AsyncIterator[tuple[Server, Server, Plan]]:
    async for by_service, direct in two_servers():
        plans = []
        for server in (by_service, direct):
            idx = await server.register_namespace(NAMESPACE)
            root = await add_node(
                server,
                object_item(
                    ua.NodeId("Root", idx),
                    ua.QualifiedName("Root", idx),
                    ua.NodeId(ua.ObjectIds.ObjectsFolder),
                    ua.ObjectIds.BaseObjectType,
                    reference_type=ua.ObjectIds.Organizes,
                ),
            )
            plans.append(plan(idx, root))
        first, second = plans
        for result in await by_service.iserver.isession.add_nodes(first.items):
            result.StatusCode.check()
        reference = ua.AddReferencesItem(
            SourceNodeId=first.node("Count0"),
            ReferenceTypeId=HAS_DICTIONARY_ENTRY,
            IsForward=True,
            TargetNodeId=first.node("Thing"),
            TargetNodeClass=ua.NodeClass.Object,
        )
        inverse = ua.AddReferencesItem(
            SourceNodeId=first.node("Thing"),
            ReferenceTypeId=HAS_DICTIONARY_ENTRY,
            IsForward=False,
            TargetNodeId=first.node("Count0"),
            TargetNodeClass=ua.NodeClass.Variable,
        )
        for status in by_service.iserver.node_mgt_service.add_references([reference, inverse]):
            status.check()
        shapes = NodeShapes(direct_nodes(direct, AttributeSharer()))
        for add in second.shaped:
            add(shapes)
        shapes.nodes.reference(second.node("Count0"), HAS_DICTIONARY_ENTRY, second.node("Thing"))
        yield by_service, direct, second


def attributes(server: Server, nodeid: ua.NodeId) -> dict[ua.AttributeIds, tuple[Any, Any]]:
    """Every attribute of ``nodeid`` as a Read answers it (value and status)."""
    aspace = server.iserver.aspace
    # AddNodes through a session stamps the Value with the time of adding; the values are what counts.
    answers = {attribute: aspace.read_attribute_value(nodeid, attribute) for attribute in ua.AttributeIds}
    return {
        attribute: (answer.Value, answer.StatusCode)
        for attribute, answer in answers.items()
        if answer.StatusCode is None or answer.StatusCode.value != ua.StatusCodes.BadAttributeIdInvalid
    }


def references(server: Server, nodeid: ua.NodeId) -> list[str]:
    return sorted(repr(reference) for reference in server.iserver.aspace[nodeid].references)


async def test_every_node_reads_as_addnodes_stores_it(built: tuple[Server, Server, Plan]) -> None:
    by_service, direct, made = built
    assert made.items
    for item in made.items:
        nodeid = item.RequestedNewNodeId
        assert attributes(direct, nodeid) == attributes(by_service, nodeid), nodeid
        assert references(direct, nodeid) == references(by_service, nodeid), nodeid
    assert references(direct, made.parent) == references(by_service, made.parent)


async def test_equal_attributes_are_one_object_and_changing_values_are_not(
    built: tuple[Server, Server, Plan],
) -> None:
    _, direct, made = built
    aspace = direct.iserver.aspace
    counts = [aspace[made.node(f"Count{position}")].attributes for position in range(3)]
    for attribute in (ua.AttributeIds.AccessLevel, ua.AttributeIds.DataType, ua.AttributeIds.Value):
        assert counts[0][attribute] is counts[1][attribute] is counts[2][attribute]
    for position in range(3):
        nodeid = made.node(f"Count{position}")
        assert aspace.read_attribute_value(nodeid, ua.AttributeIds.NodeId).Value == ua.Variant(nodeid)
    (speed,) = made.own_values
    value = aspace[speed].attributes[ua.AttributeIds.Value]
    others = [aspace[item.RequestedNewNodeId].attributes.get(ua.AttributeIds.Value) for item in made.items]
    assert sum(other is value for other in others) == 1


async def test_a_node_id_taken_or_a_missing_parent_is_refused(built: tuple[Server, Server, Plan]) -> None:
    _, direct, made = built
    shapes = NodeShapes(direct_nodes(direct))
    shape = shapes.object(ua.ObjectIds.FolderType, reference_type=ua.ObjectIds.Organizes)
    with pytest.raises(RuntimeError, match="exists"):
        shapes.nodes.add_shaped(made.node("Folder"), shape, made.parent, ua.QualifiedName("Folder", made.idx))
    with pytest.raises(RuntimeError, match="no parent"):
        shapes.nodes.add_shaped(
            made.node("New"), shape, made.node("Nowhere"), ua.QualifiedName("New", made.idx)
        )


@pytest.mark.parametrize("names", [("Count1", "Count2"), ("Kind2", "Kind1")])
async def test_replacing_a_shared_attribute_changes_that_node_alone(
    built: tuple[Server, Server, Plan], names: tuple[str, str]
) -> None:
    _, direct, made = built
    first, second = (made.node(name) for name in names)
    replace_attribute(
        direct, first, ua.AttributeIds.AccessLevel, ua.DataValue(ua.Variant(0, ua.VariantType.Byte))
    )
    aspace = direct.iserver.aspace
    assert aspace.read_attribute_value(first, ua.AttributeIds.AccessLevel).Value.Value == 0
    assert (
        aspace.read_attribute_value(second, ua.AttributeIds.AccessLevel).Value.Value
        == ua.AccessLevel.CurrentRead.mask
    )
    assert ua.AttributeIds.AccessLevel in aspace[first].attributes
    assert dict(aspace[first].attributes.items()).keys() == dict(aspace[second].attributes.items()).keys()
