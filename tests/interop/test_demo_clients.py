"""`make demo` as the clients people use meet it, each with its defaults: every README claim about connecting.

node-opcua's default OPCUAClient makes its own application certificate and sends it, as UaExpert and most
GUI clients do; asyncua's command-line tools are run exactly as the README shows them.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.agent_process import PUMP, SERVING, AgentProcess, demo_process

from .node_client import operation_results, run_node_client, tag_node_id

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent
SHELL_NAME = "pump_17"
# A client's whole run, generous so that a busy machine still answers in time.
CLIENT_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Demo:
    agent: AgentProcess
    endpoint: str
    pki: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`edge-agent demo` with its own config, on a free port (the README's default is 4840)."""
    state = tmp_path_factory.mktemp("demo-state")
    agent = demo_process(state)
    try:
        url = agent.wait_for_line(SERVING, timeout=90).group(1)
        agent.wait_for_line(PUMP)
        yield Demo(agent, url, state / "pki")
    finally:
        agent.stop()


def default_node_job(demo: Demo, operations: list[dict[str, object]], **options: object) -> dict[str, object]:
    """A job for node-opcua's default client: no certificate given, so it makes and sends its own."""
    return {"endpoint": demo.endpoint, "operations": operations, **options}


async def wait_until_good(demo: Demo, job_options: dict[str, object], *tags: str) -> dict[str, object]:
    """Read ``tags`` until each has a Good value (a tag waits for its first reading, a model for its window).

    Returns the first tag's value.
    """
    read = {"op": "read", "nodeIds": [tag_node_id(tag) for tag in tags]}
    for _ in range(120):
        result = await run_node_client(default_node_job(demo, [read], **job_options), CLIENT_TIMEOUT_S)
        [answer] = operation_results(result)
        values = answer["values"]
        if all(value["statusCode"] == "Good" for value in values):
            return values[0]
        await asyncio.sleep(0.5)
    raise AssertionError(f"{tags} never all Good: {values}")


def rejected(demo: Demo) -> list[Path]:
    folder = demo.pki / "rejected"
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def test_node_opcua_default_client_browses_reads_and_subscribes_on_none_anonymously(demo: Demo) -> None:
    await wait_until_good(demo, {}, "motor_temperature", "anomaly_score")
    browse = {"op": "browse", "nodeId": "i=85", "depth": 3}
    tag_view = {"op": "browse", "nodeId": "i=85", "depth": 4}
    read = {"op": "read", "nodeIds": [tag_node_id("motor_temperature"), tag_node_id("anomaly_score")]}
    subscribe = {
        "op": "subscribe",
        "nodeIds": [tag_node_id("motor_temperature")],
        "durationMs": 20000,
        "maxNotifications": 3,
        "publishingInterval": 100,
    }

    result = await run_node_client(
        default_node_job(demo, [browse, tag_view, read, subscribe]), CLIENT_TIMEOUT_S
    )

    assert result.get("securityPolicy") == "None"
    found, tag_refs, values, subscribed = operation_results(result)
    tag_paths = {
        ref["nodeId"]: tuple(ref["path"]) for ref in tag_refs["references"] if ref["path"][0] == "EdgeAgent"
    }
    assert tag_paths[tag_node_id("motor_temperature")] == (
        "EdgeAgent",
        "Tags",
        "pump_plc",
        "motor_temperature",
    )
    shell_paths = {tuple(ref["path"]) for ref in found["references"]}
    assert (SHELL_NAME,) in shell_paths, "the shell is not under Objects"
    assert any(path[0] == SHELL_NAME and len(path) == 3 for path in shell_paths), "the shell shows no content"
    assert ("EdgeAgent", "Tags", "pump_plc") in shell_paths
    assert [value["statusCode"] for value in values["values"]] == ["Good", "Good"]
    assert [item["statusCode"] for item in subscribed["items"]] == ["Good"]
    assert len(subscribed["notifications"]) >= 2, "the subscription delivered no changes"
    assert rejected(demo) == [], "the None channel filed the client's certificate as rejected"
    assert "BadCertificateUntrusted" not in demo.agent.log()


async def test_the_demo_offers_none_and_each_secure_policy_with_sign_and_encrypt(demo: Demo) -> None:
    result = await run_node_client(default_node_job(demo, [{"op": "getEndpoints"}]), CLIENT_TIMEOUT_S)

    [answer] = operation_results(result)
    offered = {(endpoint["securityPolicy"], endpoint["securityMode"]) for endpoint in answer["endpoints"]}
    assert offered == {
        ("None", "None"),
        ("Basic256Sha256", "SignAndEncrypt"),
        ("Aes128_Sha256_RsaOaep", "SignAndEncrypt"),
        ("Aes256_Sha256_RsaPss", "SignAndEncrypt"),
    }


async def test_node_opcua_default_client_cannot_write_on_none(demo: Demo) -> None:
    write = {
        "op": "write",
        "writes": [{"nodeId": tag_node_id("speed_setpoint"), "dataType": "UInt16", "value": 1500}],
    }

    result = await run_node_client(default_node_job(demo, [write]), CLIENT_TIMEOUT_S)

    assert result["ok"], result
    [answer] = result["results"]
    refusal = answer.get("error", {}).get("status") or {r["statusCode"] for r in answer.get("results", [])}
    assert "BadUserAccessDenied" in str(refusal), answer


async def test_node_opcua_default_client_over_basic256sha256_once_its_certificate_is_trusted(
    demo: Demo, tmp_path: Path
) -> None:
    """The README's way: refused at first and filed in pki/rejected; moved to trusted/certs, it connects."""
    options = {"securityPolicy": "Basic256Sha256", "pkiFolder": str(tmp_path / "client-pki")}
    read = {"op": "read", "nodeIds": [tag_node_id("motor_temperature")]}
    before = set(rejected(demo))

    refused = await run_node_client(default_node_job(demo, [read], **options), CLIENT_TIMEOUT_S)

    assert (refused["ok"], refused["error"]["status"]) == (False, "BadCertificateUntrusted")
    [filed] = set(rejected(demo)) - before
    trusted = demo.pki / "trusted" / "certs"
    trusted.mkdir(parents=True, exist_ok=True)
    shutil.move(filed, trusted / filed.name)

    value = await wait_until_good(demo, options, "motor_temperature")

    assert isinstance(value["value"], float)


def readme_commands(tool: str) -> list[list[str]]:
    """The README's `.venv/bin/<tool> …` lines, as argument lists."""
    lines = re.findall(rf"^\.venv/bin/{tool} (.*?)(?:\s+#.*)?$", README.read_text(), re.MULTILINE)
    assert lines, f"the README shows no {tool} command"
    return [re.findall(r'"[^"]*"|\S+', line) for line in lines]


def as_run_here(arguments: list[str], demo: Demo) -> list[str]:
    """A README command line against this test's demo: its endpoint instead of the default one."""
    return [demo.endpoint if arg == "opc.tcp://127.0.0.1:4840" else arg.strip('"') for arg in arguments]


async def run_tool(tool: str, arguments: list[str], *, until: str | None = None) -> str:
    """What one of asyncua's tools prints on stdout; with ``until``, stop it once that text is printed."""
    process = await asyncio.create_subprocess_exec(
        str(BIN / tool),
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    output = ""
    try:
        async with asyncio.timeout(CLIENT_TIMEOUT_S):
            async for raw in process.stdout:
                output += raw.decode(errors="replace")
                if until is not None and until in output:
                    break
            await process.wait() if until is None else None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return output


async def test_readme_uals_commands_browse_the_shell_and_the_tag_view(demo: Demo) -> None:
    await wait_until_good(demo, {}, "motor_temperature")
    shell, tags = readme_commands("uals")

    shell_listing = await run_tool("uals", as_run_here(shell, demo))
    tag_listing = await run_tool("uals", as_run_here(tags, demo))

    assert "Nameplate" in shell_listing, shell_listing
    assert "motor_temperature" in tag_listing, tag_listing
    assert "Traceback" not in shell_listing + tag_listing


async def test_readme_uaread_command_reads_a_tag(demo: Demo) -> None:
    await wait_until_good(demo, {}, "anomaly_score")
    [command] = readme_commands("uaread")

    output = await run_tool("uaread", as_run_here(command, demo))

    assert re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?\s*", output), output


async def test_readme_uasubscribe_command_prints_changes(demo: Demo) -> None:
    await wait_until_good(demo, {}, "motor_temperature")
    [command] = readme_commands("uasubscribe")

    output = await run_tool("uasubscribe", as_run_here(command, demo), until="DataChangeEvent(")

    assert "motor_temperature" in output and "StatusCode(value=0)" in output, output
