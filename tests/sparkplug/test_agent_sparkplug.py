"""The whole agent as a Sparkplug edge node: `edge-agent run` in a process, polling the simulated pump over
Modbus TCP and publishing it over mutual TLS to a real mosquitto, watched by a decoding subscriber on the
broker's plain listener. Also the broker down for 30 s: every reading of the outage arrives afterwards,
once, in order, as history.

Also the node against a broker whose certificate comes from a CA it does not trust: it keeps trying, and
says why in one line per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from edge_agent.config.sparkplug import SparkplugConfig
from edge_agent.sparkplug.datatypes import DataType
from edge_agent.sparkplug.mqtt import MqttConnection, MqttSettings, connect
from edge_agent.sparkplug.node import EdgeNode
from edge_agent.sparkplug.payloads import metric_value
from edge_agent.sparkplug.sparkplug_b_pb2 import Payload
from edge_agent.tags import TagInfo
from edge_agent.tagstore import TagStore
from tests.sparkplug.test_edge_node import GROUP, NODE, Watcher, running, watching
from tests.support.agent_process import AgentProcess
from tests.support.mosquitto import AGENT_URI, BrokerFactory, Mosquitto, Site
from tests.support.ports import free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

DEVICE = "pump_plc"
# Only guards against a hang: a whole agent process starting on a loaded machine (both cores busy) may
# take many seconds; every wait ends on a message or a log line long before.
GUARD_S = 90.0
DEFAULT_SETPOINT_RPM = 2900  # the simulator's speed_setpoint at start
RUNNING_ADDRESS = 0
SPEED_SETPOINT_ADDRESS = 1

CONFIG = """\
asset:
  id: urn:example:aas:sparkplug-pump
  global_asset_id: urn:example:asset:sparkplug-pump
opcua:
  endpoint: opc.tcp://127.0.0.1:{opcua_port}
  application_uri: {application_uri}
  pki: {pki}
sources:
  - name: {device}
    driver: modbus
    host: 127.0.0.1
    port: {modbus_port}
    poll: 200ms
    timeout: 500ms
    points:
      - {{name: motor_temperature, kind: input, address: 0, type: float32, unit: degC}}
      - {{name: running, kind: holding, address: {running}, type: uint16}}
      - {{name: speed_setpoint, kind: holding, address: {setpoint}, type: uint16, unit: rpm, writable: true}}
sparkplug:
  brokers: [{broker}]
  group_id: {group}
  edge_node_id: {node}
  commands: true
  store_and_forward: {{database: {outbox}}}
"""


@pytest.fixture
def pump() -> Iterator[int]:
    """The simulated pump's Modbus TCP port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.simulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield port
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def config_file(tmp_path: Path, site: Site, broker: Mosquitto, pump: int) -> Path:
    """The agent's config: the pump, and the broker's mutual-TLS listener with the site's PKI store.

    The store is copied per test: the agent keeps its bdSeq beside it, and the OPC UA server writes into it.
    """
    pki = tmp_path / "state" / "pki"
    shutil.copytree(site.agent_pki.root, pki)
    config = tmp_path / "config.yaml"
    config.write_text(
        CONFIG.format(
            opcua_port=free_port(),
            application_uri=AGENT_URI,
            pki=pki,
            device=DEVICE,
            modbus_port=pump,
            running=RUNNING_ADDRESS,
            setpoint=SPEED_SETPOINT_ADDRESS,
            broker=broker.tls_url,
            group=GROUP,
            node=NODE,
            outbox=tmp_path / "state" / "outbox.sqlite",
        )
    )
    return config


AgentStarter = Callable[[], AgentProcess]


@pytest.fixture
def start_agent(config_file: Path, tmp_path: Path) -> Iterator[AgentStarter]:
    """``start_agent()``: `edge-agent run` on the config; every one started is stopped after the test."""
    started: list[AgentProcess] = []

    def start() -> AgentProcess:
        process = AgentProcess(["run", str(config_file)], tmp_path / f"agent-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


async def next_message(watcher: Watcher, kind: str, *, device: str | None = None) -> Payload:
    """The next message of ``kind`` (and of ``device``, for a device message); others are passed over."""
    async with asyncio.timeout(GUARD_S):
        while True:
            topic, payload = await watcher.messages.get()
            levels = topic.split("/")
            if levels[2] == kind and (device is None or levels[4:] == [device]):
                return payload


async def next_device_message(watcher: Watcher) -> Payload:
    """The next DBIRTH or DDATA of the pump."""
    async with asyncio.timeout(GUARD_S):
        while True:
            topic, payload = await watcher.messages.get()
            levels = topic.split("/")
            if levels[2] in ("DBIRTH", "DDATA") and levels[4:] == [DEVICE]:
                return payload


def bd_seq(payload: Payload) -> int:
    (metric,) = [metric for metric in payload.metrics if metric.name == "bdSeq"]
    value = metric_value(metric)
    assert isinstance(value, int)
    return value


async def log_line(process: AgentProcess, pattern: str) -> str:
    """The first line of the agent's log matching ``pattern``, waiting for it."""
    found: list[str] = []

    def logged() -> bool:
        found[:] = [line for line in process.log().splitlines() if re.search(pattern, line)]
        return bool(found)

    await eventually(logged, within=GUARD_S)
    return found[0]


async def holding_register(port: int, address: int) -> int:
    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()
    try:
        response = await client.read_holding_registers(address, count=1, device_id=1)
        assert not response.isError(), response
        value: int = response.registers[0]
        return value
    finally:
        client.close()


async def test_the_agent_births_the_pump_and_carries_out_a_device_command_over_mutual_tls(
    broker: Mosquitto, start_agent: AgentStarter, pump: int
) -> None:
    async with watching(broker) as watcher:
        agent = start_agent()
        nbirth = await next_message(watcher, "NBIRTH")
        assert nbirth.seq == 0
        dbirth = await next_message(watcher, "DBIRTH", device=DEVICE)
        births = {metric.name: metric for metric in dbirth.metrics}
        assert set(births) == {"motor_temperature", "running", "speed_setpoint"}
        assert births["motor_temperature"].datatype == DataType.Float  # a float32 register
        assert births["speed_setpoint"].datatype == DataType.UInt16
        name_of = {metric.alias: metric.name for metric in dbirth.metrics}

        command = Payload()
        refused = command.metrics.add(name="running", datatype=DataType.UInt16)
        refused.int_value = 0
        wanted = command.metrics.add(name="speed_setpoint", datatype=DataType.UInt16)
        wanted.int_value = 1500
        await watcher.publish(f"spBv1.0/{GROUP}/DCMD/{NODE}/{DEVICE}", command.SerializeToString())

        # The written setpoint comes back from a later poll of the device, as data by exception (or in
        # a new DBIRTH, should a slow poll on a loaded machine have made the device die in between).
        setpoint: Any = metric_value(births["speed_setpoint"])
        while setpoint != 1500:
            data = await next_device_message(watcher)
            for metric in data.metrics:
                if name_of[metric.alias] == "speed_setpoint":
                    setpoint = metric_value(metric)

    refusal = await log_line(agent, r"write .*tag=running")
    assert "BadNotWritable" in refusal
    assert "sparkplug:" in refusal
    accepted = await log_line(agent, r"write .*tag=speed_setpoint")
    assert "value=1500" in accepted and "Good" in accepted
    assert await holding_register(pump, SPEED_SETPOINT_ADDRESS) == 1500
    assert await holding_register(pump, RUNNING_ADDRESS) == 1
    assert "connected to MQTT broker " + broker.tls_url in agent.log()


async def test_a_killed_agent_dies_by_its_will_and_comes_back_with_the_next_bd_seq(
    broker: Mosquitto, start_agent: AgentStarter
) -> None:
    async with watching(broker) as watcher:
        agent = start_agent()
        first = bd_seq(await next_message(watcher, "NBIRTH"))
        await next_message(watcher, "DBIRTH", device=DEVICE)

        agent.send(signal.SIGKILL)
        death = await next_message(watcher, "NDEATH")
        assert bd_seq(death) == first
        assert agent.process.wait(GUARD_S) == -signal.SIGKILL

        start_agent()
        assert bd_seq(await next_message(watcher, "NBIRTH")) == (first + 1) % 256
    assert "Will message specified" in broker.log()


def counting(
    attempts: list[BaseException],
) -> Callable[[MqttSettings], AbstractAsyncContextManager[MqttConnection]]:
    """``connect`` that records how each attempt failed."""

    @asynccontextmanager
    async def connector(settings: MqttSettings) -> AsyncIterator[MqttConnection]:
        try:
            async with connect(settings) as connection:
                yield connection
        except Exception as exc:
            attempts.append(exc)
            raise

    return connector


async def test_a_broker_of_a_stranger_ca_is_not_trusted_and_each_attempt_says_so_in_one_line(
    start_broker: BrokerFactory,
    site: Site,
    stranger: Site,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    impostor = start_broker(server=stranger.broker)
    config = SparkplugConfig.model_validate(
        {"brokers": [impostor.tls_url], "group_id": GROUP, "edge_node_id": NODE, "commands": True}
    )
    store = TagStore([TagInfo("temperature", "plc", "float")])
    attempts: list[BaseException] = []
    node = EdgeNode(
        config,
        store,
        pki=site.agent_pki.root,
        bd_seq_path=tmp_path / "node.bdseq",
        connector=counting(attempts),
    )
    caplog.set_level(logging.INFO, logger="edge_agent")
    async with running(node):
        # The node backs off between attempts (1 s, then about 2 s): two failed attempts show it retries.
        await eventually(lambda: len(attempts) >= 2, within=GUARD_S)
        assert not node.online
    records = [record for record in caplog.records if record.name.startswith("edge_agent")]
    untrusted = [record.getMessage() for record in records if "not trusted" in record.getMessage()]
    assert untrusted == [
        f"MQTT broker {impostor.tls_url} cannot be used: "
        "broker certificate not trusted: unable to get local issuer certificate"
    ] * len(attempts)
    assert not any(record.exc_info for record in records)
    assert "Traceback" not in caplog.text
    assert f"{GROUP}/{NODE}" not in impostor.log()  # never got as far as a CONNECT with our client id


OUTAGE_S = 30.0


class GateProxy:
    """A TCP relay in front of the broker's TLS listener that turns connections away while closed.

    It keeps the agent off the restarted broker until the watcher is subscribed again, so that the
    watcher sees the whole replay; the TLS session runs end to end through it.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.is_open = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.is_open:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )
        self._writers -= {writer, upstream_writer}

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def gate(broker: Mosquitto) -> AsyncIterator[GateProxy]:
    proxy = GateProxy(broker.tls_port)
    await proxy.start()
    yield proxy
    await proxy.close()


def queued(outbox: Path) -> list[tuple[str, int, Any]]:
    """(tag, source time in ms, value) of every reading in the agent's outbox, oldest first.

    Read as any SQLite reader would, beside the agent writing it (WAL mode lets readers in)."""
    with contextlib.closing(sqlite3.connect(f"file:{outbox}?mode=ro", uri=True)) as connection:
        rows = connection.execute("SELECT tag, source_time_ns, value FROM records ORDER BY id").fetchall()
    return [(tag, source_ns // 1_000_000, value) for tag, source_ns, value in rows]


def reach_broker_through(config_file: Path, broker: Mosquitto, gate: GateProxy) -> None:
    config_file.write_text(config_file.read_text().replace(broker.tls_url, f"mqtts://127.0.0.1:{gate.port}"))


async def write_holding_register(port: int, address: int, value: int) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()
    try:
        response = await client.write_register(address, value, device_id=1)
        assert not response.isError(), response
    finally:
        client.close()


async def test_a_broker_down_for_30_s_gets_every_reading_of_the_outage_afterwards_once_in_order_as_history(
    broker: Mosquitto, gate: GateProxy, config_file: Path, pump: int, tmp_path: Path
) -> None:
    reach_broker_through(config_file, broker, gate)
    outbox = tmp_path / "state" / "outbox.sqlite"
    agent = AgentProcess(["run", str(config_file)], tmp_path / "agent.log")
    try:
        async with watching(broker) as watcher:
            await next_message(watcher, "DBIRTH", device=DEVICE)
        gate.is_open = False
        broker.stop()
        await log_line(agent, r"lost MQTT broker")

        # Setpoints written to the pump during the outage, each once the agent has read it (it is in the
        # outbox): the values the host must get afterwards, exactly, whatever the machine's speed.
        written: list[int] = []
        started = time.monotonic()
        while time.monotonic() - started < OUTAGE_S:
            value = 1001 + len(written)
            await write_holding_register(pump, SPEED_SETPOINT_ADDRESS, value)
            await eventually(
                lambda value=value: ("speed_setpoint", value) in {(t, v) for t, _, v in queued(outbox)},
                within=GUARD_S,
            )
            written.append(value)
            await asyncio.sleep(0.5)
        held = queued(outbox)

        broker.start()
        async with watching(broker) as watcher:
            gate.is_open = True
            dbirth = await next_message(watcher, "DBIRTH", device=DEVICE)
            name_of = {metric.alias: metric.name for metric in dbirth.metrics}
            datatype_of = {metric.alias: DataType(metric.datatype) for metric in dbirth.metrics}
            history: dict[str, list[tuple[int, Any]]] = {}
            expected = {(tag, ms) for tag, ms, _ in held}
            while not expected <= {(tag, ms) for tag, readings in history.items() for ms, _ in readings}:
                data = await next_device_message(watcher)
                flags = {metric.is_historical for metric in data.metrics}
                assert len(flags) == 1, "a message mixes live and historical metrics"
                if flags == {True}:
                    for metric in data.metrics:
                        value = metric_value(metric, datatype_of[metric.alias])
                        history.setdefault(name_of[metric.alias], []).append((metric.timestamp, value))
            await log_line(agent, r"replayed \d+ stored readings")
    finally:
        agent.stop()

    assert [value for _, value in history["speed_setpoint"]] == written
    for tag, readings in history.items():
        times = [ms for ms, _ in readings]
        assert times == sorted(set(times)), f"{tag}: readings out of order or twice"
    assert len(written) >= 5  # at a poll every 200 ms, some fifty on an idle machine
