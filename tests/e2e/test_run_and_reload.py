"""`edge-agent run` on a plant engineer's config: reload on SIGHUP, keep the old config on a bad one."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncua import Client, ua

from tests.support.agent_process import AgentProcess, wait_for_log
from tests.support.ports import free_port

TAGS_NS = "urn:edge-agent:tags"

HEADER = """\
asset:
  id: urn:example:aas:test-pump
  global_asset_id: urn:example:asset:test-pump
opcua:
  endpoint: {endpoint}
  pki: {pki}
  insecure: {{none_policy: true, anonymous_read: true}}
sources:
  - name: pump_plc
    driver: modbus
    host: 127.0.0.1
    port: {modbus_port}
"""
CONFIG = (
    HEADER
    + """\
    poll: 200ms
    timeout: 500ms
    points:
      - {{name: motor_temperature, kind: input, address: 0, type: float32, unit: degC}}
{extra}"""
)

EXTRA_POINT = "      - {name: motor_speed, kind: input, address: 5, type: uint16, unit: rpm}\n"


@pytest.fixture
def pump() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "edge_agent.simulator", "--port", str(port)])
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(10)


@pytest.fixture
def agent(tmp_path: Path, pump: int) -> Iterator[tuple[AgentProcess, Path, str]]:
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(endpoint=endpoint, pki=tmp_path / "pki", modbus_port=pump, extra=""))
    process = AgentProcess(["run", str(config)], tmp_path / "agent.log")
    wait_for_log(process, "ready: serving")
    yield process, config, endpoint
    process.stop()


async def served_tags(endpoint: str) -> dict[str, ua.StatusCode]:
    async with Client(endpoint) as client:
        ns = await client.get_namespace_index(TAGS_NS)
        result = {}
        for tag in ("motor_temperature", "motor_speed"):
            value = await client.get_node(ua.NodeId(tag, ns)).read_data_value(raise_on_bad_status=False)
            if value.StatusCode.value != ua.StatusCodes.BadNodeIdUnknown:
                result[tag] = value.StatusCode
        return result


async def test_a_good_reload_serves_the_new_config(agent: tuple[AgentProcess, Path, str], pump: int) -> None:
    process, config, endpoint = agent
    assert set(await served_tags(endpoint)) == {"motor_temperature"}
    config.write_text(
        CONFIG.format(endpoint=endpoint, pki=config.parent / "pki", modbus_port=pump, extra=EXTRA_POINT)
    )
    mark = len(process.log())
    process.send(signal.SIGHUP)
    wait_for_log(process, "reloaded: serving", after=mark)
    assert set(await served_tags(endpoint)) == {"motor_temperature", "motor_speed"}


async def test_a_bad_reload_keeps_the_old_config_and_says_where(
    agent: tuple[AgentProcess, Path, str],
) -> None:
    process, config, endpoint = agent
    good = config.read_text()
    config.write_text(good.replace("poll: 200ms", "pol: 200ms"))
    mark = len(process.log())
    process.send(signal.SIGHUP)
    log = wait_for_log(process, "reload refused", after=mark)
    assert "config.yaml:13:5: sources[0].pol: unknown key" in log
    assert process.process.poll() is None
    tags = await served_tags(endpoint)
    assert set(tags) == {"motor_temperature"}


def test_a_bad_config_at_start_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        CONFIG.format(endpoint="opc.tcp://127.0.0.1:4840", pki=tmp_path, modbus_port=70000, extra="")
    )
    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "run", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "bad.yaml:12:" in result.stderr and "sources[0].port" in result.stderr


async def test_a_reload_that_cannot_start_goes_back_to_the_old_config(
    agent: tuple[AgentProcess, Path, str], pump: int
) -> None:
    process, config, endpoint = agent
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = f"opc.tcp://127.0.0.1:{squatter.getsockname()[1]}"
        config.write_text(
            CONFIG.format(endpoint=taken, pki=config.parent / "pki", modbus_port=pump, extra=EXTRA_POINT)
        )
        mark = len(process.log())
        process.send(signal.SIGHUP)
        wait_for_log(process, "going back to the previous one", after=mark)
        wait_for_log(process, "ready: serving", after=mark)
    assert process.process.poll() is None
    assert set(await served_tags(endpoint)) == {"motor_temperature"}


def test_a_sighup_while_starting_is_not_fatal_and_reloads_once_ready(tmp_path: Path, pump: int) -> None:
    config = tmp_path / "config.yaml"
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
    config.write_text(CONFIG.format(endpoint=endpoint, pki=tmp_path / "pki", modbus_port=pump, extra=""))
    process = AgentProcess(["run", str(config)], tmp_path / "agent.log")
    try:
        wait_for_log(process, "starting with")
        process.send(signal.SIGHUP)
        wait_for_log(process, "reloaded: the config is unchanged")
        assert process.process.poll() is None
    finally:
        assert process.stop() == 0


MODEL_CONFIG = (
    HEADER
    + """\
    poll: 100ms
    points:
      - {{name: motor_temperature, kind: input, address: 0, type: float32}}
      - {{name: vibration_rms, kind: input, address: 2, scale: 0.01}}
      - {{name: discharge_pressure, kind: input, address: 3, scale: 0.01}}
      - {{name: flow_rate, kind: input, address: 4, scale: 0.1}}
      - {{name: motor_speed, kind: input, address: 5}}
models:
  - name: pump_health
    file: pump_anomaly.tflite
    every: 100ms
    inputs:
      tags: [motor_temperature, vibration_rms, discharge_pressure, flow_rate, motor_speed]
      window: 16
    outputs:
      - {{name: anomaly_score, index: 0}}
      - {{name: anomaly, from: anomaly_score, above: {above}}}
"""
)


async def test_a_reload_that_changes_only_models_keeps_drivers_and_clients(tmp_path: Path, pump: int) -> None:
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
    config = tmp_path / "config.yaml"
    settings = {"endpoint": endpoint, "pki": tmp_path / "pki", "modbus_port": pump}
    config.write_text(MODEL_CONFIG.format(above=1.0, **settings))
    process = AgentProcess(["run", str(config)], tmp_path / "agent.log")
    try:
        wait_for_log(process, "ready: serving")
        async with Client(endpoint) as client:
            ns = await client.get_namespace_index(TAGS_NS)
            score = client.get_node(ua.NodeId("anomaly_score", ns))
            alarm = client.get_node(ua.NodeId("anomaly", ns))
            for _ in range(100):
                if (await score.read_data_value(raise_on_bad_status=False)).StatusCode.is_good():
                    break
                await asyncio.sleep(0.1)
            assert (await alarm.read_value()) is False
            config.write_text(MODEL_CONFIG.format(above=-1.0, **settings))  # any score is an anomaly now
            mark = len(process.log())
            process.send(signal.SIGHUP)
            wait_for_log(process, "models swapped", after=mark)
            for _ in range(100):  # the same session, still open: the server was not restarted
                if (await alarm.read_data_value(raise_on_bad_status=False)).Value.Value is True:
                    break
                await asyncio.sleep(0.1)
            assert (await alarm.read_value()) is True
        assert "connection to" not in process.log()[mark:]  # the Modbus link was never dropped
    finally:
        process.stop()
