"""Hostile and clumsy clients: the server refuses what is over its limits, stays small and keeps serving."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua

from edge_agent.identity import PkiLayout, ensure_application_certificate
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.opcua import RecordingWriter, opcua_config, serving, tag_node, tag_store
from tests.support.ports import free_port
from tests.support.waiting import eventually

# Each test ends with the server still serving and its clients gone, as the next test needs it: the
# tests share one server, which also shows that what one client did leaves the next unharmed.
pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
HEADER = struct.Struct("<3scI")


def hello(url: str) -> bytes:
    message = struct.pack("<IIIII", 0, 65535, 65535, 0, 0) + struct.pack("<i", len(url)) + url.encode()
    return HEADER.pack(b"HEL", b"F", HEADER.size + len(message)) + message


async def open_raw(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def closed_by_server(reader: asyncio.StreamReader, within: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection; fails if it keeps it open."""
    received = b""
    async with asyncio.timeout(within):
        while chunk := await reader.read(65536):
            received += chunk
    return received


async def channel_client(url: str) -> Client:
    """A client with an unsecured channel open and no session, as every client starts."""
    client = Client(url, timeout=5)
    await client.connect_socket()
    await client.send_hello()
    await client.open_secure_channel()
    return client


def intermediate_chunk(client: Client, size: int = 60_000) -> bytes:
    """The first chunk of a message that never ends: type MSG, chunk type C."""
    protocol: Any = client.uaclient.protocol
    connection = protocol._connection
    token = connection.security_token
    connection._sequence_number += 1  # the chunks of one message carry consecutive sequence numbers
    body = struct.pack("<IIII", token.ChannelId, token.TokenId, connection._sequence_number, 1000)
    body += os.urandom(size)
    return HEADER.pack(b"MSG", b"C", HEADER.size + len(body)) + body


@pytest.fixture(scope="module")
def store() -> TagStore:
    return tag_store(RecordingWriter())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_like(
    tmp_path_factory: pytest.TempPathFactory, store: TagStore
) -> AsyncIterator[AgentOpcUaServer]:
    """A server on loopback with the None policy and anonymous reads, as the demo runs, for 60 sessions."""
    pki = tmp_path_factory.mktemp("pki")
    config = opcua_config(pki, none_policy=True, anonymous_read=True, max_sessions=60)
    async with serving(config, store) as server:
        yield server


async def assert_still_serves(server: AgentOpcUaServer) -> None:
    async with Client(server.endpoint_url, timeout=5) as client:
        node = await tag_node(client, "motor_temperature")
        await node.read_data_value(raise_on_bad_status=False)


async def test_a_header_announcing_a_huge_chunk_is_refused_at_once(demo_like: AgentOpcUaServer) -> None:
    reader, writer = await open_raw(demo_like._settings.port)
    writer.write(hello(demo_like.endpoint_url))
    await reader.readexactly(8)  # the Acknowledge's header
    await reader.read(65536)
    writer.write(HEADER.pack(b"MSG", b"F", 100 * 2**20) + os.urandom(1000))
    answer = await closed_by_server(reader)
    assert answer[:3] == b"ERR"
    assert struct.unpack_from("<I", answer, 8)[0] == ua.StatusCodes.BadTcpMessageTooLarge
    writer.close()
    await assert_still_serves(demo_like)


async def test_a_message_in_chunks_before_any_session_is_refused(demo_like: AgentOpcUaServer) -> None:
    client = await channel_client(demo_like.endpoint_url)
    protocol: Any = client.uaclient.protocol
    protocol.transport.write(intermediate_chunk(client))
    await eventually(lambda: protocol.transport is None or protocol.transport.is_closing(), within=5)
    await assert_still_serves(demo_like)


@pytest.mark.parametrize(
    "garbage", [os.urandom(5000), b"HEL" + b"\xff" * 5, b"\x00" * 64, b"MSGF" + b"\xff" * 8]
)
async def test_garbage_instead_of_a_hello_ends_that_connection_only(
    demo_like: AgentOpcUaServer, garbage: bytes
) -> None:
    reader, writer = await open_raw(demo_like._settings.port)
    writer.write(garbage)
    await closed_by_server(reader, within=15)
    writer.close()
    await assert_still_serves(demo_like)


async def test_clients_that_open_a_channel_and_vanish_leave_nothing_behind(
    demo_like: AgentOpcUaServer,
) -> None:
    for _ in range(30):
        client = await channel_client(demo_like.endpoint_url)
        client.uaclient.protocol.transport.abort()  # type: ignore[union-attr]
    binary_server: Any = demo_like._server.bserver  # type: ignore[union-attr]
    await eventually(lambda: len(binary_server.clients) == 0, within=10)
    assert demo_like.diagnostics()["sessions"] == 0
    await assert_still_serves(demo_like)


async def test_fifty_concurrent_sessions_with_subscriptions_all_see_a_change(
    demo_like: AgentOpcUaServer, store: TagStore
) -> None:
    seen: list[int] = []

    class Handler:
        def __init__(self, number: int) -> None:
            self.number = number

        def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
            if value == 77.5:
                seen.append(self.number)

    clients = [Client(demo_like.endpoint_url, timeout=10) for _ in range(50)]
    try:
        for number, client in enumerate(clients):
            await client.connect()
            subscription = await client.create_subscription(50, Handler(number))
            await subscription.subscribe_data_change(await tag_node(client, "motor_temperature"))
        store.publish(Reading("motor_temperature", 77.5, Quality.Good))
        await eventually(lambda: len(set(seen)) == 50, within=15)
    finally:
        await asyncio.gather(*(client.disconnect() for client in clients), return_exceptions=True)


async def test_hundreds_of_connect_disconnect_cycles_leave_the_server_as_it_was(
    demo_like: AgentOpcUaServer,
) -> None:
    binary_server: Any = demo_like._server.bserver  # type: ignore[union-attr]
    fds_before = len(os.listdir("/proc/self/fd"))
    for _ in range(200):
        async with Client(demo_like.endpoint_url, timeout=5) as client:
            await (await tag_node(client, "door_open")).read_data_value(raise_on_bad_status=False)
    await eventually(lambda: len(binary_server.clients) == 0, within=10)
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 2


# A server in a process of its own, so that its memory is its own.


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_port()
    pki = tmp_path / "pki"
    ensure_application_certificate(
        PkiLayout(pki), application_uri="urn:edge-agent:bench", ip_addresses=["127.0.0.1"]
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.opcua_server", "agent", "10", str(port), str(pki)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        yield port, process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(30)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
async def test_fifty_half_sent_messages_keep_the_server_under_150_mb(
    server_process: tuple[int, subprocess.Popen[str]],
) -> None:
    port, process = server_process
    url = f"opc.tcp://127.0.0.1:{port}"
    for _ in range(300):
        try:
            async with Client(url, timeout=2):
                break
        except (OSError, TimeoutError):
            await asyncio.sleep(0.1)
    baseline = rss_mb(process.pid)
    clients: list[Client] = []
    refused = 0
    for _ in range(50):
        try:
            clients.append(await channel_client(url))
        except (ConnectionError, TimeoutError):
            refused += 1  # beyond the connection cap (sessions + 4 spare): refused at once
    assert refused == 50 - len(clients)
    try:
        for client in clients:
            protocol: Any = client.uaclient.protocol
            for _ in range(30):  # 1.8 MB each, if the server kept it
                if protocol.transport is None or protocol.transport.is_closing():
                    break
                protocol.transport.write(intermediate_chunk(client))
                await asyncio.sleep(0)
        await asyncio.sleep(1.0)
        after = rss_mb(process.pid)
        assert after < 150
        assert after - baseline < 5, f"RSS grew {after - baseline:.1f} MB under the attack"
        async with Client(url, timeout=5) as client:
            assert await client.nodes.server_state.read_value() == ua.ServerState.Running
    finally:
        for client in clients:
            left: Any = client.uaclient.protocol
            if left is not None and left.transport is not None:
                left.transport.abort()
