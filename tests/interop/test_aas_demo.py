"""`make demo`'s shell over HTTP as the IDTA's judge and a client see it: `aas_test_engines check_server`
with every read profile it ships against the running demo, and one live value read over HTTP and over
OPC UA at once."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from asyncua import Client, ua

from edge_agent.aas.ids import SubmodelIds
from edge_agent.opcua import NAMESPACE_URI
from tests.support.aas_judge import PROFILES, check_server
from tests.support.agent_process import PUMP, SERVING, AgentProcess, demo_process

AAS_API = re.compile(r"AAS API \(IDTA-01002-3-0\): (http://\S+)/shells")
DEMO_SHELL = "urn:example:aas:pump-17"


@dataclass(frozen=True)
class Demo:
    agent: AgentProcess
    opcua: str
    http: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    state = tmp_path_factory.mktemp("demo-state")
    agent = demo_process(state)
    try:
        opcua = agent.wait_for_line(SERVING, timeout=90).group(1)
        agent.wait_for_line(PUMP)
        http = agent.wait_for_line(AAS_API).group(1)
        yield Demo(agent, opcua, http)
    finally:
        agent.stop()


@pytest.mark.parametrize("profile", PROFILES, ids=lambda profile: profile.split("/")[-2])
async def test_the_idta_judge_passes_the_demo_on_every_read_profile(demo: Demo, profile: str) -> None:
    verdict = await check_server(demo.http, profile)
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert verdict.exit_code == 0, verdict.summary
    assert any(line.startswith("Positive tests passed") for line in verdict.summary)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def http_value(demo: Demo, tag: str) -> object:
    submodel = b64(SubmodelIds(DEMO_SHELL).operational_data)
    url = f"{demo.http}/submodels/{submodel}/submodel-elements/{tag}/$value"
    with urllib.request.urlopen(url, timeout=30) as response:
        value: dict[str, object] = json.loads(response.read())
    return value[tag]


async def test_a_live_value_reads_the_same_over_http_and_opc_ua(demo: Demo) -> None:
    # The setpoint stays as it is unless written: both faces must show the one value the store holds.
    async with Client(demo.opcua) as client:
        ns = await client.get_namespace_index(NAMESPACE_URI)
        node = client.get_node(ua.NodeId("speed_setpoint", ns))
        for _ in range(100):
            data_value = await node.read_data_value()
            if data_value.StatusCode.is_good():
                break
            await asyncio.sleep(0.2)
        over_http = await asyncio.to_thread(http_value, demo, "speed_setpoint")
        assert data_value.StatusCode.is_good()
        assert over_http == data_value.Value.Value


def fetch(url: str, accept: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_a_browser_at_the_demos_root_sees_its_status_page(demo: Demo) -> None:
    base = demo.http
    status, headers, html = fetch(f"{base}/", "text/html,application/xhtml+xml,*/*;q=0.8")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    assert re.search(r'<p id="status" class="status">serving 25 tags, 2 models, 0 sources down', html)
    assert len(re.findall(r'<tr data-tag="', html)) == 25
    for source in ("pump_plc", "panel"):
        assert re.search(
            rf'data-source="{source}"><td>{source}</td><td>\w+</td><td class="good">up</td>', html
        )
    for model in ("pump_health", "pump_condition"):
        assert re.search(rf'data-model="{model}"><td>{model}</td><td class="good">loaded</td>', html)
    assert "CN=" in html and "diagnostics.json" not in html  # the demo's anonymous reader is an Observer
    assert fetch(f"{base}/status/diagnostics.json", "*/*")[0] == 403
    assert json.loads(fetch(f"{base}/", "application/json")[2])["id"] == DEMO_SHELL
