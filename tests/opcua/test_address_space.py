"""How the tags look to a client browsing the server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from asyncua import Client, ua

from edge_agent.opcua import NAMESPACE_URI, AgentOpcUaServer
from tests.support.opcua import RecordingWriter, opcua_config, serving, tag_node, tag_store

# Every test here only browses and reads: one server for the module.
pytestmark = pytest.mark.asyncio(loop_scope="module")

TYPES = {
    "motor_temperature": ua.ObjectIds.Double,
    "speed_setpoint": ua.ObjectIds.Int64,
    "door_open": ua.ObjectIds.Boolean,
    "state_text": ua.ObjectIds.String,
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AgentOpcUaServer]:
    config = opcua_config(tmp_path_factory.mktemp("pki"), none_policy=True, anonymous_read=True)
    async with serving(config, tag_store(RecordingWriter())) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module")
async def client(server: AgentOpcUaServer) -> AsyncIterator[Client]:
    async with Client(server.endpoint_url, timeout=10) as anonymous:
        yield anonymous


async def test_tags_are_browsable_under_edge_agent_tags_by_source(client: Client) -> None:
    ns = await client.get_namespace_index(NAMESPACE_URI)
    tags_folder = await client.nodes.objects.get_child([f"{ns}:EdgeAgent", f"{ns}:Tags"])

    layout = {}
    for source in await tags_folder.get_children():
        names = [(await tag.read_browse_name()).Name for tag in await source.get_children()]
        layout[(await source.read_browse_name()).Name] = sorted(names)

    assert layout == {
        "pump_plc": ["motor_temperature", "speed_setpoint"],
        "panel": ["door_open", "state_text"],
    }


async def test_tag_node_id_is_the_tag_name_in_the_tag_namespace(client: Client) -> None:
    ns = await client.get_namespace_index(NAMESPACE_URI)
    browsed = await client.nodes.objects.get_child(
        [f"{ns}:EdgeAgent", f"{ns}:Tags", f"{ns}:panel", f"{ns}:door_open"]
    )

    assert browsed.nodeid == ua.NodeId("door_open", ns)


async def test_tag_data_type_follows_the_tag_type(client: Client) -> None:
    data_types = {tag: await (await tag_node(client, tag)).read_data_type() for tag in TYPES}

    assert data_types == {tag: ua.NodeId(object_id) for tag, object_id in TYPES.items()}


async def test_tag_description_is_shown(client: Client) -> None:
    node = await tag_node(client, "motor_temperature")

    assert (await node.read_description()).Text == "Motor winding"


async def test_tag_unit_and_range_are_engineering_units_and_eu_range(client: Client) -> None:
    node = await tag_node(client, "motor_temperature")

    units = await (await node.get_child("0:EngineeringUnits")).read_value()
    eu_range = await (await node.get_child("0:EURange")).read_value()

    assert (units.DisplayName.Text, eu_range.Low, eu_range.High) == ("degC", 0.0, 150.0)


async def test_only_writable_tags_declare_current_write(client: Client) -> None:
    writable = {
        tag: ua.AccessLevel.CurrentWrite in await (await tag_node(client, tag)).get_access_level()
        for tag in TYPES
    }

    assert writable == {
        "motor_temperature": False,
        "speed_setpoint": True,
        "door_open": False,
        "state_text": False,
    }
