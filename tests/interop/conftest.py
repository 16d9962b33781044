"""The agent's OPC UA server as tests/opcua starts it, for a client built on another stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge_agent.opcua import AgentOpcUaServer
from tests.support.opcua import ClientIdentity, OneOperator, ServerFactory, opcua_config, trust
from tests.support.opcua_fixtures import (
    administration,
    client_identity,
    full_config,
    running_server,
    shell_store,
    store,
    writer,
)

# The fixtures tests/opcua has too, shared rather than copied.
__all__ = [
    "administration",
    "client_identity",
    "full_config",
    "running_server",
    "shell_store",
    "store",
    "writer",
]


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
