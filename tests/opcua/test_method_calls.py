"""Calls judged per method (Part 4), and the Server object's GetMonitoredItems and ResendData for any role."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, Node, ua

from edge_agent.opcua import AgentOpcUaServer
from edge_agent.opcua.i4aas import SHELL_NAMESPACE_URI
from tests.support.opcua import ClientIdentity, signed_in, tag_node, trust
from tests.support.shell import users_shell_server

# Calls that are refused change nothing, and each subscription is its session's: one server for the module.
pytestmark = pytest.mark.asyncio(loop_scope="module")

NOTIFICATION_DEADLINE_S = 10


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AgentOpcUaServer]:
    async with users_shell_server(tmp_path_factory.mktemp("shell")) as started:
        yield started


@pytest.fixture
def server(module_server: AgentOpcUaServer, client_identity: ClientIdentity) -> AgentOpcUaServer:
    """The module's server, trusting this test's client."""
    trust(module_server, client_identity)
    return module_server


async def call_request(client: Client, *methods: str) -> list[ua.CallMethodResult]:
    """One Call request holding each of the shell's ``methods``, none with arguments."""
    shell_ns = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    shell = ua.NodeId("pump_17", shell_ns)
    requests = [
        ua.CallMethodRequest(
            ObjectId=shell, MethodId=ua.NodeId(f"pump_17#{name}", shell_ns), InputArguments=[]
        )
        for name in methods
    ]
    results: list[ua.CallMethodResult] = await client.uaclient.call(requests)
    return results


async def test_one_call_runs_the_allowed_method_and_refuses_the_other(
    server: AgentOpcUaServer, client_identity: ClientIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.audit")
    async with await signed_in(server, client_identity, "oscar") as client:
        exported, diagnosed = await call_request(client, "ExportAAS", "GetDiagnostics")

    assert exported.StatusCode.is_good()
    assert "pump-17" in exported.OutputArguments[0].Value
    assert diagnosed.StatusCode.value == ua.StatusCodes.BadUserAccessDenied
    calls = [record.audit for record in caplog.records if getattr(record, "audit", {}).get("event") == "call"]
    assert [(entry["method"], entry["result"]) for entry in calls] == [
        ("ExportAAS", "allowed"),
        ("GetDiagnostics", "BadUserAccessDenied"),
    ]


class Collector:
    def __init__(self) -> None:
        self.values: list[Any] = []
        self.changed = asyncio.Event()

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        self.values.append(value)
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(NOTIFICATION_DEADLINE_S):
            while len(self.values) < count:
                await self.changed.wait()
                self.changed.clear()


async def test_an_observer_lists_the_monitored_items_of_its_own_subscription(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    async with await signed_in(server, client_identity, "oscar") as client:
        subscription = await client.create_subscription(50, Collector())
        nodes = [await tag_node(client, "speed_setpoint"), await tag_node(client, "motor_temperature")]
        handles = await subscription.subscribe_data_change(nodes)
        server_handles, client_handles = await client.nodes.server.call_method(
            "0:GetMonitoredItems", ua.Variant(subscription.subscription_id, ua.VariantType.UInt32)
        )

    assert sorted(server_handles) == sorted(handles)
    assert sorted(client_handles) == sorted(
        item.client_handle for item in subscription._monitored_items.values()
    )


async def test_another_sessions_subscription_is_not_the_callers(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    async with (
        await signed_in(server, client_identity, "olivia") as owner,
        await signed_in(server, client_identity, "oscar") as other,
    ):
        subscription = await owner.create_subscription(50, Collector())
        await subscription.subscribe_data_change(await tag_node(owner, "speed_setpoint"))
        for method in ("0:GetMonitoredItems", "0:ResendData"):
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await other.nodes.server.call_method(
                    method, ua.Variant(subscription.subscription_id, ua.VariantType.UInt32)
                )
        with pytest.raises(ua.uaerrors.BadSubscriptionIdInvalid):
            await other.nodes.server.call_method(
                "0:GetMonitoredItems", ua.Variant(999_999, ua.VariantType.UInt32)
            )


async def test_resend_data_sends_the_current_values_again(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    async with await signed_in(server, client_identity, "oscar") as client:
        collector = Collector()
        subscription = await client.create_subscription(50, collector)
        await subscription.subscribe_data_change(await tag_node(client, "speed_setpoint"))
        await collector.wait_for(1)
        await client.nodes.server.call_method(
            "0:ResendData", ua.Variant(subscription.subscription_id, ua.VariantType.UInt32)
        )
        await collector.wait_for(2)

    assert collector.values == [2950, 2950]
