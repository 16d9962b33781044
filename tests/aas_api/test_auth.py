"""Who may use the HTTP face: users of the users file by HTTP Basic over TLS or by client certificate, the
loopback demo's anonymous readers, and nobody else; lockouts shared with OPC UA; every login audited."""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from edge_agent.aas_api.auth import PRINCIPAL, Authenticator
from edge_agent.aas_api.results import error_response
from edge_agent.aas_api.tls import server_tls_context
from edge_agent.identity import PkiLayout, ensure_application_certificate
from edge_agent.identity.users import Role, ScryptCost, UserFile, UserStore
from edge_agent.opcua.security import LOCKOUT_AFTER, LoginGuard
from tests.support.ca import Issued, issue_client, make_ca

CHEAP = ScryptCost(ln=4, r=8, p=1)
PASSWORD = "correct horse"
APPLICATION_URI = "urn:example:edge-agent:auth-test"


@dataclass
class Site:
    pki: PkiLayout
    users: UserStore
    ca: Issued
    alice: Issued
    """A client certificate of the site's CA that belongs to the user alice."""
    directory: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    directory = tmp_path_factory.mktemp("site")
    pki = PkiLayout(directory / "pki")
    pki.ensure()
    ensure_application_certificate(pki, application_uri=APPLICATION_URI, ip_addresses=["127.0.0.1"])
    ca = make_ca("Site CA")
    (pki.trusted_certs / "site-ca.der").write_bytes(ca.der)
    alice = issue_client(ca, "urn:example:alice")
    users = UserFile(directory / "users.json")
    users.add("alice", Role.OPERATOR, PASSWORD, certificates_der=[alice.der], cost=CHEAP)
    users.add("olga", Role.OBSERVER, PASSWORD, cost=CHEAP)
    users.write()
    return Site(pki, UserStore.load(directory / "users.json", cost=CHEAP), ca, alice, directory)


async def whoami(request: web.Request) -> web.Response:
    return web.Response(text=request[PRINCIPAL].who)


@dataclass
class Served:
    url: str
    guard: LoginGuard
    site: Site


@pytest.fixture
async def served(site: Site, request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    anonymous = getattr(request, "param", False)
    guard = LoginGuard()
    authenticator = Authenticator(site.users, guard, anonymous_read=anonymous)
    app = web.Application(middlewares=[authenticator.middleware(error_response)])
    app.router.add_get("/whoami", whoami)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls_context(site.pki))
    await tcp.start()
    port = runner.addresses[0][1]
    yield Served(f"https://127.0.0.1:{port}/whoami", guard, site)
    await runner.cleanup()


def client_tls(site: Site, certificate: Issued | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=site.pki.own_certificate.read_bytes())
    if certificate is not None:
        cert_file = site.directory / "client.pem"
        key_file = site.directory / "client.key"
        cert_file.write_bytes(certificate.certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            certificate.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context.load_cert_chain(cert_file, key_file)
    return context


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


async def get(
    served: Served, *, headers: dict[str, str] | None = None, certificate: Issued | None = None
) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(served.url, headers=headers, ssl=client_tls(served.site, certificate)) as response,
    ):
        return response.status, await response.text(), response.headers


async def test_no_credentials_get_401_with_a_basic_challenge_and_a_result(served: Served) -> None:
    status, body, headers = await get(served)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith('Basic realm="edge-agent"')
    assert '"messageType": "Error"' in body or '"messageType":"Error"' in body


async def test_http_basic_over_tls_gives_the_users_role(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.audit")
    status, body, _ = await get(served, headers=basic("alice", PASSWORD))
    assert (status, body) == (200, "alice (Operator)")
    status, body, _ = await get(served, headers=basic("olga", PASSWORD))
    assert (status, body) == (200, "olga (Observer)")
    logins = [record.getMessage() for record in caplog.records if record.getMessage().startswith("login")]
    assert any("user=alice" in line and "result=Good" in line and "via=aas-api" in line for line in logins)


async def test_a_login_is_remembered_but_not_past_a_change_of_the_users_file(served: Served) -> None:
    assert (await get(served, headers=basic("olga", PASSWORD)))[0] == 200
    users = UserFile.read(served.site.directory / "users.json")
    users.set_password("olga", "a new long password", cost=CHEAP)
    users.write()
    try:
        assert (await get(served, headers=basic("olga", PASSWORD)))[0] == 401
        assert (await get(served, headers=basic("olga", "a new long password")))[0] == 200
    finally:
        users.set_password("olga", PASSWORD, cost=CHEAP)
        users.write()


async def test_wrong_passwords_lock_the_name_out_in_the_guard_both_faces_share(served: Served) -> None:
    for _ in range(LOCKOUT_AFTER):
        assert (await get(served, headers=basic("alice", "wrong")))[0] == 401
    assert served.guard.locked_for("alice") > 0
    status, body, _ = await get(served, headers=basic("alice", PASSWORD))
    assert status == 401
    assert "locked out" in body


async def test_a_client_certificate_of_a_user_logs_that_user_in(served: Served) -> None:
    status, body, _ = await get(served, certificate=served.site.alice)
    assert (status, body) == (200, "alice (Operator)")


async def test_a_trusted_certificate_of_no_user_is_refused(served: Served) -> None:
    stranger = issue_client(served.site.ca, "urn:example:nobody")
    status, _, _ = await get(served, certificate=stranger)
    assert status == 401


async def test_a_certificate_of_an_untrusted_ca_fails_the_handshake(served: Served) -> None:
    outsider = issue_client(make_ca("Other CA"), "urn:example:outsider")
    with pytest.raises(aiohttp.ClientError):
        await get(served, certificate=outsider)


@pytest.mark.parametrize("served", [True], indirect=True)
async def test_the_opt_in_lets_anonymous_requests_read_as_observer(served: Served) -> None:
    status, body, _ = await get(served)
    assert (status, body) == (200, "anonymous (Observer)")


async def test_basic_credentials_that_are_not_base64_are_refused(served: Served) -> None:
    status, _, _ = await get(served, headers={"Authorization": "Basic !!!"})
    assert status == 401
