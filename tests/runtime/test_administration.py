"""What the shell's administration methods do in a running agent: reload, diagnostics, export."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from aas_core3 import jsonization

from edge_agent.aas import verify
from edge_agent.runtime.agent import AgentRuntime
from edge_agent.runtime.supervisor import Supervisor
from tests.support.ports import free_port
from tests.support.waiting import eventually

CONFIG = """\
asset:
  id: urn:example:aas:test-pump
  global_asset_id: urn:example:asset:test-pump
  nameplate:
    manufacturer_name: ACME Pumpen GmbH
    product_designation: Test pump
    serial_number: "T-1"
    address: {{ street: Musterstraße 1, zip: "01234", city: Musterstadt, country: DE }}
opcua:
  endpoint: opc.tcp://127.0.0.1:{port}
  pki: pki
sources:
  - name: panel
    driver: gpio
    pin_factory: mock
    points:
      - {{ name: door_open, kind: input, pin: GPIO17 }}
      - {{ name: c1, kind: counter, pin: GPIO5 }}
      - {{ name: c2, kind: counter, pin: GPIO6 }}
      - {{ name: c3, kind: counter, pin: GPIO13 }}
models:
  - name: pump_health
    file: pump_anomaly.tflite
    every: 100ms
    inputs: {{ tags: [c1, c1_rate, c2, c2_rate, c3], window: 16 }}
    outputs:
      - {{ name: anomaly_score, index: 0 }}
history:
  database: history.sqlite
"""


# The tests that change the config file have agents of their own; those that only ask share one.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@asynccontextmanager
async def agent(directory: Path) -> AsyncIterator[tuple[Supervisor, Path]]:
    """The agent in-process on CONFIG, written to ``directory``, once it serves."""
    config_file = directory / "config.yaml"
    config_file.write_text(CONFIG.format(port=free_port()), encoding="utf-8")
    ready: list[AgentRuntime] = []
    supervisor = Supervisor(config_file, on_ready=ready.append)
    task = asyncio.create_task(supervisor.run())
    await eventually(lambda: bool(ready) or task.done(), within=30)
    assert not task.done(), task.exception()
    try:
        yield supervisor, config_file
    finally:
        supervisor.request_stop()
        await task


@pytest_asyncio.fixture(loop_scope="module")
async def running(tmp_path: Path) -> AsyncIterator[tuple[Supervisor, Path]]:
    async with agent(tmp_path) as started:
        yield started


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running_unchanged(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Supervisor, Path]]:
    """An agent for the module's tests that leave its config file alone."""
    async with agent(tmp_path_factory.mktemp("agent")) as started:
        yield started


async def test_a_bad_file_is_refused_with_its_located_problems_and_nothing_changes(
    running: tuple[Supervisor, Path],
) -> None:
    supervisor, config_file = running
    before = supervisor.runtime
    config_file.write_text(config_file.read_text().replace("every: 100ms", "every: soon"), encoding="utf-8")
    accepted, message = await supervisor.check_and_reload()
    assert not accepted
    assert f"{config_file}:" in message and "models[0].every" in message
    await asyncio.sleep(0.5)
    assert supervisor.runtime is before and supervisor.reloads == 0


async def test_a_valid_file_is_accepted_and_then_loaded(running: tuple[Supervisor, Path]) -> None:
    supervisor, config_file = running
    config_file.write_text(config_file.read_text().replace("T-1", "T-2"), encoding="utf-8")
    accepted, message = await supervisor.check_and_reload()
    assert accepted, message
    await eventually(lambda: supervisor.reloads == 1, within=30)
    assert supervisor.runtime is not None
    assert supervisor.runtime.config.asset.nameplate.serial_number == "T-2"  # type: ignore[union-attr]


async def test_diagnostics_tell_versions_uptime_sources_models_and_history(
    running_unchanged: tuple[Supervisor, Path],
) -> None:
    supervisor, _ = running_unchanged
    runtime = supervisor.runtime
    assert runtime is not None
    await eventually(lambda: runtime.pipelines[0].invocations > 0, within=10)
    diagnostics = json.loads(json.dumps(runtime.administration.diagnostics()))
    assert {"python", "edge-agent", "asyncua", "pymodbus"} <= set(diagnostics["versions"])
    assert diagnostics["uptime_s"] >= diagnostics["config_uptime_s"] > 0
    (panel,) = diagnostics["sources"]
    assert (panel["name"], panel["driver"], panel["tags"]) == ("panel", "gpio", 7)
    (model,) = diagnostics["models"]
    assert model["state"] == "loaded" and model["invocations"] > 0
    assert set(model["latency_ms"]) == {"p50", "p99", "mean", "max"}
    assert diagnostics["opcua"]["sessions"] == 0
    assert diagnostics["history"]["fault"] is None


async def test_the_export_is_valid_aas_with_the_values_and_model_statistics_of_now(
    running_unchanged: tuple[Supervisor, Path],
) -> None:
    supervisor, _ = running_unchanged
    runtime = supervisor.runtime
    assert runtime is not None
    await eventually(lambda: runtime.pipelines[0].invocations > 0, within=10)
    environment = jsonization.environment_from_jsonable(json.loads(runtime.administration.export_aas()))
    assert verify(environment) == []
    text = json.dumps(jsonization.to_jsonable(environment))
    assert "Inferences" in text and "LatencyStatistics" in text
    assert "FingerprintSha256" in text  # the certificate the server made is in the Identity submodel
