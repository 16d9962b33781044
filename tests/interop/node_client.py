"""Running client.mjs, an OPC UA client on node-opcua, from the tests: one JSON job in, one JSON result out.

The job and result formats are described at the top of client.mjs. ``make test`` installs node-opcua
(``npm ci`` in this directory); without it every interop test fails and says so.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge_agent.opcua import NAMESPACE_URI

INTEROP_DIR = Path(__file__).resolve().parent
CLIENT_SCRIPT = INTEROP_DIR / "client.mjs"
NODE_MODULES = INTEROP_DIR / "node_modules"
EVENT_PREFIX = "@@event "
# How much of node's own log a failure message shows.
LOG_LINES_KEPT = 60
# The script's own deadline comes this much before ours, so that it can still report what it was doing.
SCRIPT_DEADLINE_MARGIN_S = 2.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Job = dict[str, Any]
Result = dict[str, Any]
EventHandler = Callable[[dict[str, Any]], None]


class NodeClientError(RuntimeError):
    """The node-opcua client could not be run, or it ended without a result."""


# The timeout is a parameter, not the caller's asyncio.timeout: on expiry the node process must be killed
# and its log shown, which only this function can do.
async def run_node_client(
    job: Job,
    timeout: float = 30,  # noqa: ASYNC109
    *,
    on_event: EventHandler | None = None,
) -> Result:
    """Run one job through node-opcua and return its JSON result.

    ``on_event`` is called on the event loop with each progress event the script reports while it runs
    (such as ``{"event": "subscribed", ...}``), so that a test can act while node is connected.
    Values that JSON cannot carry (such as Paths) are sent as strings.
    Raises NodeClientError when node is missing, gives no result within ``timeout`` s, or prints no JSON.
    """
    _check_installed()
    script_timeout = max(timeout - SCRIPT_DEADLINE_MARGIN_S, timeout / 2)
    payload = json.dumps({"timeoutMs": int(script_timeout * 1000), **job}, default=str).encode()
    process = await asyncio.create_subprocess_exec(
        "node",
        str(CLIENT_SCRIPT),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=INTEROP_DIR,
    )
    log: deque[str] = deque(maxlen=LOG_LINES_KEPT)

    async def follow_log() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith(EVENT_PREFIX):
                if on_event is not None:
                    on_event(json.loads(line.removeprefix(EVENT_PREFIX)))
            else:
                log.append(line)

    async def exchange() -> bytes:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(payload)
        await process.stdin.drain()
        process.stdin.close()
        stdout, _ = await asyncio.gather(process.stdout.read(), follow_log())
        await process.wait()
        return stdout

    try:
        async with asyncio.timeout(timeout):
            stdout = await exchange()
    except TimeoutError:
        raise NodeClientError(
            f"the node-opcua client gave no result within {timeout} s; its log:\n" + "\n".join(log)
        ) from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    try:
        result: Result = json.loads(stdout)
    except ValueError:
        raise NodeClientError(
            f"the node-opcua client exited with {process.returncode} and no JSON result "
            f"(stdout: {stdout[:2000]!r}); its log:\n" + "\n".join(log)
        ) from None
    return result


def _check_installed() -> None:
    if shutil.which("node") is None:
        raise NodeClientError("Node.js (20 or newer) is not on PATH; install it, then run `make test`")
    if not (NODE_MODULES / "node-opcua-client").is_dir():
        raise NodeClientError(
            f"node-opcua is not installed in {NODE_MODULES}: run `make test` (it runs `npm ci` there)"
        )


def operation_results(result: Result) -> list[dict[str, Any]]:
    """The result of each operation of a job that connected; an AssertionError naming what failed if not."""
    assert result.get("ok"), f"the node-opcua client failed: {result.get('error')}"
    failed = [op for op in result["results"] if "error" in op]
    assert not failed, f"node-opcua operations failed: {failed}"
    results: list[dict[str, Any]] = result["results"]
    return results


def tag_node_id(tag: str) -> str:
    """A tag's NodeId as the client names it: by namespace URI, whatever index the server gave it."""
    return f"nsu={NAMESPACE_URI};s={tag}"


def secure_job(
    endpoint: str,
    operations: Sequence[dict[str, Any]],
    *,
    certificate: Path,
    private_key: Path,
    application_uri: str,
    security_policy: str = "Basic256Sha256",
    user: tuple[str, str] | None = None,
) -> Job:
    """A job that connects over ``security_policy`` with SignAndEncrypt, as ``user`` (name, password)."""
    job: Job = {
        "endpoint": endpoint,
        "securityPolicy": security_policy,
        "securityMode": "SignAndEncrypt",
        "certificate": str(certificate),
        "privateKey": str(private_key),
        "applicationUri": application_uri,
        "operations": list(operations),
    }
    if user is not None:
        job["user"] = {"userName": user[0], "password": user[1]}
    return job


def epoch_us(timestamp: str) -> int:
    """Microseconds since 1970 of an ISO 8601 time from a result, e.g. a read's sourceTimestamp."""
    delta = datetime.fromisoformat(timestamp) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
