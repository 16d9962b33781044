"""`trust`: adding, listing and removing trusted certificates, and trusting a refused client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncua import ua
from asyncua.ua.uaerrors import BadCertificateUntrusted
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_agent.identity import PkiLayout, certificate_thumbprint
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.tagstore import TagStore
from tests.support.opcua import (
    SERVER_URI,
    TAGS,
    ClientIdentity,
    make_client_identity,
    opcua_config,
    secure_client,
)

from .steps import Site, mode, provision


def trust(*args: str | Path) -> dict:
    result = provision("--json", "trust", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def layout(tmp_path: Path) -> PkiLayout:
    pki = PkiLayout(tmp_path / "pki")
    pki.ensure()
    return pki


@pytest.fixture
def client(tmp_path: Path) -> ClientIdentity:
    return make_client_identity(tmp_path / "client")


def pem_file(identity: ClientIdentity, path: Path) -> Path:
    path.write_bytes(identity.certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_add_stores_a_pem_certificate_as_der_in_trusted_certs(
    layout: PkiLayout, client: ClientIdentity, tmp_path: Path
) -> None:
    added = trust("add", pem_file(client, tmp_path / "client.pem"), "--pki", layout.root)

    (stored,) = layout.trusted_certs.iterdir()
    assert stored.read_bytes() == client.der
    assert mode(stored) == 0o644
    assert (added["where"], added["thumbprint"]) == ("trusted", certificate_thumbprint(client.certificate))


def test_adding_the_same_certificate_again_changes_nothing(layout: PkiLayout, client: ClientIdentity) -> None:
    trust("add", client.certificate_path, "--pki", layout.root)

    again = trust("add", client.certificate_path, "--pki", layout.root)

    assert again["already"] is True
    assert len(list(layout.trusted_certs.iterdir())) == 1


def test_list_shows_subject_thumbprint_expiry_and_where(
    site: Site, layout: PkiLayout, client: ClientIdentity
) -> None:
    trust("add", client.certificate_path, "--pki", layout.root)
    trust("add", site.ca_pem, "--issuer", "--pki", layout.root)
    trust("add", site.ca_pem, "--signer", "--pki", layout.root)
    ca = x509.load_pem_x509_certificate(site.ca_pem.read_bytes())

    listed = trust("list", "--pki", layout.root)["certificates"]

    assert [(row["where"], row["subject"], row["thumbprint"], row["not_after"]) for row in listed] == [
        ("trusted", client.certificate.subject.rfc4514_string(), certificate_thumbprint(client.certificate),
         client.certificate.not_valid_after_utc.isoformat()),
        ("issuer", "CN=ACME Plant 3 CA", certificate_thumbprint(ca), ca.not_valid_after_utc.isoformat()),
        ("signer", "CN=ACME Plant 3 CA", certificate_thumbprint(ca), ca.not_valid_after_utc.isoformat()),
    ]  # fmt: skip


def test_list_as_text_is_one_line_per_certificate(layout: PkiLayout, client: ClientIdentity) -> None:
    trust("add", client.certificate_path, "--pki", layout.root)

    result = provision("trust", "list", "--pki", layout.root)

    assert result.returncode == 0, result.stderr
    (line,) = [
        line for line in result.stdout.splitlines() if certificate_thumbprint(client.certificate) in line
    ]
    assert line.split()[0] == "trusted" and client.certificate.subject.rfc4514_string() in line


def test_an_issuer_must_be_a_ca(layout: PkiLayout, client: ClientIdentity) -> None:
    result = provision("trust", "add", client.certificate_path, "--issuer", "--pki", layout.root)

    assert result.returncode == 2
    assert "is not a CA" in result.stderr
    assert list(layout.issuer_certs.iterdir()) == []


def test_remove_by_thumbprint_takes_the_certificate_out_everywhere(site: Site, layout: PkiLayout) -> None:
    trust("add", site.ca_pem, "--pki", layout.root)
    trust("add", site.ca_pem, "--signer", "--pki", layout.root)
    thumbprint = certificate_thumbprint(x509.load_pem_x509_certificate(site.ca_pem.read_bytes()))

    removed = trust("remove", thumbprint.lower(), "--pki", layout.root)

    assert len(removed["removed"]) == 2
    assert trust("list", "--pki", layout.root)["certificates"] == []


def test_remove_by_certificate_file(layout: PkiLayout, client: ClientIdentity) -> None:
    trust("add", client.certificate_path, "--pki", layout.root)

    trust("remove", client.certificate_path, "--pki", layout.root)

    assert list(layout.trusted_certs.iterdir()) == []


def test_removing_an_unknown_thumbprint_is_an_input_error(layout: PkiLayout) -> None:
    result = provision("trust", "remove", "AB" * 20, "--pki", layout.root)

    assert result.returncode == 2
    assert "no certificate with thumbprint" in result.stderr


@pytest.fixture
async def server(layout: PkiLayout) -> AsyncIterator[AgentOpcUaServer]:
    # Anonymous read is on so that a client needs nothing but a trusted certificate.
    running = AgentOpcUaServer(
        opcua_config(layout.root, anonymous_read=True),
        TagStore(TAGS),
        server_name="edge-agent test",
        application_uri=SERVER_URI,
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def server_state(server: AgentOpcUaServer, client: ClientIdentity) -> ua.ServerState:
    async with await secure_client(server, client) as session:
        return await session.nodes.server_state.read_value()


async def test_a_refused_client_accepted_from_the_reject_list_connects_without_restart(
    server: AgentOpcUaServer, layout: PkiLayout, client: ClientIdentity
) -> None:
    with pytest.raises(BadCertificateUntrusted):
        await server_state(server, client)
    (refused,) = (await asyncio.to_thread(trust, "reject-list", "--pki", layout.root))["certificates"]
    assert refused["thumbprint"] == certificate_thumbprint(client.certificate)

    await asyncio.to_thread(trust, "reject-list", "--accept", refused["thumbprint"], "--pki", layout.root)

    assert await server_state(server, client) == ua.ServerState.Running
    assert list(layout.rejected.iterdir()) == []


async def test_a_client_added_with_trust_add_connects_to_the_running_server(
    server: AgentOpcUaServer, layout: PkiLayout, client: ClientIdentity, tmp_path: Path
) -> None:
    with pytest.raises(BadCertificateUntrusted):
        await server_state(server, client)

    await asyncio.to_thread(trust, "add", pem_file(client, tmp_path / "client.pem"), "--pki", layout.root)

    assert await server_state(server, client) == ua.ServerState.Running


async def test_a_client_removed_with_trust_remove_is_refused_again(
    server: AgentOpcUaServer, layout: PkiLayout, client: ClientIdentity
) -> None:
    await asyncio.to_thread(trust, "add", client.certificate_path, "--pki", layout.root)
    assert await server_state(server, client) == ua.ServerState.Running

    await asyncio.to_thread(trust, "remove", client.certificate_path, "--pki", layout.root)

    with pytest.raises(BadCertificateUntrusted):
        await server_state(server, client)
