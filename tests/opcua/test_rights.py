"""Roles and rights enforced per write and per method (the README's table), lockout, and the audit trail."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua

from edge_agent.aas import build_environment
from edge_agent.agent_config import AgentConfig
from edge_agent.identity.users import Role, UserStore
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.opcua import security as security_module
from edge_agent.opcua.i4aas import SHELL_NAMESPACE_URI
from edge_agent.tagstore import TagStore
from tests.support.aas import load_full_config
from tests.support.opcua import (
    USER_PASSWORD,
    ClientIdentity,
    RecordingWriter,
    ServerFactory,
    opcua_config,
    shell_server,
    trust,
    user_store,
)
from tests.support.opcua import (
    signed_in as signed_in_as,
)
from tests.support.shell import StubAdministration, shell_tag_store

# Most tests share one server, each starting with a new writer and runtime stand-in. The lockout tests
# change how the server counts failed logins: they have servers of their own.
pytestmark = pytest.mark.asyncio(loop_scope="module")

USERS = {"oscar": Role.OBSERVER, "olivia": Role.OPERATOR, "erik": Role.ENGINEER, "sam": Role.SECURITY_ADMIN}

# The README's table: what each role may do.
ALLOWED = {
    Role.OBSERVER: {"ExportAAS"},
    Role.OPERATOR: {"write", "GetDiagnostics", "ExportAAS"},
    Role.ENGINEER: {"write", "GetDiagnostics", "ExportAAS", "ReloadConfiguration"},
    Role.SECURITY_ADMIN: {"write", "GetDiagnostics", "ExportAAS", "ReloadConfiguration"},
}


class ThreadRecordingStore:
    """The real user store, noting the thread each password check runs on."""

    def __init__(self, store: UserStore) -> None:
        self.store = store
        self.threads: list[threading.Thread] = []

    def authenticate_password(self, username: str, password: str) -> Any:
        self.threads.append(threading.current_thread())
        return self.store.authenticate_password(username, password)

    def authenticate_certificate(self, certificate: bytes) -> Any:
        return self.store.authenticate_certificate(certificate)


def recording_users(path: Path) -> ThreadRecordingStore:
    return ThreadRecordingStore(user_store(path, {**USERS, "admin": Role.OBSERVER}))


@asynccontextmanager
async def rights_server(
    directory: Path,
    config: AgentConfig,
    store: TagStore,
    administration: StubAdministration,
    users: ThreadRecordingStore,
) -> AsyncIterator[AgentOpcUaServer]:
    async with shell_server(
        directory / "pki",
        store,
        lambda der: build_environment(config, certificate_der=der),
        user_directory=users,
        administration=administration,
    ) as started:
        yield started


@pytest.fixture(scope="module")
def full_config(tmp_path_factory: pytest.TempPathFactory) -> AgentConfig:
    return load_full_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def module_writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture
def writer(module_writer: RecordingWriter) -> RecordingWriter:
    module_writer.reset()
    return module_writer


@pytest.fixture(scope="module")
def module_administration(full_config: AgentConfig) -> StubAdministration:
    return StubAdministration(full_config)


@pytest.fixture
def administration(module_administration: StubAdministration) -> StubAdministration:
    module_administration.reset()
    return module_administration


@pytest.fixture(scope="module")
def module_users(tmp_path_factory: pytest.TempPathFactory) -> ThreadRecordingStore:
    return recording_users(tmp_path_factory.mktemp("users") / "users.json")


@pytest.fixture
def users(module_users: ThreadRecordingStore) -> ThreadRecordingStore:
    module_users.threads.clear()
    return module_users


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory,
    full_config: AgentConfig,
    module_writer: RecordingWriter,
    module_administration: StubAdministration,
    module_users: ThreadRecordingStore,
) -> AsyncIterator[AgentOpcUaServer]:
    store = shell_tag_store(full_config, module_writer)
    directory = tmp_path_factory.mktemp("server")
    async with rights_server(directory, full_config, store, module_administration, module_users) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module")
async def lockout_server(tmp_path: Path, full_config: AgentConfig) -> AsyncIterator[AgentOpcUaServer]:
    """A server of the test's own, for a test that changes how it counts failed logins."""
    store = shell_tag_store(full_config, RecordingWriter())
    administration = StubAdministration(full_config)
    users = recording_users(tmp_path / "users.json")
    async with rights_server(tmp_path, full_config, store, administration, users) as started:
        yield started


async def signed_in(server: AgentOpcUaServer, identity: ClientIdentity, name: str, password: str) -> Client:
    trust(server, identity)
    return await signed_in_as(server, identity, name, password)


async def what_may(client: Client) -> set[str]:
    """Try a write and every administration method; the names of those that were allowed."""
    shell_ns = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    shell = await client.nodes.objects.get_child(f"{shell_ns}:pump_17")
    allowed = set()
    setpoint = client.get_node(ua.NodeId("pump_17.OperationalData.speed_setpoint#Value", shell_ns))
    try:
        await setpoint.write_value(ua.Variant(2800, ua.VariantType.Int64))
        allowed.add("write")
    except ua.uaerrors.BadUserAccessDenied:
        pass
    for method in ("GetDiagnostics", "ExportAAS", "ReloadConfiguration"):
        try:
            await shell.call_method(f"{shell_ns}:{method}")
            allowed.add(method)
        except ua.uaerrors.BadUserAccessDenied:
            pass
    return allowed


async def test_each_role_may_do_what_the_table_says_and_nothing_more(
    server: AgentOpcUaServer,
    client_identity: ClientIdentity,
    writer: RecordingWriter,
    administration: StubAdministration,
    users: ThreadRecordingStore,
) -> None:
    found = {}
    for name, role in USERS.items():
        async with await signed_in(server, client_identity, name, USER_PASSWORD) as client:
            found[role] = await what_may(client)
    assert found == ALLOWED
    assert len(writer.writes) == 3  # Operator, Engineer, SecurityAdmin
    assert administration.reloads == 2  # Engineer, SecurityAdmin
    assert all(thread is not threading.main_thread() for thread in users.threads)  # hashes off the loop


async def test_admin_is_a_name_like_any_other(
    server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        async with await signed_in(server, client_identity, "admin", "anything at all"):
            pass
    async with await signed_in(server, client_identity, "admin", USER_PASSWORD) as client:
        assert await what_may(client) == ALLOWED[Role.OBSERVER]


async def test_repeated_failures_lock_a_name_out_until_the_lockout_ends(
    lockout_server: AgentOpcUaServer,
    client_identity: ClientIdentity,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(security_module, "FAILURE_DELAY_S", 0.01)
    now = [1000.0]
    manager: Any = lockout_server._server.iserver.user_manager  # type: ignore[union-attr]
    manager.guard._clock = lambda: now[0]
    caplog.set_level(logging.INFO, logger="edge_agent.audit")
    for _ in range(security_module.LOCKOUT_AFTER):
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            async with await signed_in(lockout_server, client_identity, "olivia", "wrong password"):
                pass
    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        async with await signed_in(lockout_server, client_identity, "olivia", USER_PASSWORD):
            pass  # locked out: even the right password is refused
    async with await signed_in(lockout_server, client_identity, "oscar", USER_PASSWORD):
        pass  # another name is not
    now[0] += security_module.LOCKOUT_S + 1
    async with await signed_in(lockout_server, client_identity, "olivia", USER_PASSWORD):
        pass
    logins = [
        record.audit for record in caplog.records if getattr(record, "audit", {}).get("event") == "login"
    ]
    assert [entry["result"] for entry in logins if entry["user"] == "olivia"] == [
        *["BadUserAccessDenied"] * (security_module.LOCKOUT_AFTER + 1),
        "Good",
    ]
    assert "locked out" in logins[security_module.LOCKOUT_AFTER]["reason"]


async def test_calls_and_refused_writes_are_audited_with_who_and_what(
    server: AgentOpcUaServer, client_identity: ClientIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.audit")
    async with await signed_in(server, client_identity, "oscar", USER_PASSWORD) as client:
        await what_may(client)
    entries = [record.audit for record in caplog.records if hasattr(record, "audit")]
    calls = {(entry["method"], entry["result"]) for entry in entries if entry["event"] == "call"}
    assert calls == {
        ("GetDiagnostics", "BadUserAccessDenied"),
        ("ExportAAS", "allowed"),
        ("ReloadConfiguration", "BadUserAccessDenied"),
    }
    assert any(entry["event"] == "write" and "oscar" in entry["who"] for entry in entries)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == security_module.__name__ and record.getMessage().startswith("refused a login")
    ]


async def test_each_refused_login_is_logged_once_with_its_reason(
    lockout_server: AgentOpcUaServer,
    client_identity: ClientIdentity,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(security_module, "FAILURE_DELAY_S", 0.01)
    manager: Any = lockout_server._server.iserver.user_manager  # type: ignore[union-attr]
    manager.guard._clock = lambda: 1000.0
    caplog.set_level(logging.INFO)
    for name, password in [("olivia", "wrong password"), ("nobody", USER_PASSWORD)]:
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            async with await signed_in(lockout_server, client_identity, name, password):
                pass
    for _ in range(security_module.LOCKOUT_AFTER - 1):
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            async with await signed_in(lockout_server, client_identity, "olivia", "wrong password"):
                pass
    caplog.clear()
    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        async with await signed_in(lockout_server, client_identity, "olivia", USER_PASSWORD):
            pass

    assert refusals(caplog) == [
        f"refused a login with user name 'olivia': locked out for {security_module.LOCKOUT_S:.0f} s"
    ]


async def test_a_wrong_password_is_logged_as_such(
    server: AgentOpcUaServer, client_identity: ClientIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
        async with await signed_in(server, client_identity, "olivia", "wrong password"):
            pass

    assert refusals(caplog) == ["refused a login with user name 'olivia': unknown user or wrong password"]


async def test_a_login_without_a_user_store_is_logged_as_such(
    tmp_path: Path,
    client_identity: ClientIdentity,
    caplog: pytest.LogCaptureFixture,
    running_server: ServerFactory,
) -> None:
    caplog.set_level(logging.INFO)
    async with running_server(opcua_config(tmp_path / "bare-pki")) as bare:
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            async with await signed_in(bare, client_identity, "olivia", USER_PASSWORD):
                pass

    assert refusals(caplog) == ["refused a login with user name 'olivia': no user store is configured"]
