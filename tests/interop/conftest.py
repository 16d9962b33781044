"""The agent's OPC UA server as tests/opcua starts it, for a client built on another stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.opcua import AgentOpcUaServer
from tests.opcua.conftest import (
    ClientIdentity,
    OneOperator,
    ServerFactory,
    client_identity,
    opcua_config,
    running_server,
    store,
    trust,
    writer,
)

from .node_client import Job, secure_job

# The fixtures of tests/opcua, shared rather than copied.
__all__ = ["client_identity", "running_server", "store", "writer"]

# node-opcua's names of the policies the agent offers by default.
SECURE_POLICIES = ["Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]


@pytest.fixture
async def server(tmp_path: Path, running_server: ServerFactory) -> AsyncIterator[AgentOpcUaServer]:
    """A started server with the default configuration and the one operator of OneOperator."""
    async with running_server(opcua_config(tmp_path / "pki"), user_directory=OneOperator()) as started:
        yield started


@pytest.fixture
def trusted_server(server: AgentOpcUaServer, client_identity: ClientIdentity) -> AgentOpcUaServer:
    """The server, with the client's certificate in its trusted/certs."""
    trust(server, client_identity)
    return server


def operator_job(
    server: AgentOpcUaServer,
    identity: ClientIdentity,
    operations: list[dict[str, Any]],
    *,
    security_policy: str = "Basic256Sha256",
) -> Job:
    """A job signed in as the operator, over SignAndEncrypt with the client's certificate."""
    return secure_job(
        server.endpoint_url,
        operations,
        certificate=identity.certificate_path,
        private_key=identity.key_path,
        application_uri=identity.application_uri,
        security_policy=security_policy,
        user=("operator", OneOperator.PASSWORD),
    )
