"""`edge-agent sparkplug watch` as a technician runs it: a subprocess on a real mosquitto, reading what an
edge node publishes, with aliases named from the births; and its decoding of single messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.config.sparkplug import SparkplugConfig, broker_address
from edge_agent.quality import Quality
from edge_agent.sparkplug.datatypes import DataType
from edge_agent.sparkplug.mqtt import MqttSettings, connect
from edge_agent.sparkplug.node import EdgeNode
from edge_agent.sparkplug.sparkplug_b_pb2 import Payload
from edge_agent.sparkplug.watch import Decoder, render
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore
from tests.support.mosquitto import Mosquitto, Site
from tests.support.ports import free_port

GROUP, NODE = "plant3", "pump-skid-7"
# Only a guard against a hang: every wait below ends on a line, long before this on any machine.
GUARD_S = 30.0
TAGS = [
    TagInfo("temperature", "plc", "float", "degC", (0.0, 150.0)),
    TagInfo("setpoint", "plc", "int", "rpm", (0.0, 3000.0), writable=True, number_type="uint16"),
]
STATE_ONLINE = json.dumps({"online": True, "timestamp": 1_700_000_000_000}).encode()


class Watch:
    """The command in a subprocess; its stdout read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self) -> str:
        assert self.process.stdout is not None
        async with asyncio.timeout(GUARD_S):
            raw = await self.process.stdout.readline()
        assert raw, f"the watch ended early: {await self.stderr()}"
        return raw.decode().rstrip("\n")

    async def stderr(self) -> str:
        assert self.process.stderr is not None
        return (await self.process.stderr.read()).decode()

    async def exit_code(self) -> int:
        async with asyncio.timeout(GUARD_S):
            return await self.process.wait()


@asynccontextmanager
async def watching(*args: str) -> AsyncIterator[Watch]:
    """The watch, started and subscribed (its 'watching' line seen on stderr) before the test goes on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge_agent",
        "sparkplug",
        "watch",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        async with asyncio.timeout(GUARD_S):
            first = (await process.stderr.readline()).decode()
        assert first.startswith("watching "), first + (await process.stderr.read()).decode()
        yield Watch(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


@asynccontextmanager
async def running_node(broker: Mosquitto, store: TagStore, tmp_path: Path) -> AsyncIterator[EdgeNode]:
    config = SparkplugConfig.model_validate(
        {
            "brokers": [broker.plain_url],
            "group_id": GROUP,
            "edge_node_id": NODE,
            "insecure": {"plaintext": True},
        }
    )
    node = EdgeNode(config, store, pki=tmp_path / "pki", bd_seq_path=tmp_path / "node.bdseq")
    task = asyncio.create_task(node.run())
    try:
        yield node
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def publish_state(url: str, host: str, payload: bytes) -> None:
    settings = MqttSettings((broker_address(url),), "test-host", keepalive=30, timeout=GUARD_S)
    async with connect(settings) as connection:
        await connection.publish(f"spBv1.0/STATE/{host}", payload, qos=1)


def good(store: TagStore, tag: str, value: float | int) -> None:
    store.publish(Reading(tag, value, Quality.Good))


async def line_of(watch: Watch, kind: str) -> str:
    """The next printed line of message type ``kind``; the ones before it are passed over."""
    while True:
        line = await watch.line()
        if line.split()[1] == kind:
            return line


async def test_lines_name_the_births_aliases_and_show_data_and_state(
    broker: Mosquitto, tmp_path: Path
) -> None:
    store = TagStore(TAGS)
    good(store, "temperature", 61.5)
    good(store, "setpoint", 1500)
    async with watching(broker.plain_url, "--count", "5") as watch:
        await publish_state(broker.plain_url, "scada", STATE_ONLINE)
        state = await watch.line()
        assert state.split()[1:] == ["STATE", "host", "scada", "online"]
        async with running_node(broker, store, tmp_path):
            nbirth = await line_of(watch, "NBIRTH")
            assert f"{GROUP}/{NODE} seq=0 bdSeq=0 Node Control/Rebirth=false" in nbirth
            dbirth = await line_of(watch, "DBIRTH")
            assert f"{GROUP}/{NODE}/plc seq=1" in dbirth
            assert "temperature->" in dbirth and "=61.5 degC" in dbirth
            assert "=1500 rpm" in dbirth
            good(store, "temperature", 62.25)
            ddata = await line_of(watch, "DDATA")
            assert f"{GROUP}/{NODE}/plc seq=2 temperature=62.25 degC" in ddata
        assert await watch.exit_code() == 0


async def test_json_lines_carry_the_resolved_names(broker: Mosquitto, tmp_path: Path) -> None:
    store = TagStore(TAGS)
    good(store, "setpoint", 1500)
    async with watching(broker.plain_url, "--group", GROUP, "--json", "--count", "3") as watch:
        async with running_node(broker, store, tmp_path):
            records = [json.loads(await watch.line()) for _ in range(2)]
            assert [record["type"] for record in records] == ["NBIRTH", "DBIRTH"]
            birth = {metric["name"]: metric for metric in records[1]["metrics"]}
            good(store, "setpoint", 1750)
            data = json.loads(await watch.line())
        assert await watch.exit_code() == 0
    assert data["type"] == "DDATA" and data["device"] == "plc"
    (metric,) = data["metrics"]
    assert metric["alias"] == birth["setpoint"]["alias"]
    assert (metric["name"], metric["value"], metric["unit"], metric["datatype"]) == (
        "setpoint",
        1750,
        "rpm",
        "UInt16",
    )


async def test_an_mqtts_watch_uses_the_agents_pki_store(broker: Mosquitto, site: Site) -> None:
    async with watching(broker.tls_url, "--pki", str(site.agent_pki.root), "--count", "1") as watch:
        await publish_state(broker.plain_url, "scada", b"OFFLINE")
        assert (await watch.line()).split()[1:] == ["STATE", "host", "scada", "offline"]
        assert await watch.exit_code() == 0


async def test_ctrl_c_ends_the_watch_with_0(broker: Mosquitto) -> None:
    async with watching(broker.plain_url) as watch:
        watch.process.send_signal(signal.SIGINT)
        assert await watch.exit_code() == 0


def test_a_broker_that_cannot_be_reached_is_one_line_and_exit_1() -> None:
    port = free_port()
    url = f"mqtt://127.0.0.1:{port}"
    done = subprocess.run(
        [sys.executable, "-m", "edge_agent", "sparkplug", "watch", url, "--count", "1"],
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"sparkplug watch: {url}: connection refused: nothing listens on 127.0.0.1 port {port}"
    ]
    assert done.stdout == ""


def test_historical_bad_and_unknown_aliases_are_marked() -> None:
    decoder = Decoder()
    now = datetime.now(UTC)
    payload = Payload(seq=4, timestamp=1)
    late = payload.metrics.add(alias=7, datatype=DataType.Double, is_historical=True)
    late.double_value = 3.5
    bad = payload.metrics.add(alias=8, datatype=DataType.Double, is_null=True)
    bad.properties.keys.extend(["Quality", "statusCode"])
    quality = bad.properties.values.add(type=DataType.Int32)
    quality.int_value = 0
    status = bad.properties.values.add(type=DataType.Int64)
    status.long_value = int(Quality.BadNoCommunication)
    record = decoder.record("spBv1.0/g/NDATA/n", payload.SerializeToString(), now)
    assert record is not None
    line = render(record)
    assert line.endswith("NDATA  g/n seq=4 #7=3.5 (historical) #8=null (bad, BadNoCommunication)")
    assert decoder.record("other/topic", b"", now) is None
