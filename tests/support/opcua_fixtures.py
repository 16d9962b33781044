"""The fixtures of the rooms that start the agent's OPC UA server (tests/opcua, tests/interop); each
room's conftest takes them from here."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from edge_agent.agent_config import AgentConfig
from edge_agent.config.opcua import OpcUaConfig
from edge_agent.opcua import AgentOpcUaServer, UserDirectory
from edge_agent.tagstore import TagStore
from tests.support.aas import load_full_config
from tests.support.opcua import (
    ClientIdentity,
    RecordingWriter,
    ServerFactory,
    make_client_identity,
    serving,
    tag_store,
)
from tests.support.shell import StubAdministration, shell_tag_store


@pytest.fixture
def writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture
def store(writer: RecordingWriter) -> TagStore:
    return tag_store(writer)


@pytest.fixture
def running_server(store: TagStore) -> ServerFactory:
    """``async with running_server(config) as server:`` -- a started AgentOpcUaServer of ``store``."""

    def start(
        config: OpcUaConfig, *, user_directory: UserDirectory | None = None
    ) -> AbstractAsyncContextManager[AgentOpcUaServer]:
        return serving(config, store, user_directory=user_directory)

    return start


@pytest.fixture
def client_identity(tmp_path: Path) -> ClientIdentity:
    return make_client_identity(tmp_path / "client-pki")


@pytest.fixture
def full_config(tmp_path: Path) -> AgentConfig:
    return load_full_config(tmp_path)


@pytest.fixture
def shell_store(full_config: AgentConfig, writer: RecordingWriter) -> TagStore:
    return shell_tag_store(full_config, writer)


@pytest.fixture
def administration(full_config: AgentConfig) -> StubAdministration:
    return StubAdministration(full_config)
