"""The agent's OPC UA server on loopback and asyncua clients for it, on ports the OS hands out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import Client, Node, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.security_policies import SecurityPolicy, SecurityPolicyBasic256Sha256
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.config.opcua import OpcUaConfig
from edge_agent.identity import build_self_signed_certificate
from edge_agent.identity.users import AgentUser, Role, ScryptCost, UserFile, UserStore
from edge_agent.opcua import NAMESPACE_URI, AgentOpcUaServer
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
    address_space: str | None = None,
) -> OpcUaConfig:
    data: dict[str, Any] = {
        "endpoint": f"opc.tcp://127.0.0.1:{free_port()}",
        "application_uri": SERVER_URI,
        "security": security or ALL_POLICIES,
        "pki": str(pki),
        "limits": {"max_sessions": max_sessions, "max_message_size": max_message_size},
    }
    if address_space is not None:
        data["address_space"] = address_space
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

    def reset(self) -> None:
        """As new: a server shared by a module's tests keeps its writer, each test starts from nothing."""
        self.answer = Quality.Good
        self.writes.clear()


def tag_store(writer: RecordingWriter) -> TagStore:
    """The TAGS, none read yet, with ``writer`` taking the writes of speed_setpoint."""
    store = TagStore(TAGS)
    store.set_writer("speed_setpoint", writer)
    return store


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


ServerFactory = Callable[..., AbstractAsyncContextManager[AgentOpcUaServer]]
"""``async with running_server(config, user_directory=...) as server:`` (the fixture's answer)."""


@asynccontextmanager
async def serving(config: OpcUaConfig, store: TagStore, **options: Any) -> AsyncIterator[AgentOpcUaServer]:
    """A started AgentOpcUaServer of ``store``'s tags; ``options`` go to AgentOpcUaServer."""
    server = AgentOpcUaServer(
        config, store, server_name="edge-agent test", application_uri=SERVER_URI, **options
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@asynccontextmanager
async def shell_server(
    pki: Path, store: TagStore, environment: Callable[[bytes], Any], **options: Any
) -> AsyncIterator[AgentOpcUaServer]:
    """A started server of ``store``'s tags that also serves the shell ``environment`` builds.

    ``options`` go to AgentOpcUaServer: user_directory (default: one Engineer), administration, history.
    """
    options.setdefault("user_directory", OneOperator(part18_role=Role.ENGINEER))
    async with serving(opcua_config(pki), store, environment=environment, **options) as server:
        yield server


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
async def signed_in_operator(server: AgentOpcUaServer, identity: ClientIdentity) -> AsyncIterator[Client]:
    """``identity``'s client, trusted by ``server`` and signed in over SignAndEncrypt as OneOperator's
    operator."""
    trust(server, identity)
    async with log_in_as_operator(await secure_client(server, identity)) as client:
        yield client


async def tag_node(client: Client, tag: str) -> Node:
    """The variable of ``tag``, found the way a client finds it: through the namespace URI."""
    namespace_index = await client.get_namespace_index(NAMESPACE_URI)
    return client.get_node(ua.NodeId(tag, namespace_index))


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
