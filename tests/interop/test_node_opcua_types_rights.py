"""What node-opcua, with its default typing, sees of each point's type and of the session's own rights."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge_agent.identity.users import Role
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore
from tests.support.opcua import (
    ClientIdentity,
    OneOperator,
    RecordingWriter,
    ServerFactory,
    opcua_config,
    trust,
)

from .node_client import operation_results, run_node_client, tag_node_id
from .operator import operator_job

TAGS = [
    TagInfo("pump_speed", "plc", "int", unit="rpm", writable=True, number_type="uint16"),
    TagInfo("level", "plc", "float", number_type="float32"),
    TagInfo("pressure", "plc", "float"),  # a scaled register: any float
    TagInfo("position", "plc", "int", writable=True, number_type="int32"),
]
READ_WRITE = 3


@pytest.fixture
def store(writer: RecordingWriter) -> TagStore:
    tag_store = TagStore(TAGS)
    tag_store.set_writer("pump_speed", writer)
    tag_store.publish(Reading("pump_speed", 1450))
    tag_store.publish(Reading("level", 0.5))
    tag_store.publish(Reading("pressure", 1.23))
    tag_store.publish(Reading("position", -20))
    return tag_store


@pytest.fixture
def user_role() -> Role | None:
    return None


@pytest.fixture
async def server(
    tmp_path: Path, running_server: ServerFactory, client_identity: ClientIdentity, user_role: Role | None
) -> AsyncIterator[AgentOpcUaServer]:
    directory = OneOperator(part18_role=user_role)
    async with running_server(opcua_config(tmp_path / "pki"), user_directory=directory) as started:
        trust(started, client_identity)
        yield started


async def test_each_tag_has_its_points_data_type_and_values_of_it(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    node_ids = [tag_node_id(info.name) for info in TAGS]
    operations = [
        {"op": "read", "nodeIds": node_ids, "attribute": "DataType"},
        {"op": "read", "nodeIds": node_ids},
    ]

    data_types, values = operation_results(
        await run_node_client(operator_job(server, client_identity, operations))
    )

    assert [value["value"] for value in data_types["values"]] == ["i=5", "i=10", "i=11", "i=6"]
    assert [(value["value"], value["dataType"]) for value in values["values"]] == [
        (1450, "UInt16"),
        (0.5, "Float"),
        (1.23, "Double"),
        (-20, "Int32"),
    ]


async def test_a_uint16_written_as_node_opcua_types_it_reaches_the_source(
    server: AgentOpcUaServer, client_identity: ClientIdentity, writer: RecordingWriter
) -> None:
    write = {
        "op": "write",
        "writes": [{"nodeId": tag_node_id("pump_speed"), "dataType": "UInt16", "value": 1500}],
    }

    [answer] = operation_results(await run_node_client(operator_job(server, client_identity, [write])))

    assert [item["statusCode"] for item in answer["results"]] == ["Good"]
    assert writer.writes == [("pump_speed", 1500)]


@pytest.mark.parametrize(("user_role", "writable"), [(Role.OBSERVER, False), (Role.OPERATOR, True)])
async def test_user_access_level_is_what_the_role_may_do(
    server: AgentOpcUaServer, client_identity: ClientIdentity, writable: bool
) -> None:
    node_ids = [tag_node_id("pump_speed"), tag_node_id("level")]
    operations = [
        {"op": "read", "nodeIds": node_ids, "attribute": "AccessLevel"},
        {"op": "read", "nodeIds": node_ids, "attribute": "UserAccessLevel"},
        {
            "op": "write",
            "writes": [{"nodeId": tag_node_id("pump_speed"), "dataType": "UInt16", "value": 1500}],
        },
    ]

    result = await run_node_client(operator_job(server, client_identity, operations))

    levels, user_levels = operation_results({**result, "results": result["results"][:2]})
    write = result["results"][2]
    # asyncua refuses a Write request of a user without the right as a whole (the service's status).
    status = write["error"]["status"] if "error" in write else write["results"][0]["statusCode"]
    assert [value["value"] & READ_WRITE for value in levels["values"]] == [3, 1]
    assert [value["value"] & READ_WRITE for value in user_levels["values"]] == [3 if writable else 1, 1]
    assert status == ("Good" if writable else "BadUserAccessDenied")
