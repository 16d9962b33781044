"""A ShellModel over a real TagStore for the API's tests: the shell of the full test config, its live
properties refreshed from the store, writes sent to the store as the agent sends them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aas_core3 import types as aas
from aiohttp import web

from edge_agent.aas import build_environment
from edge_agent.aas.elements import lexical
from edge_agent.aas.live import as_tag_type, live_tag_name
from edge_agent.aas_api.auth import PRINCIPAL
from edge_agent.aas_api.model import Principal, TagValue
from edge_agent.opcua.rights import ROLE_RIGHTS, Right
from edge_agent.quality import Quality
from edge_agent.tagstore import TagStore
from tests.support.aas import load_full_config
from tests.support.opcua import RecordingWriter
from tests.support.shell import shell_tag_store

ROLE_HEADER = "X-Test-Role"
"""The role the test middleware gives a request's principal; Operator when absent."""


class StoreShell:
    """The environment built once from the config; live values from ``store`` on each refresh."""

    def __init__(self, environment: aas.Environment, store: TagStore) -> None:
        self._environment = environment
        self.store = store
        self.version = 0

    def environment(self) -> aas.Environment:
        return self._environment

    def refresh(self, part: aas.Class) -> None:
        for node in (part, *part.descend()):
            tag = live_tag_name(node) if isinstance(node, aas.SubmodelElement) else None
            if tag is None or not isinstance(node, aas.Property):
                continue
            value = as_tag_type(self.store.current(tag).value, self.store.info(tag).data_type)
            shown = None if value is None else lexical(value)
            if node.value != shown:
                node.value = shown
                self.version += 1

    async def write(self, tag: str, value: TagValue, principal: Principal) -> Quality:
        if Right.WRITE not in principal.rights:
            return Quality.BadUserAccessDenied
        return await self.store.write(tag, value)


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
