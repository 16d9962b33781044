"""A real asyncua server and real asyncua clients on loopback: the fixtures come from tests/support."""

from __future__ import annotations

from tests.support.opcua_fixtures import (
    administration,
    client_identity,
    full_config,
    running_server,
    shell_store,
    store,
    writer,
)

# The fixtures of this room.
__all__ = [
    "administration",
    "client_identity",
    "full_config",
    "running_server",
    "shell_store",
    "store",
    "writer",
]
