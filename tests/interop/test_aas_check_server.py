"""The AAS Part 2 HTTP API as the IDTA's own conformance tool judges it: aas_test_engines' check_server,
on each of the four read profiles (SSP-002) the server claims, with no failure allowed (warnings are: the
test shell has one shell and no element of some types, so the tool cannot page or try those).

``make test`` installs the tool (the test extras); the server runs in the test's loop while the tool runs
as a subprocess, as a client on another stack would.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from edge_agent.aas_api.routes import build_app
from edge_agent.aas_api.serialization import PROFILES
from tests.aas_api.double import full_shell, principal_middleware
from tests.support.opcua import RecordingWriter

CHECK_TIMEOUT = 300.0
ERROR_LEVEL = 2
"""aas_test_engines' result levels: 0 info, 1 warning, 2 error, 3 critical."""


@pytest.fixture
async def api_url(tmp_path: Path) -> AsyncIterator[str]:
    app = build_app(full_shell(tmp_path, RecordingWriter()), middlewares=[principal_middleware])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    await web.SockSite(runner, listener).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        await runner.cleanup()


def failures(node: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[str]:
    """The deepest results at error level or above, each with the steps that led to it."""
    here = (*path, str(node["m"]).strip().replace("\n", " ")[:200])
    children = node.get("s", [])
    if node["l"] >= ERROR_LEVEL and not any(child["l"] >= ERROR_LEVEL for child in children):
        yield " > ".join(here[1:])
    for child in children:
        yield from failures(child, here)


@pytest.mark.timeout(CHECK_TIMEOUT + 30)
@pytest.mark.parametrize("profile", PROFILES, ids=lambda profile: profile.split("/")[-2])
async def test_check_server_finds_no_failure(api_url: str, profile: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aas_test_engines",
        "check_server",
        api_url,
        profile,
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), CHECK_TIMEOUT)
    assert stdout, stderr.decode(errors="replace")
    result = json.loads(stdout)
    failed = list(failures(result))
    assert not failed, "\n".join(failed)
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    summary = [str(child["m"]) for child in result["s"][-1]["s"]]
    print(profile, summary)
