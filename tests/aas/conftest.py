"""The demo and full configs, and a real device certificate."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.agent_config import AgentConfig, load_config
from edge_agent.demo import DEMO_CONFIG
from edge_agent.identity import build_self_signed_certificate
from tests.support.aas import ISSUED, load_full_config


@pytest.fixture
def demo_config() -> AgentConfig:
    return load_config(DEMO_CONFIG)


@pytest.fixture
def full_config(tmp_path: Path) -> AgentConfig:
    return load_full_config(tmp_path)


@pytest.fixture(scope="session")
def device_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def certificate_der(device_key: rsa.RSAPrivateKey) -> bytes:
    certificate = build_self_signed_certificate(
        device_key,
        application_uri="urn:example:edge-agent:pump-17",
        hostname="pump-17",
        organization="ACME Pumpen GmbH",
        now=ISSUED,
    )
    return certificate.public_bytes(serialization.Encoding.DER)
