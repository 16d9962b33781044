"""The configured limits hold against clients that ask for more."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.ua.uaerrors import BadRequestTooLarge, BadTooManySessions, UaStatusCodeError

from edge_agent.opcua import AgentOpcUaServer
from tests.support.opcua import ClientIdentity, ServerFactory, opcua_config, secure_client, trust

OpenServerFactory = Callable[[int], AbstractAsyncContextManager[AgentOpcUaServer]]


@pytest.fixture
def open_server(tmp_path: Path, running_server: ServerFactory) -> OpenServerFactory:
    """``async with open_server(max_sessions) as server:`` -- a server any client may read from without
    signing in, the easiest for a client to fill up."""

    def start(max_sessions: int) -> AbstractAsyncContextManager[AgentOpcUaServer]:
        config = opcua_config(
            tmp_path / "pki", none_policy=True, anonymous_read=True, max_sessions=max_sessions
        )
        return running_server(config)

    return start


@pytest.fixture
async def two_session_server(open_server: OpenServerFactory) -> AsyncIterator[AgentOpcUaServer]:
    async with open_server(2) as server:
        yield server


@pytest.fixture
async def one_session_server(open_server: OpenServerFactory) -> AsyncIterator[AgentOpcUaServer]:
    async with open_server(1) as server:
        yield server


async def state_seen_by_a_new_client(server: AgentOpcUaServer) -> ua.ServerState:
    """What a client that connects now reads as the server's state; it fails if the server refuses it."""
    async with Client(server.endpoint_url, timeout=10) as client:
        state: ua.ServerState = await client.nodes.server_state.read_value()
        return state


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
        state = await state_seen_by_a_new_client(two_session_server)

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


async def test_session_never_activated_holds_no_place(one_session_server: AgentOpcUaServer) -> None:
    idle = Client(one_session_server.endpoint_url, timeout=10)
    await idle.connect_sessionless()
    try:
        await idle.create_session()
        state = await state_seen_by_a_new_client(one_session_server)
    finally:
        await idle.disconnect_sessionless()

    assert state == ua.ServerState.Running


async def test_lost_connection_frees_its_place_even_with_a_subscription(
    one_session_server: AgentOpcUaServer,
) -> None:
    lost = Client(one_session_server.endpoint_url, timeout=10)
    await lost.connect()
    try:
        await lost.create_subscription(100, handler=None)
        lost.disconnect_socket()
        state = await state_seen_by_a_new_client(one_session_server)
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
