"""A signed-in user's write goes to the tag's source; the client gets the device's answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.ua.uaerrors import BadNotWritable, BadOutOfRange, BadTypeMismatch

from edge_agent.opcua import AgentOpcUaServer
from edge_agent.quality import Quality
from tests.support.opcua import (
    ClientIdentity,
    OneOperator,
    RecordingWriter,
    opcua_config,
    serving,
    signed_in_operator,
    tag_node,
    tag_store,
)

# A write reaches the writer and nothing else: the tests share one server, each with its own session.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def writer() -> RecordingWriter:
    """The module server's writer; operator_client makes it new for each test."""
    return RecordingWriter()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory, writer: RecordingWriter
) -> AsyncIterator[AgentOpcUaServer]:
    config = opcua_config(tmp_path_factory.mktemp("pki"), security=["Basic256Sha256"])
    async with serving(config, tag_store(writer), user_directory=OneOperator()) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module")
async def operator_client(
    server: AgentOpcUaServer, writer: RecordingWriter, client_identity: ClientIdentity
) -> AsyncIterator[Client]:
    writer.reset()
    async with signed_in_operator(server, client_identity) as client:
        yield client


async def test_write_reaches_the_source_of_the_tag(operator_client: Client, writer: RecordingWriter) -> None:
    node = await tag_node(operator_client, "speed_setpoint")

    await node.write_value(ua.Variant(1500, ua.VariantType.Int64))

    assert writer.writes == [("speed_setpoint", 1500)]


async def test_client_gets_the_devices_answer_as_the_write_status(
    operator_client: Client, writer: RecordingWriter
) -> None:
    writer.answer = Quality.BadOutOfRange
    node = await tag_node(operator_client, "speed_setpoint")

    with pytest.raises(BadOutOfRange):
        await node.write_value(ua.Variant(9000, ua.VariantType.Int64))


async def test_write_of_the_wrong_type_is_refused_before_the_source(
    operator_client: Client, writer: RecordingWriter
) -> None:
    node = await tag_node(operator_client, "speed_setpoint")

    with pytest.raises(BadTypeMismatch):
        await node.write_value(ua.Variant(1500.5, ua.VariantType.Double))
    assert writer.writes == []


async def test_read_only_tag_is_not_writable(operator_client: Client) -> None:
    node = await tag_node(operator_client, "motor_temperature")

    with pytest.raises(BadNotWritable):
        await node.write_value(ua.Variant(20.0, ua.VariantType.Double))
