"""UserAccessLevel and UserExecutable say what the server lets this session do (Part 3, Part 18)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, Node, ua

from edge_agent.opcua import AgentOpcUaServer
from edge_agent.opcua.i4aas import SHELL_NAMESPACE_URI
from tests.support.opcua import (
    ClientIdentity,
    OneOperator,
    ServerFactory,
    log_in_as_operator,
    opcua_config,
    signed_in,
    tag_node,
    trust,
)
from tests.support.shell import SHELL_USERS, users_shell_server

# What a session may do is read, never changed: the tests share one server.
pytestmark = pytest.mark.asyncio(loop_scope="module")

USERS = SHELL_USERS
READ = ua.AccessLevel.CurrentRead.mask
READ_WRITE = READ | ua.AccessLevel.CurrentWrite.mask
NOTIFICATION_DEADLINE_S = 10


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AgentOpcUaServer]:
    async with users_shell_server(tmp_path_factory.mktemp("shell"), USERS) as started:
        yield started


@pytest.fixture
def server(module_server: AgentOpcUaServer, client_identity: ClientIdentity) -> AgentOpcUaServer:
    """The module's server, trusting this test's client."""
    trust(module_server, client_identity)
    return module_server


async def setpoints(client: Client) -> list[Node]:
    """The writable tag as the flat tag view and as the shell's live property show it."""
    shell_ns = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    return [
        await tag_node(client, "speed_setpoint"),
        client.get_node(ua.NodeId("pump_17.OperationalData.speed_setpoint#Value", shell_ns)),
    ]


async def method(client: Client, name: str) -> Node:
    shell_ns = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    return client.get_node(ua.NodeId(f"pump_17#{name}", shell_ns))


async def access_levels(client: Client) -> list[tuple[int, int]]:
    found = []
    for node in await setpoints(client):
        found.append(
            (
                await node.read_attribute(ua.AttributeIds.AccessLevel),
                await node.read_attribute(ua.AttributeIds.UserAccessLevel),
            )
        )
    return [(level.Value.Value & READ_WRITE, user.Value.Value & READ_WRITE) for level, user in found]


async def executable(client: Client) -> dict[str, bool]:
    found = {}
    for name in ("ExportAAS", "GetDiagnostics", "ReloadConfiguration"):
        value = await (await method(client, name)).read_attribute(ua.AttributeIds.UserExecutable)
        found[name] = value.Value.Value
    server_methods = client.get_node(ua.NodeId(ua.ObjectIds.Server_GetMonitoredItems))
    value = await server_methods.read_attribute(ua.AttributeIds.UserExecutable)
    found["GetMonitoredItems"] = value.Value.Value
    return found


async def test_an_observer_reads_writable_tags_as_not_writable_for_it(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    async with await signed_in(server, client_identity, "oscar") as client:
        assert await access_levels(client) == [(READ_WRITE, READ), (READ_WRITE, READ)]


async def test_an_operator_reads_them_writable(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    async with await signed_in(server, client_identity, "olivia") as client:
        assert await access_levels(client) == [(READ_WRITE, READ_WRITE), (READ_WRITE, READ_WRITE)]


async def test_each_role_reads_as_executable_the_methods_it_may_call(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    found = {}
    for name in USERS:
        async with await signed_in(server, client_identity, name) as client:
            found[name] = await executable(client)

    assert found == {
        "oscar": {
            "ExportAAS": True,
            "GetDiagnostics": False,
            "ReloadConfiguration": False,
            "GetMonitoredItems": True,
        },
        "olivia": {
            "ExportAAS": True,
            "GetDiagnostics": True,
            "ReloadConfiguration": False,
            "GetMonitoredItems": True,
        },
        "erik": {
            "ExportAAS": True,
            "GetDiagnostics": True,
            "ReloadConfiguration": True,
            "GetMonitoredItems": True,
        },
    }


async def test_sessions_side_by_side_each_read_their_own(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    async with (
        await signed_in(server, client_identity, "oscar") as observer,
        await signed_in(server, client_identity, "olivia") as operator,
    ):
        for _ in range(3):
            assert await access_levels(observer) == [(READ_WRITE, READ)] * 2
            assert await access_levels(operator) == [(READ_WRITE, READ_WRITE)] * 2


class Collector:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.changed = asyncio.Event()

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        self.values[node.nodeid.to_string()] = value
        self.changed.set()


async def monitored_user_access_levels(client: Client) -> list[Any]:
    collector = Collector()
    nodes = await setpoints(client)
    subscription = await client.create_subscription(50, collector)
    await subscription.subscribe_data_change(nodes, attr=ua.AttributeIds.UserAccessLevel)
    async with asyncio.timeout(NOTIFICATION_DEADLINE_S):
        while len(collector.values) < len(nodes):
            await collector.changed.wait()
            collector.changed.clear()
    await subscription.delete()
    return [collector.values[node.nodeid.to_string()] & READ_WRITE for node in nodes]


async def test_a_monitored_user_access_level_is_the_sessions_own(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    async with await signed_in(server, client_identity, "oscar") as client:
        assert await monitored_user_access_levels(client) == [READ, READ]
    async with await signed_in(server, client_identity, "olivia") as client:
        assert await monitored_user_access_levels(client) == [READ_WRITE, READ_WRITE]


async def test_nothing_is_writable_over_the_read_only_none_channel(
    tmp_path: Path, running_server: ServerFactory
) -> None:
    config = opcua_config(
        tmp_path / "pki", security=["Basic256Sha256"], none_policy=True, anonymous_read=True
    )
    async with running_server(config, user_directory=OneOperator()) as server:
        async with Client(server.endpoint_url, timeout=10) as anonymous:
            node = await tag_node(anonymous, "speed_setpoint")
            anonymous_level = await node.read_attribute(ua.AttributeIds.UserAccessLevel)
            anonymous_method = await anonymous.get_node(
                ua.NodeId(ua.ObjectIds.Server_GetMonitoredItems)
            ).read_attribute(ua.AttributeIds.UserExecutable)
        async with log_in_as_operator(Client(server.endpoint_url, timeout=10)) as operator:
            node = await tag_node(operator, "speed_setpoint")
            operator_level = await node.read_attribute(ua.AttributeIds.UserAccessLevel)
            access_level = await node.read_attribute(ua.AttributeIds.AccessLevel)

    assert access_level.Value.Value & READ_WRITE == READ_WRITE
    assert anonymous_level.Value.Value & READ_WRITE == READ
    assert operator_level.Value.Value & READ_WRITE == READ
    assert anonymous_method.Value.Value is False
