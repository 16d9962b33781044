"""The IDTA's own judge of an AAS Part 2 server: `aas_test_engines check_server`, run as a user runs it."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from typing import Any

PROFILES = [
    "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellRepositoryServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/0/SubmodelRepositoryServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/0/AssetAdministrationShellServiceSpecification/SSP-002",
    "https://admin-shell.io/aas/API/3/0/SubmodelServiceSpecification/SSP-002",
]
"""Every read profile aas_test_engines 1.0 ships."""

# Only guards against a hang: the judge takes about a second a profile.
JUDGE_TIMEOUT_S = 300.0
ERROR = 2
"""The judge's level of a failed check (INFO 0, WARNING 1, ERROR 2, CRITICAL 3)."""


@dataclass
class Verdict:
    exit_code: int
    failures: list[str]
    """Each failed check as the path of messages down to it."""
    summary: list[str]
    """The judge's closing lines: negative and positive tests passed."""


async def check_server(url: str, profile: str) -> Verdict:
    """The judge's verdict on the server at ``url`` for ``profile``, in a process of its own (so that a
    server in this event loop keeps answering)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aas_test_engines",
        "check_server",
        url,
        profile,
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(JUDGE_TIMEOUT_S):
        out, err = await process.communicate()
    assert process.returncode is not None
    try:
        tree = json.loads(out)
    except json.JSONDecodeError:
        return Verdict(process.returncode, [f"no report: {err.decode()[-2000:]}"], [])
    summary = [child["m"] for child in tree["s"][-1]["s"]] if tree["s"] else []
    return Verdict(process.returncode, list(_failures(tree, [])), summary)


def _failures(node: dict[str, Any], path: list[str]) -> list[str]:
    here = [*path, " ".join(str(node["m"]).split())[:160]]
    found: list[str] = []
    if node["l"] >= ERROR and not any(child["l"] >= node["l"] for child in node["s"]):
        found.append(" > ".join(here[1:]))
    for child in node["s"]:
        found += _failures(child, here)
    return found
