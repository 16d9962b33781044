"""The configured limits hold against clients that ask for more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.ua.uaerrors import BadRequestTooLarge, BadTooManySessions

from edge_agent.opcua import AgentOpcUaServer

from .conftest import ServerFactory, opcua_config


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
