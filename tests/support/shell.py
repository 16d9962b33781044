"""The full config's shell as a server serves it: its tags with first readings, a stand-in runtime, users."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aas_core3 import jsonization

from edge_agent.aas import build_environment
from edge_agent.agent_config import AgentConfig
from edge_agent.identity.users import Role
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.aas import load_full_config
from tests.support.opcua import RecordingWriter, shell_server, user_store

STAMP = datetime(2026, 3, 1, 8, 30, 15, 250000, tzinfo=UTC)


def ns(stamp: datetime) -> int:
    """``stamp`` in nanoseconds since the epoch, as readings carry their source time."""
    return int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000


FIRST_READINGS = [
    Reading("motor_temperature", 61.25, Quality.Good, ns(STAMP)),
    Reading("speed_setpoint", 2950, Quality.Good, ns(STAMP)),
    Reading("anomaly_score", 0.31, Quality.Good, ns(STAMP)),
]


class StubAdministration:
    """Answers the administration methods the way a runtime would, and remembers the calls."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """As new: a server shared by a module's tests keeps this object, each test starts from nothing."""
        self.reloads = 0
        self.reload_answer = (True, "reloading")

    async def reload_configuration(self) -> tuple[bool, str]:
        self.reloads += 1
        return self.reload_answer

    def diagnostics(self) -> dict[str, Any]:
        return {"versions": {"edge-agent": "test"}, "uptime_s": 1.5, "sources": [], "models": []}

    def export_aas(self) -> str:
        return json.dumps(jsonization.to_jsonable(build_environment(self.config, certificate_der=None)))


def publish_first_readings(store: TagStore) -> None:
    """Value, status and source time of the tags that have a reading, as a fresh shell store has them."""
    for reading in FIRST_READINGS:
        store.publish(reading)


def shell_tag_store(config: AgentConfig, writer: RecordingWriter) -> TagStore:
    """The tags of ``config``'s sources and models, with the first readings, and ``writer`` taking writes
    of speed_setpoint."""
    store = TagStore([info for source in config.sources for info in source.tag_infos()])
    for model in config.models:
        for info in model.tag_infos():
            store.declare(info)
    store.set_writer("speed_setpoint", writer)
    publish_first_readings(store)
    return store


SHELL_USERS = {"oscar": Role.OBSERVER, "olivia": Role.OPERATOR, "erik": Role.ENGINEER}
"""Users of the full config's shell, one of each role that reads, writes or reconfigures."""


@asynccontextmanager
async def users_shell_server(
    directory: Path, users: Mapping[str, Role] = SHELL_USERS
) -> AsyncIterator[AgentOpcUaServer]:
    """A started server of the full config's shell in ``directory``, with ``users`` in its users file and
    a runtime stand-in; it trusts no client yet."""
    config = load_full_config(directory)
    store = shell_tag_store(config, RecordingWriter())
    async with shell_server(
        directory / "pki",
        store,
        lambda der: build_environment(config, certificate_der=der),
        user_directory=user_store(directory / "users.json", users),
        administration=StubAdministration(config),
    ) as server:
        yield server
