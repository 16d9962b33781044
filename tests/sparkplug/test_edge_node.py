"""The edge node against a real mosquitto, watched by a plain MQTT subscriber that decodes what it sees:
births, data by exception, rebirth, device commands, the primary host's STATE and an outage replayed
from the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, aclosing, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config.sparkplug import SparkplugConfig, broker_address
from edge_agent.quality import Quality
from edge_agent.sparkplug.datatypes import DataType
from edge_agent.sparkplug.mqtt import MqttConnection, MqttSettings, connect
from edge_agent.sparkplug.node import EdgeNode
from edge_agent.sparkplug.payloads import decode, metric_value, property_values
from edge_agent.sparkplug.sparkplug_b_pb2 import Payload
from edge_agent.tags import Reading, TagInfo, TagValue
from edge_agent.tagstore import TagStore
from tests.support.mosquitto import Mosquitto
from tests.support.waiting import eventually

GROUP, NODE = "plant3", "pump-skid-7"
# Only a guard against a hang: every wait below ends on a message, long before this on any machine.
GUARD_S = 30.0
TEMPERATURE_CONCEPT = "0173-1#02-AAV232#002"
TAGS = [
    TagInfo("temperature", "plc", "float", "degC", (0.0, 150.0), semantic_id=TEMPERATURE_CONCEPT),
    TagInfo("setpoint", "plc", "int", "rpm", (0.0, 3000.0), writable=True, number_type="uint16"),
    TagInfo("running", "plc", "bool"),
]


def node_config(broker: Mosquitto, tmp_path: Path, **extra: Any) -> SparkplugConfig:
    return SparkplugConfig.model_validate(
        {
            "brokers": [broker.plain_url],
            "group_id": GROUP,
            "edge_node_id": NODE,
            "insecure": {"plaintext": True},
            "commands": True,
            "store_and_forward": {"database": str(tmp_path / "outbox.sqlite")},
            **extra,
        }
    )


class Watcher:
    """A host's view of the group: every message under spBv1.0/plant3, decoded, in arrival order."""

    def __init__(self, connection: MqttConnection) -> None:
        self.connection = connection
        self.messages: asyncio.Queue[tuple[str, Payload]] = asyncio.Queue()

    async def next(self, kind: str) -> Payload:
        """The next message of ``kind`` (NBIRTH, DDATA ...); the ones before it are passed over."""
        async with asyncio.timeout(GUARD_S):
            while True:
                topic, payload = await self.messages.get()
                if topic.split("/")[2] == kind:
                    return payload

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        await self.connection.publish(topic, payload, qos=1, retain=retain)


@asynccontextmanager
async def watching(broker: Mosquitto) -> AsyncIterator[Watcher]:
    settings = MqttSettings((broker_address(broker.plain_url),), "watcher", keepalive=30, timeout=GUARD_S)
    async with connect(settings) as connection:
        await connection.subscribe(f"spBv1.0/{GROUP}/#", qos=1)
        watcher = Watcher(connection)

        async def collect() -> None:
            async with aclosing(connection.messages()) as messages:
                async for message in messages:
                    watcher.messages.put_nowait((message.topic, decode(message.payload)))

        task = asyncio.create_task(collect())
        try:
            yield watcher
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class Gate:
    """Holds the node's next connection until the test lets it through (a watcher must be listening)."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()

    def connector(self) -> Callable[[MqttSettings], AbstractAsyncContextManager[MqttConnection]]:
        @asynccontextmanager
        async def gated(settings: MqttSettings) -> AsyncIterator[MqttConnection]:
            await self.open.wait()
            async with connect(settings) as connection:
                yield connection

        return gated


@asynccontextmanager
async def running(node: EdgeNode) -> AsyncIterator[EdgeNode]:
    task = asyncio.create_task(node.run())
    try:
        yield node
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def good(store: TagStore, tag: str, value: TagValue) -> None:
    store.publish(Reading(tag, value, Quality.Good))


def metrics_by_name(payload: Payload) -> dict[str, Any]:
    return {metric.name: metric for metric in payload.metrics}


def values_by_alias(payload: Payload) -> list[tuple[int, Any]]:
    return [(metric.alias, metric_value(metric)) for metric in payload.metrics]


@pytest.fixture
def store() -> TagStore:
    return TagStore(TAGS)


def make_node(config: SparkplugConfig, store: TagStore, tmp_path: Path, gate: Gate | None = None) -> EdgeNode:
    connector = gate.connector() if gate is not None else connect
    return EdgeNode(
        config, store, pki=tmp_path / "pki", bd_seq_path=tmp_path / "node.bdseq", connector=connector
    )


async def test_births_carry_every_metric_and_data_goes_by_alias(
    broker: Mosquitto, store: TagStore, tmp_path: Path
) -> None:
    async with (
        watching(broker) as watcher,
        running(make_node(node_config(broker, tmp_path), store, tmp_path)),
    ):
        nbirth = await watcher.next("NBIRTH")
        assert nbirth.seq == 0
        assert [metric.name for metric in nbirth.metrics][:2] == ["bdSeq", "Node Control/Rebirth"]
        assert metric_value(nbirth.metrics[0]) == 0

        good(store, "temperature", 61.5)
        good(store, "setpoint", 1500)
        dbirth = await watcher.next("DBIRTH")
        births = metrics_by_name(dbirth)
        assert set(births) == {"temperature", "setpoint", "running"}
        temperature = births["temperature"]
        assert temperature.datatype == DataType.Double
        assert metric_value(temperature) == 61.5
        facts = property_values(temperature)
        assert facts["engUnit"] == "degC"
        assert facts["semanticId"] == TEMPERATURE_CONCEPT
        assert births["setpoint"].datatype == DataType.UInt16
        assert dbirth.seq == 1

        good(store, "temperature", 62.0)
        ddata = await watcher.next("DDATA")
        assert values_by_alias(ddata)[-1] == (temperature.alias, 62.0)
        assert all(not metric.name for metric in ddata.metrics)
        assert ddata.seq == 2


async def test_a_rebirth_command_gets_fresh_births_with_the_same_bd_seq(
    broker: Mosquitto, store: TagStore, tmp_path: Path
) -> None:
    good(store, "temperature", 20.0)
    async with (
        watching(broker) as watcher,
        running(make_node(node_config(broker, tmp_path), store, tmp_path)),
    ):
        first = await watcher.next("NBIRTH")
        await watcher.next("DBIRTH")
        command = Payload()
        rebirth = command.metrics.add(name="Node Control/Rebirth", datatype=DataType.Boolean)
        rebirth.boolean_value = True
        await watcher.publish(f"spBv1.0/{GROUP}/NCMD/{NODE}", command.SerializeToString())
        second = await watcher.next("NBIRTH")
        assert second.seq == 0
        assert metric_value(second.metrics[0]) == metric_value(first.metrics[0])
        assert metrics_by_name(await watcher.next("DBIRTH"))["temperature"].double_value == 20.0


async def test_a_device_command_writes_a_writable_tag_and_is_refused_for_a_read_only_one(
    broker: Mosquitto, store: TagStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    written: asyncio.Queue[tuple[str, TagValue]] = asyncio.Queue()

    async def writer(tag: str, value: TagValue) -> Quality:
        written.put_nowait((tag, value))
        return Quality.Good

    store.set_writer("setpoint", writer)
    good(store, "temperature", 20.0)
    caplog.set_level(logging.INFO, logger="edge_agent.audit")
    async with (
        watching(broker) as watcher,
        running(make_node(node_config(broker, tmp_path), store, tmp_path)),
    ):
        await watcher.next("DBIRTH")
        command = Payload()
        refused = command.metrics.add(name="temperature", datatype=DataType.Double)
        refused.double_value = 99.0
        wanted = command.metrics.add(name="setpoint", datatype=DataType.UInt16)
        wanted.int_value = 1500
        await watcher.publish(f"spBv1.0/{GROUP}/DCMD/{NODE}/plc", command.SerializeToString())
        async with asyncio.timeout(GUARD_S):
            assert await written.get() == ("setpoint", 1500)
    assert written.empty()
    audit = [record.getMessage() for record in caplog.records if record.name == "edge_agent.audit"]
    assert any("tag=temperature" in line and "BadNotWritable" in line for line in audit)
    assert any("tag=setpoint" in line and "value=1500" in line and "Good" in line for line in audit)


async def test_commands_are_refused_unless_the_config_allows_them(
    broker: Mosquitto, store: TagStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[TagValue] = []

    async def writer(tag: str, value: TagValue) -> Quality:
        calls.append(value)
        return Quality.Good

    store.set_writer("setpoint", writer)
    good(store, "temperature", 20.0)
    caplog.set_level(logging.INFO, logger="edge_agent.audit")
    config = node_config(broker, tmp_path, commands=False)
    async with watching(broker) as watcher, running(make_node(config, store, tmp_path)):
        await watcher.next("DBIRTH")
        command = Payload()
        wanted = command.metrics.add(name="setpoint", datatype=DataType.UInt16)
        wanted.int_value = 1500
        await watcher.publish(f"spBv1.0/{GROUP}/DCMD/{NODE}/plc", command.SerializeToString())
        await eventually(
            lambda: any("BadUserAccessDenied" in r.getMessage() for r in caplog.records), within=GUARD_S
        )
    assert calls == []


async def test_a_device_whose_tags_all_go_bad_dies_and_is_born_again(
    broker: Mosquitto, store: TagStore, tmp_path: Path
) -> None:
    good(store, "temperature", 20.0)
    async with (
        watching(broker) as watcher,
        running(make_node(node_config(broker, tmp_path), store, tmp_path)),
    ):
        await watcher.next("DBIRTH")
        for tag in ("temperature", "setpoint", "running"):
            store.publish(Reading(tag, None, Quality.BadNoCommunication))
        death = await watcher.next("DDEATH")
        assert list(death.metrics) == []
        good(store, "temperature", 21.0)
        assert metrics_by_name(await watcher.next("DBIRTH"))["temperature"].double_value == 21.0


async def test_bd_seq_goes_on_across_restarts_and_a_stop_publishes_the_death(
    broker: Mosquitto, store: TagStore, tmp_path: Path
) -> None:
    config = node_config(broker, tmp_path)
    async with watching(broker) as watcher:
        async with running(make_node(config, store, tmp_path)):
            first = metric_value((await watcher.next("NBIRTH")).metrics[0])
        death = await watcher.next("NDEATH")
        assert metric_value(death.metrics[0]) == first
        async with running(make_node(config, store, tmp_path)):
            assert metric_value((await watcher.next("NBIRTH")).metrics[0]) == first + 1


async def test_nothing_is_born_until_the_primary_host_is_online_and_its_going_offline_ends_the_session(
    broker: Mosquitto, store: TagStore, tmp_path: Path
) -> None:
    config = node_config(broker, tmp_path, primary_host_id="scada-1")
    state = "spBv1.0/STATE/scada-1"
    async with watching(broker) as watcher, running(make_node(config, store, tmp_path)) as node:
        await asyncio.sleep(0.5)  # time the node would take to be born, were it not waiting
        assert not node.online
        await watcher.publish(state, json.dumps({"online": True, "timestamp": 1}).encode(), retain=True)
        await watcher.next("NBIRTH")
        await watcher.publish(state, json.dumps({"online": False, "timestamp": 2}).encode(), retain=True)
        await watcher.next("NDEATH")
        assert not node.online
    await _clear_retained(broker, state)


async def _clear_retained(broker: Mosquitto, topic: str) -> None:
    async with watching(broker) as watcher:
        await watcher.publish(topic, b"", retain=True)


async def test_readings_during_an_outage_are_replayed_in_order_as_history(
    broker: Mosquitto, store: TagStore, tmp_path: Path
) -> None:
    gate = Gate()
    node = make_node(node_config(broker, tmp_path), store, tmp_path, gate)
    good(store, "temperature", 20.0)
    async with running(node):
        async with watching(broker) as watcher:
            await watcher.next("DBIRTH")
        gate.open.clear()
        broker.stop()
        # QoS 0 data written in the moment the connection is going is lost with it (Sparkplug's choice
        # for data): the readings of the outage start once the node knows it is offline.
        await eventually(lambda: not node.online, within=GUARD_S)
        values = [20.0 + step / 10 for step in range(1, 201)]
        for value in values:
            good(store, "temperature", value)
            await asyncio.sleep(0)
        await eventually(lambda: node.diagnostics()["queued"] == len(values), within=GUARD_S)
        broker.restart()
        async with watching(broker) as watcher:
            gate.open.set()
            await watcher.next("NBIRTH")
            replayed: list[float] = []
            while len(replayed) < len(values):
                data = await watcher.next("DDATA")
                assert all(metric.is_historical for metric in data.metrics)
                replayed += [metric.double_value for metric in data.metrics]
            assert replayed == values
        # The outbox is acknowledged once a batch is handed to the socket, which can be a moment after
        # the watcher holds it.
        await eventually(lambda: node.diagnostics()["queued"] == 0, within=GUARD_S)


async def test_seq_runs_through_255_and_wraps_to_0_without_a_gap(
    broker: Mosquitto, store: TagStore, tmp_path: Path
) -> None:
    # Births take seq 0 (NBIRTH) and 1 (DBIRTH); 300 data messages carry seq past 255 and round again.
    data_messages = 300
    good(store, "temperature", 0.0)
    async with (
        watching(broker) as watcher,
        running(make_node(node_config(broker, tmp_path), store, tmp_path)),
    ):
        seen: list[tuple[str, int]] = []

        async def next_message() -> tuple[str, int]:
            async with asyncio.timeout(GUARD_S):
                topic, payload = await watcher.messages.get()
            seen.append((topic.split("/")[2], payload.seq))
            return seen[-1]

        assert await next_message() == ("NBIRTH", 0)
        assert await next_message() == ("DBIRTH", 1)
        for step in range(1, data_messages + 1):
            # One change at a time, each waited for: the node would put changes that come together
            # into one message.
            good(store, "temperature", float(step))
            kind, _ = await next_message()
            assert kind == "DDATA"
    assert [seq for _, seq in seen] == [index % 256 for index in range(data_messages + 2)]
