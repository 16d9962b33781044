"""Registration with an AAS Registry: the agent's server posts its shell's descriptor at start (PUT when
the registry has it), puts it again when the shell changes, and never waits for or stops on a registry
that is down or refuses. Against a stub registry that checks each body with the IDTA's schema."""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from edge_agent.aas_api.ids import encode_id
from edge_agent.aas_api.live_shell import LiveShell
from edge_agent.aas_api.server import AasApiServer
from edge_agent.aas_api.tls import server_tls_context
from edge_agent.config.aas_api import AasApiConfig
from edge_agent.identity import PkiLayout, ensure_application_certificate
from edge_agent.opcua.security import LoginGuard
from tests.support.opcua import RecordingWriter
from tests.support.waiting import eventually

from .conftest import SHELL_ID
from .double import full_shell
from .registry_stub import RegistryStub, serve

OPCUA = "opc.tcp://0.0.0.0:4840"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def until(condition: Callable[[], bool]) -> None:
    await eventually(condition, within=10.0)


class Agent:
    """The agent's HTTP face over the full test config's shell, registering with ``registry_url``."""

    def __init__(self, directory: Path, registry_url: str, **registry: str) -> None:
        self.port = free_port()
        shell = full_shell(directory, RecordingWriter())
        self.live = LiveShell(shell.environment(), shell.store)
        config = AasApiConfig.model_validate(
            {
                "listen": f"http://127.0.0.1:{self.port}",
                "insecure": {"plaintext": True, "anonymous_read": True},
                "registry": {"url": registry_url, **registry},
            }
        )
        self.pki = PkiLayout(directory / "pki")
        self.server = AasApiServer(
            config, self.live, pki=self.pki, users=None, guard=LoginGuard(), opcua_endpoint=OPCUA
        )
        self.base = f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def registry() -> AsyncIterator[tuple[RegistryStub, str]]:
    stub, port = RegistryStub(), free_port()
    runner = await serve(stub, port)
    yield stub, f"http://127.0.0.1:{port}/api/v3.0"
    await runner.cleanup()


@pytest.fixture
async def agent(tmp_path: Path, registry: tuple[RegistryStub, str]) -> AsyncIterator[Agent]:
    started = Agent(tmp_path, registry[1])
    await started.server.start()
    yield started
    await started.server.stop()


async def test_start_posts_a_valid_descriptor_with_both_endpoints(
    agent: Agent, registry: tuple[RegistryStub, str]
) -> None:
    stub = registry[0]
    await until(lambda: stub.statuses() == [("POST", 201)])
    descriptor = stub.descriptors[SHELL_ID]
    assert descriptor["assetKind"] == "Instance" and descriptor["idShort"]
    shell_url = f"{agent.base}/shells/{encode_id(SHELL_ID)}"
    assert descriptor["endpoints"] == [
        {
            "interface": "AAS-3.0",
            "protocolInformation": {
                "href": shell_url,
                "endpointProtocol": "HTTP",
                "endpointProtocolVersion": ["1.1"],
            },
        },
        # 0.0.0.0 is no address to hand out: the host others reach the API at stands in for it.
        {
            "interface": "AAS-3.0",
            "protocolInformation": {"href": "opc.tcp://127.0.0.1:4840", "endpointProtocol": "OPC UA"},
        },
    ]
    submodels = descriptor["submodelDescriptors"]
    assert len(submodels) == len(agent.live.environment().submodels or [])
    async with aiohttp.ClientSession() as session:
        async with session.get(shell_url) as answer:
            assert answer.status == 200 and (await answer.json())["id"] == SHELL_ID
        for submodel in submodels:
            assert submodel["endpoints"][0]["interface"] == "SUBMODEL-3.0"
            async with session.get(submodel["endpoints"][0]["protocolInformation"]["href"]) as answer:
                assert answer.status == 200 and (await answer.json())["id"] == submodel["id"]


async def test_a_second_start_finds_the_descriptor_registered_and_puts_it(
    tmp_path: Path, registry: tuple[RegistryStub, str]
) -> None:
    stub, url = registry
    for run, answers in (("first", 1), ("second", 3)):
        agent = Agent(tmp_path / run, url)
        await agent.server.start()
        await until(lambda: len(stub.requests) == answers)  # noqa: B023 - awaited within the iteration
        await agent.server.stop()
    assert stub.statuses() == [("POST", 201), ("POST", 409), ("PUT", 204)]
    assert stub.requests[-1].path == f"/api/v3.0/shell-descriptors/{encode_id(SHELL_ID)}"


async def test_a_registry_that_is_down_is_retried_while_the_api_serves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.aas_api.registry")
    port = free_port()
    agent = Agent(tmp_path, f"http://127.0.0.1:{port}/api/v3.0")
    began = time.monotonic()
    await agent.server.start()
    try:
        assert time.monotonic() - began < 1.0
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{agent.base}/shells/{encode_id(SHELL_ID)}") as answer,
        ):
            assert answer.status == 200
        await until(lambda: "retrying in" in caplog.text)
        stub = RegistryStub()
        runner = await serve(stub, port)
        try:
            await until(lambda: stub.statuses() == [("POST", 201)])
            await until(lambda: "registered the shell" in caplog.text)
        finally:
            await runner.cleanup()
    finally:
        await agent.server.stop()
    failures = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert failures and all("\n" not in r.getMessage() for r in failures)


async def test_a_refused_descriptor_is_logged_in_one_line_with_the_registrys_reason(
    tmp_path: Path, registry: tuple[RegistryStub, str], caplog: pytest.LogCaptureFixture
) -> None:
    stub, url = registry
    stub.refusal = "assetKind\nmust be Type here"
    agent = Agent(tmp_path, url)
    await agent.server.start()
    try:
        await until(lambda: stub.statuses() == [("POST", 400)])
        await until(lambda: any(r.name == "edge_agent.aas_api.registry" for r in caplog.records))
    finally:
        await agent.server.stop()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "edge_agent.aas_api.registry"]
    assert line == (
        f"AAS registry {url}: the shell {SHELL_ID} is not registered: POST answered 400 Bad Request: "
        f"assetKind must be Type here; retrying in {line.rsplit(' ', 1)[1]}"
    )


async def test_a_body_the_schema_refuses_is_answered_400_by_the_stub(
    registry: tuple[RegistryStub, str],
) -> None:
    url = registry[1]
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/shell-descriptors", json={"id": "x", "endpoints": []}) as answer,
    ):
        assert answer.status == 400
        assert "fewer than 1 items" in (await answer.json())["messages"][0]["text"]


async def test_a_replaced_shell_is_put_again_and_an_unchanged_one_is_not(
    agent: Agent, registry: tuple[RegistryStub, str]
) -> None:
    stub = registry[0]
    await until(lambda: stub.statuses() == [("POST", 201)])
    changed = copy.deepcopy(agent.live.environment())
    (changed.asset_administration_shells or [])[0].id_short = "renamed"
    agent.live.replace(changed, agent.live._store)
    await until(lambda: stub.statuses() == [("POST", 201), ("PUT", 204)])
    assert stub.descriptors[SHELL_ID]["idShort"] == "renamed"
    agent.live.replace(copy.deepcopy(changed), agent.live._store)
    await asyncio.sleep(0.3)
    assert len(stub.requests) == 2


async def test_a_registry_over_https_is_checked_against_the_configured_ca(tmp_path: Path) -> None:
    registry_pki = PkiLayout(tmp_path / "registry-pki")
    registry_pki.ensure()
    ensure_application_certificate(
        registry_pki, application_uri="urn:example:registry", ip_addresses=["127.0.0.1"]
    )
    stub, port = RegistryStub(), free_port()
    runner = await serve(stub, port, server_tls_context(registry_pki))
    agent = Agent(
        tmp_path / "agent", f"https://127.0.0.1:{port}/api/v3.0", ca=str(registry_pki.own_certificate)
    )
    await agent.server.start()
    try:
        await until(lambda: stub.statuses() == [("POST", 201)])
    finally:
        await agent.server.stop()
        await runner.cleanup()


async def test_stop_leaves_the_descriptor_registered(
    agent: Agent, registry: tuple[RegistryStub, str]
) -> None:
    stub = registry[0]
    await until(lambda: stub.statuses() == [("POST", 201)])
    await agent.server.stop()
    assert SHELL_ID in stub.descriptors and [r.method for r in stub.requests] == ["POST"]
