"""A user the user store calls an administrator still gets no more than a user's rights."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.crypto.permission_rules import UserRole
from asyncua.ua.uaerrors import UaStatusCodeError

from edge_agent.opcua import AgentOpcUaServer
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

# Every change is refused, so the address space stays as it was: one server for the module.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AgentOpcUaServer]:
    config = opcua_config(tmp_path_factory.mktemp("pki"))
    store = tag_store(RecordingWriter())
    async with serving(config, store, user_directory=OneOperator(UserRole.Admin)) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module")
async def admin_client(server: AgentOpcUaServer, client_identity: ClientIdentity) -> AsyncIterator[Client]:
    async with signed_in_operator(server, client_identity) as client:
        yield client


async def add_an_object(client: Client) -> None:
    await client.nodes.objects.add_object(ua.NodeId("intruder", 1), "Intruder")


async def delete_a_tag(client: Client) -> None:
    await (await tag_node(client, "motor_temperature")).delete()


async def rename_a_tag(client: Client) -> None:
    node = await tag_node(client, "motor_temperature")
    await node.write_attribute(
        ua.AttributeIds.DisplayName, ua.DataValue(ua.Variant(ua.LocalizedText("renamed")))
    )


@pytest.mark.parametrize("change", [add_an_object, delete_a_tag, rename_a_tag])
async def test_admin_from_the_user_store_cannot_change_the_address_space(
    admin_client: Client, change: Callable[[Client], Awaitable[None]]
) -> None:
    with pytest.raises(UaStatusCodeError) as refused:
        await change(admin_client)

    assert ua.StatusCode(refused.value.code).name == "BadUserAccessDenied"
