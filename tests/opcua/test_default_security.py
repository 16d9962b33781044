"""With no insecure opt-in, only trusted client applications get in, and only with real credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyAes256Sha256RsaPss, SecurityPolicyBasic256Sha256
from asyncua.ua.uaerrors import (
    BadCertificateUntrusted,
    BadIdentityTokenRejected,
    BadSecurityChecksFailed,
    BadSecurityPolicyRejected,
    BadServiceUnsupported,
    BadUserAccessDenied,
)

from edge_agent.opcua import AgentOpcUaServer
from edge_agent.tagstore import TagStore
from tests.support.opcua import (
    ClientIdentity,
    RecordingWriter,
    ServerFactory,
    make_client_identity,
    opcua_config,
    secure_client,
    serving,
    tag_store,
    trust,
)

# Each test comes with a client certificate of its own, trusted or not, so the tests share two servers:
# one with the defaults, one that also lets anonymous sessions read.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def module_store() -> TagStore:
    return tag_store(RecordingWriter())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def default_server(
    tmp_path_factory: pytest.TempPathFactory, module_store: TagStore
) -> AsyncIterator[AgentOpcUaServer]:
    async with serving(opcua_config(tmp_path_factory.mktemp("pki")), module_store) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def anonymous_read_server(
    tmp_path_factory: pytest.TempPathFactory, module_store: TagStore
) -> AsyncIterator[AgentOpcUaServer]:
    config = opcua_config(tmp_path_factory.mktemp("pki"), anonymous_read=True)
    async with serving(config, module_store) as server:
        yield server


async def test_endpoints_offer_only_the_configured_policies_with_sign_and_encrypt(
    tmp_path: Path, running_server: ServerFactory
) -> None:
    config = opcua_config(tmp_path / "pki", security=["Basic256Sha256", "Aes256Sha256RsaPss"])
    async with running_server(config) as server:
        endpoints = await Client(server.endpoint_url).connect_and_get_server_endpoints()

    offered = {(endpoint.SecurityPolicyUri, endpoint.SecurityMode) for endpoint in endpoints}
    assert offered == {
        (SecurityPolicyBasic256Sha256.URI, ua.MessageSecurityMode.SignAndEncrypt),
        (SecurityPolicyAes256Sha256RsaPss.URI, ua.MessageSecurityMode.SignAndEncrypt),
    }


async def test_endpoints_offer_no_anonymous_login(default_server: AgentOpcUaServer) -> None:
    endpoints = await Client(default_server.endpoint_url).connect_and_get_server_endpoints()

    token_types = {token.TokenType for endpoint in endpoints for token in endpoint.UserIdentityTokens}
    assert token_types == {ua.UserTokenType.UserName, ua.UserTokenType.Certificate}


async def test_trusted_client_without_credentials_is_refused(
    default_server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    trust(default_server, client_identity)
    client = await secure_client(default_server, client_identity)
    with pytest.raises(BadIdentityTokenRejected):
        await client.connect()


async def test_untrusted_client_is_refused_and_its_certificate_kept_for_review(
    default_server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    kept_before = set(default_server.pki.rejected.iterdir())
    client = await secure_client(default_server, client_identity)
    with pytest.raises(BadCertificateUntrusted):
        await client.connect()
    rejected = [path.read_bytes() for path in set(default_server.pki.rejected.iterdir()) - kept_before]

    assert rejected == [client_identity.der]


async def test_client_trusted_by_moving_its_rejected_certificate_connects_without_restart(
    anonymous_read_server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    # Anonymous read is on so that the client needs nothing but a trusted certificate.
    server = anonymous_read_server
    with pytest.raises(BadCertificateUntrusted):
        await (await secure_client(server, client_identity)).connect()
    for rejected in server.pki.rejected.iterdir():
        if rejected.read_bytes() == client_identity.der:  # the other tests' clients stay refused
            rejected.rename(server.pki.trusted_certs / rejected.name)

    async with await secure_client(server, client_identity) as client:
        state = await client.nodes.server_state.read_value()

    assert state == ua.ServerState.Running


@pytest.mark.parametrize("user_name", ["admin", "Admin"])
async def test_admin_with_any_password_is_refused_without_a_user_store(
    default_server: AgentOpcUaServer, client_identity: ClientIdentity, user_name: str
) -> None:
    trust(default_server, client_identity)
    client = await secure_client(default_server, client_identity)
    client.set_user(user_name)
    client.set_password("anything")
    with pytest.raises(BadUserAccessDenied):
        await client.connect()


async def test_user_certificate_login_is_refused_without_a_user_store(
    tmp_path: Path, default_server: AgentOpcUaServer, client_identity: ClientIdentity
) -> None:
    user = make_client_identity(tmp_path / "user", name="operator", application_uri="urn:test:operator")
    trust(default_server, client_identity)
    client = await secure_client(default_server, client_identity)
    await client.load_client_certificate(str(user.certificate_path))
    await client.load_private_key(user.key_path)
    with pytest.raises(BadUserAccessDenied):
        await client.connect()


@pytest.mark.parametrize("named_certificate", ["someone else's trusted one", "none"])
async def test_session_is_refused_unless_its_channel_certificate_is_the_validated_one(
    tmp_path: Path,
    anonymous_read_server: AgentOpcUaServer,
    client_identity: ClientIdentity,
    named_certificate: str,
) -> None:
    # The attacker holds the key of an untrusted certificate and knows a trusted certificate (which
    # is public); CreateSession names the trusted one, or none, while the channel uses its own.
    trusted_peer = make_client_identity(tmp_path / "peer", name="peer")
    trust(anonymous_read_server, trusted_peer)
    client = await secure_client(anonymous_read_server, client_identity)
    send_create_session = client.uaclient.create_session

    async def create_session_naming_another_certificate(
        params: ua.CreateSessionParameters,
    ) -> ua.CreateSessionResult:
        params.ClientCertificate = trusted_peer.der if named_certificate != "none" else None
        return await send_create_session(params)

    client.uaclient.create_session = create_session_naming_another_certificate  # type: ignore[method-assign]
    with pytest.raises(BadSecurityChecksFailed):
        await client.connect()


async def test_unsecured_channel_gets_no_session_when_the_none_policy_is_off(
    anonymous_read_server: AgentOpcUaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client that ignores the advertised endpoints and sets up a session on an unsecured channel.
    monkeypatch.setattr(Client, "find_endpoint", staticmethod(lambda endpoints, *_: endpoints[0]))
    with pytest.raises(BadSecurityPolicyRejected):
        await Client(anonymous_read_server.endpoint_url, timeout=10).connect()


async def test_clients_cannot_register_other_servers_for_discovery(default_server: AgentOpcUaServer) -> None:
    impostor = ua.RegisteredServer(
        ServerUri="urn:impostor", ServerNames=[ua.LocalizedText("impostor")], IsOnline=True
    )
    client = Client(default_server.endpoint_url, timeout=10)
    await client.connect_sessionless()
    try:
        with pytest.raises(BadServiceUnsupported):
            await client.uaclient.register_server(impostor)
    finally:
        await client.disconnect_sessionless()
