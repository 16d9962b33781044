"""The API over the full test config's shell, served on aiohttp's test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from edge_agent.aas.ids import SubmodelIds
from edge_agent.aas_api.ids import encode_id
from edge_agent.aas_api.routes import build_app
from tests.support.opcua import RecordingWriter

from .double import StoreShell, full_shell, principal_middleware

SHELL_ID = "urn:example:aas:pump-17"
SUBMODELS = SubmodelIds(SHELL_ID)
MAX_PAGE = 20


def sm(submodel_id: str) -> str:
    """The submodel repository's path of a submodel."""
    return f"/submodels/{encode_id(submodel_id)}"


@pytest.fixture
def writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture
def shell(tmp_path: Path, writer: RecordingWriter) -> StoreShell:
    return full_shell(tmp_path, writer)


@pytest.fixture
async def client(shell: StoreShell) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = build_app(shell, middlewares=[principal_middleware], max_page=MAX_PAGE)
    async with TestClient(TestServer(app)) as started:
        yield started
