"""Jobs for client.mjs that sign in as OneOperator, the one operator of the test servers."""

from __future__ import annotations

from typing import Any

from edge_agent.opcua import AgentOpcUaServer
from tests.support.opcua import ClientIdentity, OneOperator

from .node_client import Job, secure_job

# node-opcua's names of the policies the agent offers by default.
SECURE_POLICIES = ["Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"]


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
