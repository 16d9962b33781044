"""A real asyncua server and real asyncua clients on loopback, on ports the OS hands out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, Node, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.security_policies import SecurityPolicy, SecurityPolicyBasic256Sha256
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.config.opcua import OpcUaConfig
from edge_agent.identity import build_self_signed_certificate
from edge_agent.identity.users import AgentUser, Role, ScryptCost, UserFile, UserStore
from edge_agent.opcua import NAMESPACE_URI, AgentOpcUaServer, UserDirectory
from edge_agent.quality import Quality
from edge_agent.tags import TagInfo, TagValue
from edge_agent.tagstore import TagStore
from tests.support.ports import free_port

SERVER_URI = "urn:edge-agent:test-pump"
CLIENT_URI = "urn:test:opcua-client"
ALL_POLICIES = ["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"]

TAGS = [
    TagInfo(
        "motor_temperature", "pump_plc", "float", unit="degC", range=(0, 150), description="Motor winding"
    ),
    TagInfo("speed_setpoint", "pump_plc", "int", unit="rpm", range=(0, 3000), writable=True),
    TagInfo("door_open", "panel", "bool"),
    TagInfo("state_text", "panel", "string"),
]


def opcua_config(
    pki: Path,
    *,
    security: list[str] | None = None,
    none_policy: bool = False,
    anonymous_read: bool = False,
    max_sessions: int = 10,
    max_message_size: str = "2MB",
) -> OpcUaConfig:
    data: dict[str, Any] = {
        "endpoint": f"opc.tcp://127.0.0.1:{free_port()}",
        "application_uri": SERVER_URI,
        "security": security or ALL_POLICIES,
        "pki": str(pki),
        "limits": {"max_sessions": max_sessions, "max_message_size": max_message_size},
    }
    if none_policy or anonymous_read:
        data["insecure"] = {"none_policy": none_policy, "anonymous_read": anonymous_read}
    return OpcUaConfig.model_validate(data)


@dataclass
class RecordingWriter:
    """A source's writer that remembers what it was asked and answers with a fixed quality."""

    answer: Quality = Quality.Good

    def __post_init__(self) -> None:
        self.writes: list[tuple[str, TagValue]] = []

    async def __call__(self, tag: str, value: TagValue) -> Quality:
        self.writes.append((tag, value))
        return self.answer


class OneOperator:
    """A user store with one user, "operator"; stands in for the real one."""

    PASSWORD = "correct horse"

    def __init__(self, role: UserRole = UserRole.User, *, part18_role: Role | None = None) -> None:
        self._role = role
        self._part18_role = part18_role

    def authenticate_password(self, username: str, password: str) -> Any:
        if (username, password) != ("operator", self.PASSWORD):
            return None
        if self._part18_role is not None:
            return AgentUser(role=self._role, name=username, roles=frozenset({self._part18_role}))
        return User(role=self._role, name=username)

    def authenticate_certificate(self, certificate: bytes) -> User | None:
        return None


def log_in_as_operator(client: Client) -> Client:
    client.set_user("operator")
    client.set_password(OneOperator.PASSWORD)
    return client


@pytest.fixture
def writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture
def store(writer: RecordingWriter) -> TagStore:
    tag_store = TagStore(TAGS)
    tag_store.set_writer("speed_setpoint", writer)
    return tag_store


ServerFactory = Callable[..., AbstractAsyncContextManager[AgentOpcUaServer]]


@pytest.fixture
def running_server(store: TagStore) -> ServerFactory:
    """``async with running_server(config) as server:`` -- a started AgentOpcUaServer."""

    @asynccontextmanager
    async def start(
        config: OpcUaConfig, *, user_directory: UserDirectory | None = None
    ) -> AsyncIterator[AgentOpcUaServer]:
        server = AgentOpcUaServer(
            config,
            store,
            server_name="edge-agent test",
            application_uri=SERVER_URI,
            user_directory=user_directory,
        )
        await server.start()
        try:
            yield server
        finally:
            await server.stop()

    return start


@dataclass(frozen=True)
class ClientIdentity:
    certificate: x509.Certificate
    certificate_path: Path
    key_path: Path
    application_uri: str

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


def make_client_identity(
    directory: Path, name: str = "client", application_uri: str = CLIENT_URI
) -> ClientIdentity:
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = build_self_signed_certificate(key, application_uri=application_uri, hostname=name)
    certificate_path = directory / f"{name}.der"
    key_path = directory / f"{name}.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.DER))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ClientIdentity(certificate, certificate_path, key_path, application_uri)


@pytest.fixture
def client_identity(tmp_path: Path) -> ClientIdentity:
    return make_client_identity(tmp_path / "client-pki")


def trust(server: AgentOpcUaServer, identity: ClientIdentity) -> None:
    """What an administrator does: put the client's certificate into trusted/certs."""
    (server.pki.trusted_certs / identity.certificate_path.name).write_bytes(identity.der)


async def secure_client(
    server: AgentOpcUaServer,
    identity: ClientIdentity,
    policy: type[SecurityPolicy] = SecurityPolicyBasic256Sha256,
    mode: ua.MessageSecurityMode = ua.MessageSecurityMode.SignAndEncrypt,
) -> Client:
    """A client set up for ``policy`` with ``mode`` (SignAndEncrypt unless told); not connected yet."""
    client = Client(server.endpoint_url, timeout=10)
    client.application_uri = identity.application_uri
    await client.set_security(policy, str(identity.certificate_path), str(identity.key_path), mode=mode)
    return client


@asynccontextmanager
async def shell_server(
    pki: Path, store: TagStore, environment: Callable[[bytes], Any], **options: Any
) -> AsyncIterator[AgentOpcUaServer]:
    """A started server of ``store``'s tags that also serves the shell ``environment`` builds.

    ``options`` go to AgentOpcUaServer: user_directory (default: one Engineer), administration, history.
    """
    options.setdefault("user_directory", OneOperator(part18_role=Role.ENGINEER))
    server = AgentOpcUaServer(
        opcua_config(pki),
        store,
        server_name="edge-agent test",
        application_uri=SERVER_URI,
        environment=environment,
        **options,
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def tag_node(client: Client, tag: str) -> Node:
    """The variable of ``tag``, found the way a client finds it: through the namespace URI."""
    namespace_index = await client.get_namespace_index(NAMESPACE_URI)
    return client.get_node(ua.NodeId(tag, namespace_index))


OperatorSessionFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def operator_session(
    tmp_path: Path, running_server: ServerFactory, client_identity: ClientIdentity
) -> OperatorSessionFactory:
    """``async with operator_session(role=..., security=[...]) as client:`` -- a started server that
    trusts the client, and the client signed in over SignAndEncrypt as the one operator of the user store."""

    @asynccontextmanager
    async def connect(
        *, role: UserRole = UserRole.User, security: list[str] | None = None
    ) -> AsyncIterator[Client]:
        config = opcua_config(tmp_path / "pki", security=security)
        async with running_server(config, user_directory=OneOperator(role)) as server:
            trust(server, client_identity)
            async with log_in_as_operator(await secure_client(server, client_identity)) as client:
                yield client

    return connect


# Users of a real users file: one password for all, hashed cheaply so that logins stay quick in tests.
USER_PASSWORD = "correct horse"
CHEAP_SCRYPT = ScryptCost(ln=4)


def user_store(path: Path, users: Mapping[str, Role]) -> UserStore:
    """A users file at ``path`` holding ``users`` (each with USER_PASSWORD), loaded as the agent loads it."""
    file = UserFile(path)
    for name, role in users.items():
        file.add(name, role, USER_PASSWORD, cost=CHEAP_SCRYPT)
    file.write()
    return UserStore.load(file.path, cost=CHEAP_SCRYPT)


async def signed_in(
    server: AgentOpcUaServer, identity: ClientIdentity, name: str, password: str = USER_PASSWORD
) -> Client:
    """A SignAndEncrypt client with ``identity``'s certificate, logging in as ``name``; not connected yet."""
    client = await secure_client(server, identity)
    client.set_user(name)
    client.set_password(password)
    return client
