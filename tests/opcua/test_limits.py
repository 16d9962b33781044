"""The configured limits hold against clients that ask for more."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.ua.uaerrors import BadRequestTooLarge, BadTooManySessions, UaStatusCodeError

from edge_agent.opcua import AgentOpcUaServer

from .conftest import ClientIdentity, ServerFactory, opcua_config, secure_client, trust


@pytest.fixture
async def two_session_server(
    tmp_path: Path, running_server: ServerFactory
) -> AsyncIterator[AgentOpcUaServer]:
    config = opcua_config(tmp_path / "pki", none_policy=True, anonymous_read=True, max_sessions=2)
    async with running_server(config) as server:
        yield server


async def test_session_beyond_max_sessions_is_refused(two_session_server: AgentOpcUaServer) -> None:
    async with AsyncExitStack() as sessions:
        for _ in range(2):
            await sessions.enter_async_context(Client(two_session_server.endpoint_url, timeout=10))

        with pytest.raises(BadTooManySessions):
            await Client(two_session_server.endpoint_url, timeout=10).connect()


async def test_closed_session_frees_its_place(two_session_server: AgentOpcUaServer) -> None:
    async with Client(two_session_server.endpoint_url, timeout=10):
        async with Client(two_session_server.endpoint_url, timeout=10):
            pass
        async with Client(two_session_server.endpoint_url, timeout=10) as client:
            state = await client.nodes.server_state.read_value()

    assert state == ua.ServerState.Running


async def test_sessions_asked_for_over_the_discovery_channel_leave_every_place_free(
    tmp_path: Path, running_server: ServerFactory, client_identity: ClientIdentity
) -> None:
    # Without the None policy the unsecured channel is for GetEndpoints only, yet anyone may open it.
    config = opcua_config(tmp_path / "pki", anonymous_read=True, max_sessions=2)
    async with running_server(config) as server:
        trust(server, client_identity)
        intruder = Client(server.endpoint_url, timeout=10)
        await intruder.connect_sessionless()
        for _ in range(5):
            with contextlib.suppress(UaStatusCodeError):
                await intruder.create_session()
        await intruder.disconnect_sessionless()

        async with AsyncExitStack() as sessions:
            clients = [
                await sessions.enter_async_context(await secure_client(server, client_identity))
                for _ in range(2)
            ]
            states = [await client.nodes.server_state.read_value() for client in clients]

    assert states == [ua.ServerState.Running] * 2


async def test_session_never_activated_holds_no_place(tmp_path: Path, running_server: ServerFactory) -> None:
    config = opcua_config(tmp_path / "pki", none_policy=True, anonymous_read=True, max_sessions=1)
    async with running_server(config) as server:
        idle = Client(server.endpoint_url, timeout=10)
        await idle.connect_sessionless()
        try:
            await idle.create_session()
            async with Client(server.endpoint_url, timeout=10) as client:
                state = await client.nodes.server_state.read_value()
        finally:
            await idle.disconnect_sessionless()

    assert state == ua.ServerState.Running


async def test_lost_connection_frees_its_place_even_with_a_subscription(
    tmp_path: Path, running_server: ServerFactory
) -> None:
    config = opcua_config(tmp_path / "pki", none_policy=True, anonymous_read=True, max_sessions=1)
    async with running_server(config) as server:
        lost = Client(server.endpoint_url, timeout=10)
        await lost.connect()
        try:
            await lost.create_subscription(100, handler=None)
            lost.disconnect_socket()

            async with Client(server.endpoint_url, timeout=10) as client:
                state = await client.nodes.server_state.read_value()
        finally:
            await lost.disconnect()

    assert state == ua.ServerState.Running


async def test_request_larger_than_max_message_size_is_refused(
    tmp_path: Path, running_server: ServerFactory
) -> None:
    config = opcua_config(tmp_path / "pki", none_policy=True, anonymous_read=True, max_message_size="64kB")
    oversized = ua.ReadParameters(
        NodesToRead=[
            ua.ReadValueId(NodeId=ua.NodeId(f"no-such-tag-{i}", 2), AttributeId=ua.AttributeIds.Value)
            for i in range(8000)
        ]
    )
    async with running_server(config) as server, Client(server.endpoint_url, timeout=10) as client:
        with pytest.raises(BadRequestTooLarge):
            await client.uaclient.read(oversized)
