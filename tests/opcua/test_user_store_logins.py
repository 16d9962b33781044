"""Logins against the users file: each user gets the rights of their role; nobody else gets in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.ua.uaerrors import BadUserAccessDenied

from edge_agent.agent_config import load_config
from edge_agent.config import ConfigError
from edge_agent.identity.users import Role, ScryptCost, UserFile, UserStore
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.runtime.agent import AgentRuntime
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.opcua import (
    ClientIdentity,
    RecordingWriter,
    make_client_identity,
    opcua_config,
    secure_client,
    serving,
    tag_node,
    tag_store,
    trust,
)

# The login tests share one server: each publishes what it reads and starts with a new writer, and no
# name fails often enough to be locked out.
in_module_loop = pytest.mark.asyncio(loop_scope="module")

# Hashes that take microseconds: the logins check them the same way at any cost.
CHEAP = ScryptCost(ln=4)
PASSWORD = "correct horse"
ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"

SessionFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(scope="module")
def user_certificate(tmp_path_factory: pytest.TempPathFactory) -> ClientIdentity:
    directory = tmp_path_factory.mktemp("user")
    return make_client_identity(directory, name="observer-badge", application_uri="urn:test:badge")


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory, user_certificate: ClientIdentity) -> UserStore:
    users = UserFile(tmp_path_factory.mktemp("users") / "users.json")
    users.add("olivia", Role.OPERATOR, PASSWORD, cost=CHEAP)
    users.add("oscar", Role.OBSERVER, PASSWORD, certificates_der=[user_certificate.der], cost=CHEAP)
    users.write()
    return UserStore.load(users.path, cost=CHEAP)


@pytest.fixture(scope="module")
def module_writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture
def writer(module_writer: RecordingWriter) -> RecordingWriter:
    module_writer.reset()
    return module_writer


@pytest.fixture(scope="module")
def store(module_writer: RecordingWriter) -> TagStore:
    return tag_store(module_writer)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory, store: TagStore, users: UserStore
) -> AsyncIterator[AgentOpcUaServer]:
    """A started server with the users file as its user store."""
    # The full standard address space: one test calls a standard method only it has.
    config = opcua_config(tmp_path_factory.mktemp("pki"), address_space="full")
    async with serving(config, store, user_directory=users) as started:
        yield started


@pytest.fixture
def session(server: AgentOpcUaServer, client_identity: ClientIdentity) -> SessionFactory:
    """``async with session(name, password) as client:`` -- signed in over SignAndEncrypt, from a client
    application the server trusts."""
    trust(server, client_identity)

    @asynccontextmanager
    async def connect(
        name: str | None, password: str = PASSWORD, certificate: ClientIdentity | None = None
    ) -> AsyncIterator[Client]:
        client = await secure_client(server, client_identity)
        if name is not None:
            client.set_user(name)
            client.set_password(password)
        if certificate is not None:
            await client.load_client_certificate(str(certificate.certificate_path))
            await client.load_private_key(certificate.key_path)
        async with client:
            yield client

    return connect


@in_module_loop
async def test_an_operator_writes_a_writable_tag(session: SessionFactory, writer: RecordingWriter) -> None:
    async with session("olivia") as client:
        await (await tag_node(client, "speed_setpoint")).write_value(ua.Variant(1500, ua.VariantType.Int64))

    assert writer.writes == [("speed_setpoint", 1500)]


@in_module_loop
async def test_an_observer_reads_but_may_not_write(
    session: SessionFactory, store: TagStore, writer: RecordingWriter
) -> None:
    async with session("oscar") as client:
        store.publish(Reading("speed_setpoint", 1450))
        node = await tag_node(client, "speed_setpoint")
        value = await node.read_value()
        with pytest.raises(BadUserAccessDenied):
            await node.write_value(ua.Variant(1500, ua.VariantType.Int64))

    assert value == 1450
    assert writer.writes == []


@in_module_loop
async def test_an_observer_calls_no_method_that_needs_more_than_reading(session: SessionFactory) -> None:
    async with session("oscar") as client:
        with pytest.raises(BadUserAccessDenied):
            await client.nodes.server.call_method(
                "0:SetSubscriptionDurable",
                ua.Variant(1, ua.VariantType.UInt32),
                ua.Variant(1, ua.VariantType.UInt32),
            )


@in_module_loop
async def test_an_observers_user_certificate_logs_in_read_only(
    session: SessionFactory, store: TagStore, writer: RecordingWriter, user_certificate: ClientIdentity
) -> None:
    async with session(None, certificate=user_certificate) as client:
        store.publish(Reading("motor_temperature", 71.5))
        value = await (await tag_node(client, "motor_temperature")).read_value()
        with pytest.raises(BadUserAccessDenied):
            await (await tag_node(client, "speed_setpoint")).write_value(
                ua.Variant(1500, ua.VariantType.Int64)
            )

    assert value == 71.5
    assert writer.writes == []


@in_module_loop
async def test_anyone_else_is_refused(session: SessionFactory) -> None:
    attempts = [("olivia", "wrong password"), ("mallory", PASSWORD), ("admin", "admin"), ("admin", PASSWORD)]
    admitted = []
    for name, password in attempts:
        try:
            async with session(name, password):
                admitted.append((name, password))
        except BadUserAccessDenied:
            pass

    assert admitted == []


@pytest.mark.parametrize(
    ("content", "mode", "reason"),
    [
        (None, 0o600, "the users file does not exist"),
        ("{not json", 0o600, "not valid JSON"),
        ('{"version": 1, "users": []}', 0o644, "mode 0644"),
    ],
    ids=["missing", "invalid", "readable by others"],
)
def test_the_agent_does_not_start_with_a_users_file_it_cannot_use(
    tmp_path: Path, content: str | None, mode: int, reason: str
) -> None:
    users = tmp_path / "users.json"
    if content is not None:
        users.write_text(content)
        users.chmod(mode)
    config = tmp_path / "config.yaml"
    config.write_text(ASSET + f"opcua: {{pki: pki, users: {users.name}}}\n")

    with pytest.raises(ConfigError) as refused:
        AgentRuntime(load_config(config))

    assert str(refused.value).startswith(f"{users}: opcua.users: ")
    assert reason in str(refused.value)


def test_edge_agent_run_names_the_users_file_it_cannot_use(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(ASSET + "opcua: {pki: pki, users: users.json}\n")

    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert f"{tmp_path / 'users.json'}: opcua.users: the users file does not exist" in result.stderr
