"""Devices enrolled by one site CA talk OPC UA with SignAndEncrypt, each trusting the other through the CA."""

from __future__ import annotations

from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.ua.uaerrors import BadCertificateUntrusted
from cryptography import x509

from edge_agent.config.opcua import OpcUaConfig
from edge_agent.identity import PkiLayout
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.tags import TagInfo
from edge_agent.tagstore import TagStore
from tests.support.ports import free_port

from .steps import Site

SERVER_URI = "urn:acme:plant3:pump-17"
CLIENT_URI = "urn:acme:plant3:scada"


def agent_server(layout: PkiLayout) -> AgentOpcUaServer:
    config = OpcUaConfig.model_validate(
        {
            "endpoint": f"opc.tcp://127.0.0.1:{free_port()}",
            "application_uri": SERVER_URI,
            "pki": str(layout.root),
            "security": ["Basic256Sha256"],
            # The client needs nothing but its certificate: what is under test is the certificates.
            "insecure": {"anonymous_read": True},
        }
    )
    store = TagStore([TagInfo("motor_temperature", "pump_plc", "float")])
    return AgentOpcUaServer(config, store, server_name="pump 17", application_uri=SERVER_URI)


async def client_of(server: AgentOpcUaServer, layout: PkiLayout) -> Client:
    """A client that presents ``layout``'s certificate and accepts only a server its trust list trusts."""
    client = Client(server.endpoint_url, timeout=10)
    client.application_uri = CLIENT_URI
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(layout.own_certificate),
        str(layout.private_key),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    trust = TrustStore([layout.trusted_certs], [])
    await trust.load()
    client.certificate_validator = CertificateValidator(
        CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_SERVER, trust
    )
    return client


async def test_enrolled_client_and_server_trust_each_other_through_the_site_ca(site: Site) -> None:
    server_pki = site.enroll("pump17", SERVER_URI)
    client_pki = site.enroll("scada", CLIENT_URI)
    server = agent_server(server_pki)
    await server.start()
    try:
        async with await client_of(server, client_pki) as client:
            namespaces = await client.get_namespace_array()
        identity = server.identity
    finally:
        await server.stop()

    assert "http://opcfoundation.org/UA/" in namespaces
    assert identity is not None and not identity.made_here
    assert identity.certificate == x509.load_der_x509_certificate(server_pki.own_certificate.read_bytes())


async def test_a_client_of_another_site_ca_is_refused(site: Site, tmp_path: Path) -> None:
    server_pki = site.enroll("pump17", SERVER_URI)
    other_site = Site(tmp_path / "other-site")
    other_site.init_ca()
    stranger_pki = other_site.enroll("scada", CLIENT_URI)
    # The stranger trusts the server's CA, so that only the server's judgement is tested.
    (stranger_pki.trusted_certs / "site.pem").write_bytes(site.ca_pem.read_bytes())
    server = agent_server(server_pki)
    await server.start()
    try:
        client = await client_of(server, stranger_pki)
        with pytest.raises(BadCertificateUntrusted):
            await client.connect()
    finally:
        await server.stop()
