"""The demo as a user meets it: `edge-agent demo`, then a real OPC UA client and a real Modbus client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from asyncua import Client, ua
from pymodbus.client import AsyncModbusTcpClient

from edge_agent.agent_config import load_config
from edge_agent.demo import DEMO_CONFIG
from tests.support.agent_process import PUMP, SERVING, AgentProcess, demo_process
from tests.support.mosquitto import MOSQUITTO

TAGS_NS = "urn:edge-agent:tags"
WATCH = re.compile(r"watch it: +\.venv/bin/edge-agent sparkplug watch (mqtt://127\.0\.0\.1:\d+)")
SPARKPLUG_OFF = re.compile(r"Sparkplug B: off, mosquitto is not installed")
FAULT_REGISTER = 10
CAVITATION_REGISTER = 11


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AgentProcess, str, int]]:
    state = tmp_path_factory.mktemp("demo-state")
    agent = demo_process(state, "--seed", "3")
    try:
        url = agent.wait_for_line(SERVING).group(1)
        pump_port = int(agent.wait_for_line(PUMP).group(1))
        yield agent, url, pump_port
    finally:
        agent.stop()


def demo_tags() -> list[str]:
    return [info.name for info in load_config(DEMO_CONFIG).tag_infos()]


async def read_all(client: Client, tags: list[str]) -> dict[str, ua.DataValue]:
    ns = await client.get_namespace_index(TAGS_NS)
    nodes = [client.get_node(ua.NodeId(tag, ns)) for tag in tags]
    values = await client.read_attributes(nodes, ua.AttributeIds.Value)
    return dict(zip(tags, values, strict=True))


async def wait_until_all_good(
    client: Client, tags: list[str], within: float = 20.0
) -> dict[str, ua.DataValue]:
    deadline = time.monotonic() + within
    while True:
        values = await read_all(client, tags)
        bad = {t: v.StatusCode.name for t, v in values.items() if not v.StatusCode.is_good()}
        if not bad:
            return values
        if time.monotonic() > deadline:
            raise AssertionError(f"tags still not Good after {within} s: {bad}")
        await asyncio.sleep(0.5)


async def test_every_tag_is_served_good_with_timestamps_and_changes(
    demo: tuple[AgentProcess, str, int],
) -> None:
    _, url, _ = demo
    tags = demo_tags()
    async with Client(url) as client:
        first = await wait_until_all_good(client, tags)
        for tag, value in first.items():
            assert value.SourceTimestamp is not None, tag
            assert value.ServerTimestamp is not None, tag
        await asyncio.sleep(1.5)
        second = await read_all(client, tags)
    changed = {
        t
        for t in ("motor_temperature", "vibration_rms", "anomaly_score")
        if first[t].Value != second[t].Value
    }
    assert changed == {"motor_temperature", "vibration_rms", "anomaly_score"}
    assert 20 < second["motor_temperature"].Value.Value < 120
    assert second["anomaly"].Value.Value is False


async def test_the_demo_log_shows_its_reads_as_planned_and_no_pymodbus_lines(
    demo: tuple[AgentProcess, str, int],
) -> None:
    agent, url, _ = demo
    async with Client(url) as client:
        await wait_until_all_good(client, demo_tags())
    log = agent.log()
    assert "cannot be read at once" not in log
    assert "pymodbus" not in log
    assert "Traceback" not in log


async def test_anonymous_demo_client_cannot_write(demo: tuple[AgentProcess, str, int]) -> None:
    _, url, _ = demo
    async with Client(url) as client:
        ns = await client.get_namespace_index(TAGS_NS)
        node = client.get_node(ua.NodeId("speed_setpoint", ns))
        with pytest.raises(ua.UaStatusCodeError):
            await node.write_value(ua.DataValue(ua.Variant(1000, ua.VariantType.Int64)))


@contextlib.asynccontextmanager
async def pump_switch(pump_port: int, register: int) -> AsyncIterator[None]:
    """The simulated pump with one of its fault switches on, off again afterwards."""
    modbus = AsyncModbusTcpClient("127.0.0.1", port=pump_port)
    await modbus.connect()
    try:
        assert not (await modbus.write_register(register, 1, device_id=1)).isError()
        yield
    finally:
        await modbus.write_register(register, 0, device_id=1)
        modbus.close()


async def wait_for_values(
    url: str, tags: list[str], done: Callable[[dict[str, ua.DataValue]], bool], within: float = 60.0
) -> dict[str, ua.DataValue]:
    async with Client(url) as client:
        deadline = time.monotonic() + within
        while True:
            values = await read_all(client, tags)
            if done(values):
                return values
            seen = {tag: value.Value.Value for tag, value in values.items()}
            assert time.monotonic() < deadline, f"not reached within {within} s: {seen}"
            await asyncio.sleep(0.5)


async def test_bearing_fault_drives_the_anomaly_score_over_its_threshold(
    demo: tuple[AgentProcess, str, int],
) -> None:
    _, url, pump_port = demo
    async with pump_switch(pump_port, FAULT_REGISTER):
        values = await wait_for_values(
            url, ["anomaly_score", "anomaly"], lambda v: v["anomaly"].Value.Value is True
        )
    assert values["anomaly_score"].Value.Value > 1.0


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_ends_the_demo_cleanly_within_5_s(tmp_path: Path, stop_signal: signal.Signals) -> None:
    agent = demo_process(tmp_path)
    try:
        agent.wait_for_line(SERVING)
        started = time.monotonic()
        agent.send(stop_signal)
        code = agent.process.wait(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        agent.stop()
    assert code == 0, agent.log()
    assert elapsed < 5.0
    assert "Traceback" not in agent.log()


@pytest.mark.skipif(MOSQUITTO is None, reason="the demo starts no broker without mosquitto")
def test_a_demo_killed_outright_leaves_no_broker_behind(tmp_path: Path) -> None:
    agent = demo_process(tmp_path)
    try:
        agent.wait_for_line(WATCH)
        children = psutil.Process(agent.process.pid).children()
        [broker] = [child for child in children if "mosquitto" in child.name()]
        agent.send(signal.SIGKILL)
        agent.process.wait(timeout=10)
        # The broker runs in a session of its own (Ctrl-C must not reach it first): only the parent-death
        # signal ends it now.
        broker.wait(timeout=10)
    finally:
        agent.stop()


async def test_cavitation_is_named_by_the_pump_state_classifier(demo: tuple[AgentProcess, str, int]) -> None:
    _, url, pump_port = demo
    async with pump_switch(pump_port, CAVITATION_REGISTER):
        # While the window still holds samples from before the switch, cavitation may lead with less
        # than half the probability; once it is full of them the classifier is sure.
        values = await wait_for_values(
            url,
            ["pump_state", "pump_state_probability"],
            lambda v: (
                v["pump_state"].Value.Value == "cavitation" and v["pump_state_probability"].Value.Value > 0.5
            ),
        )
    assert values["pump_state"].Value.Value == "cavitation"


async def test_the_demo_serves_its_shell_and_the_history_of_its_readings(
    demo: tuple[AgentProcess, str, int],
) -> None:
    _, url, _ = demo
    async with Client(url) as client:
        await wait_until_all_good(client, demo_tags())
        shell_ns = await client.get_namespace_index("urn:edge-agent:aas")
        i4aas_ns = await client.get_namespace_index("http://opcfoundation.org/UA/I4AAS/")
        score = await client.nodes.objects.get_child(
            [
                f"{shell_ns}:pump_17",
                f"{shell_ns}:ConditionMonitoring",
                f"{shell_ns}:pump_health",
                f"{shell_ns}:Outputs",
                f"{shell_ns}:anomaly_score",
                f"{i4aas_ns}:Value",
            ]
        )
        tags_ns = await client.get_namespace_index(TAGS_NS)
        flat = await client.get_node(ua.NodeId("anomaly_score", tags_ns)).read_data_value()
        served = await score.read_data_value()
        assert served.SourceTimestamp >= flat.SourceTimestamp  # one value, shown in both places

        await asyncio.sleep(1.5)  # the history store commits once a second
        now = datetime.now(UTC)
        history = await score.read_raw_history(now - timedelta(minutes=5), now)
    assert len(history) >= 4
    stamps = [value.SourceTimestamp for value in history]
    assert stamps == sorted(stamps)
    assert all(value.StatusCode.is_good() for value in history)


def test_with_mosquitto_the_demo_is_a_sparkplug_edge_node_one_can_watch(
    demo: tuple[AgentProcess, str, int],
) -> None:
    agent, _, _ = demo
    if MOSQUITTO is None:
        agent.wait_for_line(SPARKPLUG_OFF)
        return
    url = agent.wait_for_line(WATCH).group(1)
    done = subprocess.run(
        [sys.executable, "-m", "edge_agent", "sparkplug", "watch", url, "--json", "--count", "3"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 3
    assert all((record["group"], record["node"]) == ("demo", "pump-skid") for record in records)
