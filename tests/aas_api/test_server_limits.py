"""The HTTP face against greedy, slow and malformed clients: each refused, the rest still served, and
nothing kept of them (memory does not grow)."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from edge_agent.aas import build_environment
from edge_agent.aas.ids import SubmodelIds
from edge_agent.aas_api.live_shell import LiveShell
from edge_agent.aas_api.server import AasApiServer
from edge_agent.agent_config import load_config
from edge_agent.config import AasApiConfig
from edge_agent.demo import DEMO_CONFIG
from edge_agent.identity import PkiLayout
from edge_agent.opcua.security import LoginGuard
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.ports import free_port
from tests.support.waiting import eventually

MAX_CONNECTIONS = 4
REQUEST_TIMEOUT_S = 1.0
# Only guards against a hang: each wait ends on an answer or a closed socket long before.
GUARD_S = 30.0


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[AasApiServer]:
    config = load_config(DEMO_CONFIG)
    store = TagStore(config.tag_infos())
    store.publish(Reading("speed_setpoint", 2900))
    environment = build_environment(config, certificate_der=None, values=store.snapshot())
    api_config = AasApiConfig.model_validate(
        {
            "listen": f"http://127.0.0.1:{free_port()}",
            "insecure": {"plaintext": True, "anonymous_read": True},
            "limits": {
                "max_connections": MAX_CONNECTIONS,
                "request_timeout": f"{REQUEST_TIMEOUT_S}s",
                "max_request_size": "4kB",
            },
        }
    )
    api = AasApiServer(
        api_config, LiveShell(environment, store), pki=PkiLayout(tmp_path), users=None, guard=LoginGuard()
    )
    await api.start()
    yield api
    await api.stop()


def setpoint_url(server: AasApiServer) -> str:
    submodel = b64(SubmodelIds("urn:example:aas:pump-17").operational_data)
    return f"{server.url}/submodels/{submodel}/submodel-elements/speed_setpoint/$value"


async def still_serves(server: AasApiServer) -> None:
    async with aiohttp.ClientSession() as session, session.get(setpoint_url(server)) as response:
        assert response.status == 200
        assert await response.json() == {"speed_setpoint": 2900}


async def raw_connection(server: AasApiServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.config.port)


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before closing the connection (b"" for nothing)."""
    async with asyncio.timeout(GUARD_S):
        return await reader.read()


async def test_huge_headers_are_refused_and_the_rest_is_served(server: AasApiServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(setpoint_url(server), headers={"X-Filler": "x" * 20_000}) as response,
    ):
        assert 400 <= response.status < 500
    await still_serves(server)


async def test_a_body_over_the_limit_is_refused_with_413(server: AasApiServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.patch(setpoint_url(server), data=b"1" * 10_000) as response,
    ):
        assert response.status == 413
    await still_serves(server)


async def test_a_body_that_is_not_json_is_refused_with_400(server: AasApiServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.patch(setpoint_url(server), data=b"{not json") as response,
    ):
        assert response.status in (400, 403)
        assert "messages" in await response.json()


@pytest.mark.parametrize(
    "identifier",
    ["..%2F..%2Fetc%2Fpasswd", b64("../../etc/passwd"), b64("/etc/passwd"), "%00", "a" * 3000],
    ids=["dots", "b64-dots", "b64-absolute", "nul", "long"],
)
async def test_ids_that_try_to_leave_the_shell_are_not_found_or_refused(
    server: AasApiServer, identifier: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}/submodels/{identifier}") as response,
    ):
        assert response.status in (400, 404, 414)
        if response.status != 414:
            assert "messages" in await response.json()


async def test_a_client_trickling_its_headers_is_cut_off(server: AasApiServer) -> None:
    reader, writer = await raw_connection(server)
    started = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nHost: agent\r\n")

    async def trickle() -> None:
        while not reader.at_eof():
            writer.write(b"X-A: b\r\n")
            await asyncio.sleep(0.1)

    trickling = asyncio.create_task(trickle())
    try:
        assert await closed_by_server(reader) == b""
    finally:
        trickling.cancel()
        writer.close()
    assert time.monotonic() - started >= REQUEST_TIMEOUT_S
    assert server.guard.timed_out >= 1
    await still_serves(server)


async def test_a_client_trickling_its_body_is_cut_off(server: AasApiServer) -> None:
    reader, writer = await raw_connection(server)
    path = setpoint_url(server).removeprefix(server.url)
    writer.write(f"PATCH {path} HTTP/1.1\r\nHost: agent\r\nContent-Length: 100\r\n\r\n".encode())

    async def trickle() -> None:
        while not reader.at_eof():
            writer.write(b" ")
            await asyncio.sleep(0.1)

    trickling = asyncio.create_task(trickle())
    try:
        answer = await closed_by_server(reader)
    finally:
        trickling.cancel()
        writer.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408")
    await still_serves(server)


async def test_connections_beyond_the_limit_are_closed_and_served_again_once_one_goes(
    server: AasApiServer,
) -> None:
    held = [await raw_connection(server) for _ in range(MAX_CONNECTIONS)]
    await eventually(lambda: server.guard.open_connections == MAX_CONNECTIONS, within=GUARD_S)
    reader, writer = await raw_connection(server)
    assert await closed_by_server(reader) == b""
    writer.close()
    assert server.guard.refused >= 1
    for _, held_writer in held:
        held_writer.close()
    await eventually(lambda: server.guard.open_connections == 0, within=GUARD_S)
    await still_serves(server)


async def test_malformed_requests_leave_nothing_behind_and_log_one_line_each(
    server: AasApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def one_bad_client(index: int) -> None:
        with socket.socket() as sock:
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_connect(sock, ("127.0.0.1", server.config.port))
            garbage = [b"\x16\x03\x01garbage\r\n\r\n", b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n"]
            await loop.sock_sendall(sock, garbage[index % 2])
            async with asyncio.timeout(GUARD_S):
                while await loop.sock_recv(sock, 4096):
                    pass

    async def batch(first: int) -> None:
        for round_ in range(10):
            await asyncio.gather(*(one_bad_client(first + round_ * 4 + i) for i in range(MAX_CONNECTIONS)))

    await batch(0)  # whatever aiohttp and the log allocate once
    gc.collect()
    tracemalloc.start()
    try:
        await batch(40)
        gc.collect()
        after_one = tracemalloc.get_traced_memory()[0]
        await batch(80)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - after_one
    finally:
        tracemalloc.stop()
    # Nothing kept per request: forty more malformed requests leave the memory where forty left it.
    assert grown < 64 * 1024, f"{grown} bytes kept by 40 more malformed requests"
    assert "Traceback" not in caplog.text
    await still_serves(server)
