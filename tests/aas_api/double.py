"""The API's tests' shell: the agent's own LiveShell over a real TagStore holding the full test config's
tags, and a middleware that gives each request a principal of the role it asks for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from edge_agent.aas import build_environment
from edge_agent.aas_api.auth import PRINCIPAL
from edge_agent.aas_api.live_shell import LiveShell
from edge_agent.aas_api.model import Principal
from edge_agent.opcua.rights import ROLE_RIGHTS
from tests.support.aas import load_full_config
from tests.support.opcua import RecordingWriter
from tests.support.shell import shell_tag_store

ROLE_HEADER = "X-Test-Role"
"""The role the test middleware gives a request's principal; Operator when absent."""


class StoreShell(LiveShell):
    """The agent's own LiveShell, named for what the tests give it: a store they publish into."""


def full_shell(directory: Path, writer: RecordingWriter) -> StoreShell:
    """The full config's shell, over a store with its first readings and ``writer`` for speed_setpoint."""
    config = load_full_config(directory)
    store = shell_tag_store(config, writer)
    return StoreShell(build_environment(config, certificate_der=None, values=store.snapshot()), store)


@web.middleware
async def principal_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """What the auth middleware does, without the authentication: the principal of the asked role."""
    role = request.headers.get(ROLE_HEADER, "Operator")
    request[PRINCIPAL] = Principal(f"test-{role.lower()}", frozenset({role}), ROLE_RIGHTS[role])
    return await handler(request)
