"""The agent as a Sparkplug B edge node: births, data by exception, commands, store and forward.

Each source of the tag store (a driver's source, a model) is a Sparkplug device named after it; the edge
node's own metrics are bdSeq and Node Control/Rebirth. A device is born (DBIRTH) once one of its tags is
not Bad, and dies (DDEATH) when all of them are Bad again: a device that stops answering makes its tags
Bad, so the host sees it go away and come back.

One MQTT session at a time, on the first broker of the config that answers (failover order). Its will is
the NDEATH with the bdSeq the NBIRTH carries; bdSeq is taken from disk before each CONNECT. With a primary
host configured, nothing is born until its STATE says it is online, and the session is ended (NDEATH) when
it says offline.

While there is no session, changes go to the on-disk outbox (when the config has one) and are replayed as
historical data after the next births. Delivery to the broker is at least once: a change published right
before a connection is lost may be sent again from the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..audit import audit
from ..config.sparkplug import SparkplugConfig
from ..pacing import Backoff
from ..quality import Quality
from ..tags import Reading, TagInfo, TagValue
from ..tagstore import TagStore
from .bdseq import BdSeqStore
from .mqtt import (
    BrokersUnavailable,
    ConnectionLost,
    MqttConnection,
    MqttError,
    MqttSettings,
    Received,
    Will,
    connect,
)
from .outbox import AsyncOutbox, QueuedReading
from .payloads import (
    MetricDefinition,
    MetricValueError,
    PayloadError,
    birth_payload,
    data_payload,
    death_payload,
    decode,
    device_birth_payload,
    device_death_payload,
    next_seq,
    rebirth_requested,
    written_value,
)
from .topics import MessageType, NodeTopics, parse_topic, state_topic

log = logging.getLogger(__name__)

REPLAY_BATCH = 500
"""Outbox records per historical message: large enough for a fast replay, small next to broker limits."""

Connector = Callable[[MqttSettings], contextlib.AbstractAsyncContextManager[MqttConnection]]


@dataclass
class _Device:
    """One Sparkplug device: a source of the tag store, its metrics, and whether it is born."""

    name: str
    metrics: dict[str, MetricDefinition]
    alive: bool = False
    bad: set[str] = field(default_factory=set)
    """Its tags whose last reading seen is Bad (or that have none yet): all of them is a dead device."""

    def see(self, current: Mapping[str, Reading]) -> None:
        self.bad = {name for name in self.metrics if name not in current or current[name].quality.is_bad}

    @property
    def has_live_tag(self) -> bool:
        return len(self.bad) < len(self.metrics)


class EdgeNode:
    """Publishes the tag store as a Sparkplug B edge node; ``run`` until cancelled."""

    def __init__(
        self,
        config: SparkplugConfig,
        store: TagStore,
        *,
        pki: Path,
        bd_seq_path: Path,
        connector: Connector = connect,
    ) -> None:
        self.config = config
        self.topics = NodeTopics(config.group_id, config.edge_node_id)
        self._store = store
        self._pki = pki
        self._bd_seq = BdSeqStore(bd_seq_path)
        self._connector = connector
        self._devices: dict[str, _Device] = {}
        self._metric_of: dict[str, tuple[_Device, MetricDefinition]] = {}
        self._build_metrics(store.tags)
        self._sent: dict[str, tuple[TagValue | None, Quality]] = {}
        self._pending: deque[Reading] = deque()
        self._wakeup = asyncio.Event()
        self._connection: MqttConnection | None = None
        self._seq = 0
        self._bd = 0
        self._host_online = asyncio.Event()
        self._host_timestamp = -1
        self._session_over = asyncio.Event()
        self._outbox: AsyncOutbox | None = None
        # seq orders every message of a session: births, data and deaths from the sender, the replay
        # and the command reader are published one sequence at a time.
        self._publishing = asyncio.Lock()
        self.published = 0
        self.births = 0

    def _build_metrics(self, tags: list[TagInfo]) -> None:
        # Aliases are unique across the edge node and stable for the life of the config: hosts map them
        # back to names from the births.
        for alias, info in enumerate(tags, start=1):
            device = self._devices.setdefault(info.source, _Device(info.source, {}))
            definition = MetricDefinition.from_tag(info, alias, semantic_id=info.semantic_id)
            device.metrics[info.name] = definition
            self._metric_of[info.name] = (device, definition)

    @property
    def online(self) -> bool:
        """Whether births have been published in the current session and data goes out live."""
        return self._connection is not None

    def diagnostics(self) -> dict[str, object]:
        outbox = self._outbox
        return {
            "group_id": self.config.group_id,
            "edge_node_id": self.config.edge_node_id,
            "online": self.online,
            "bd_seq": self._bd,
            "published": self.published,
            "queued": outbox.pending if outbox is not None else 0,
            "evicted": outbox.evicted if outbox is not None else 0,
        }

    async def run(self) -> None:
        """Keep a session with the first broker that answers, reconnecting with backoff, until cancelled."""
        forward = self.config.store_and_forward
        if forward is not None:
            self._outbox = await AsyncOutbox.open(forward.database, max_bytes=forward.max_size)
        unlisten = self._store.listen(self._on_reading)
        sender = asyncio.create_task(self._send_changes(), name="sparkplug-sender")
        backoff = Backoff(first=1.0, cap=30.0)
        try:
            while True:
                try:
                    await self._one_session()
                    backoff.reset()
                    delay = 0.0
                except (BrokersUnavailable, ConnectionLost):
                    # The adapter has logged the reason (each broker's, or the lost connection's) in a
                    # line of its own: said again here, one cause would read as two failures.
                    delay = backoff.next_delay()
                    log.info("Sparkplug: connecting again in %.1f s", delay)
                except MqttError as exc:
                    delay = backoff.next_delay()
                    log.warning("Sparkplug session ended: %s; connecting again in %.1f s", exc, delay)
                except OSError as exc:
                    delay = backoff.next_delay()
                    log.error("Sparkplug bdSeq cannot be recorded: %s; trying again in %.1f s", exc, delay)
                await asyncio.sleep(delay)
        finally:
            unlisten()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            if self._outbox is not None:
                await self._outbox.close()

    async def _one_session(self) -> None:
        self._bd = await asyncio.to_thread(self._bd_seq.next)
        will = Will(self.topics.ndeath, death_payload(self._bd), qos=1, retain=False)
        settings = await asyncio.to_thread(MqttSettings.of, self.config, self._pki, will)
        async with self._connector(settings) as connection:
            self._session_over.clear()
            reader = asyncio.create_task(self._read_commands(connection), name="sparkplug-commands")
            try:
                for topic in self.topics.command_filters:
                    await connection.subscribe(topic, qos=1)
                host = self.config.primary_host_id
                if host is not None:
                    await connection.subscribe(state_topic(host), qos=1)
                    await self._wait_for(self._host_online.wait(), reader)
                await self._birth(connection)
                self._connection = connection
                self._wakeup.set()
                await self._replay(connection)
                await self._wait_for(self._session_over.wait(), reader)
            finally:
                self._connection = None
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, MqttError):
                    await reader
                # A session ended on purpose (a stop, the primary host gone) disconnects cleanly, and
                # the broker then drops the will: the death is published here instead.
                with contextlib.suppress(MqttError):
                    await connection.publish(self.topics.ndeath, death_payload(self._bd), qos=1)

    @staticmethod
    async def _wait_for(event: Any, reader: asyncio.Task[None]) -> None:
        """Wait for ``event``; a reader that ended (connection lost) ends the wait with its error."""
        waiting = asyncio.ensure_future(event)
        done, _ = await asyncio.wait({waiting, reader}, return_when=asyncio.FIRST_COMPLETED)
        if waiting not in done:
            waiting.cancel()
            reader.result()  # raises the reader's MqttError
            raise MqttError("the MQTT connection ended")

    async def _birth(self, connection: MqttConnection) -> None:
        """NBIRTH with seq 0, then a DBIRTH for every device that has a live tag."""
        async with self._publishing:
            await self._births(connection)

    async def _births(self, connection: MqttConnection) -> None:
        now_ms = time.time_ns() // 1_000_000
        current = self._store.snapshot()
        self._seq = 0
        await connection.publish(
            self.topics.nbirth,
            birth_payload([], current, bd_seq=self._bd, timestamp_ms=now_ms),
        )
        for device in self._devices.values():
            device.see(current)
            device.alive = device.has_live_tag
            if device.alive:
                await self._device_birth(connection, device, current)
        self._sent = {name: (reading.value, reading.quality) for name, reading in current.items()}
        self.births += 1

    async def _device_birth(
        self, connection: MqttConnection, device: _Device, current: Mapping[str, Reading]
    ) -> None:
        self._seq = next_seq(self._seq)
        payload = device_birth_payload(
            device.metrics.values(), current, seq=self._seq, timestamp_ms=time.time_ns() // 1_000_000
        )
        await connection.publish(self.topics.dbirth(device.name), payload)

    def _on_reading(self, reading: Reading) -> None:
        """Tag store listener: on the event loop, must not block."""
        if reading.tag not in self._metric_of:
            return
        self._pending.append(reading)
        self._wakeup.set()

    async def _send_changes(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch = list(self._pending)
            self._pending.clear()
            changes = self._changed(batch)
            if not changes:
                continue
            connection = self._connection
            if connection is not None:
                try:
                    async with self._publishing:
                        await self._publish_live(connection, changes)
                    continue
                except MqttError as exc:
                    log.warning("Sparkplug data not delivered, keeping it for later: %s", exc)
                    self._session_over.set()
            await self._keep(changes)

    def _changed(self, batch: list[Reading]) -> list[Reading]:
        # Report by exception: a driver already holds back changes within a point's deadband; what reaches
        # here unchanged (a model publishing the same score again) is not sent again. One loop over the
        # batch rather than a call per reading: this runs for every reading of every tag.
        sent = self._sent
        changes: list[Reading] = []
        for reading in batch:
            now = (reading.value, reading.quality)
            if sent.get(reading.tag) != now:
                sent[reading.tag] = now
                changes.append(reading)
        return changes

    async def _publish_live(self, connection: MqttConnection, changes: list[Reading]) -> None:
        by_device: dict[str, list[tuple[MetricDefinition, Reading]]] = {}
        metric_of = self._metric_of
        for reading in changes:
            device, definition = metric_of[reading.tag]
            # Kept up as changes come rather than read from a snapshot of the store: a snapshot per
            # batch costs as much as the batch's payloads at a thousand tags.
            if reading.quality.is_bad:
                device.bad.add(reading.tag)
            elif device.bad:
                device.bad.discard(reading.tag)
            found = by_device.get(device.name)
            if found is None:
                found = by_device[device.name] = []
            found.append((definition, reading))
        for name, device_changes in by_device.items():
            device = self._devices[name]
            alive = device.has_live_tag
            now_ms = time.time_ns() // 1_000_000
            if alive and not device.alive:
                device.alive = True
                await self._device_birth(connection, device, self._store.snapshot())
                continue
            if not alive and device.alive:
                device.alive = False
                self._seq = next_seq(self._seq)
                payload = device_death_payload(seq=self._seq, timestamp_ms=now_ms)
                await connection.publish(self.topics.ddeath(name), payload)
                continue
            if not device.alive:
                continue
            self._seq = next_seq(self._seq)
            payload = data_payload(device_changes, seq=self._seq, timestamp_ms=now_ms)
            await connection.publish(self.topics.ddata(name), payload)
            self.published += len(device_changes)

    async def _keep(self, changes: list[Reading]) -> None:
        if self._outbox is None:
            return
        records = [QueuedReading.of(reading, self._metric_of[reading.tag][0].name) for reading in changes]
        await self._outbox.append(records)

    async def _replay(self, connection: MqttConnection) -> None:
        """Send what the outbox holds, oldest first, as historical data; each batch is acked once sent."""
        outbox = self._outbox
        if outbox is None or outbox.pending == 0:
            return
        replayed = 0
        while True:
            records = await outbox.peek(REPLAY_BATCH)
            if not records:
                break
            by_device: dict[str, list[tuple[MetricDefinition, Reading]]] = {}
            for _, record in records:
                found = self._metric_of.get(record.tag)
                if found is None:
                    continue  # a tag of an earlier config
                device, definition = found
                reading = Reading(record.tag, record.value, Quality(record.quality), record.source_time_ns)
                by_device.setdefault(device.name, []).append((definition, reading))
            now_ms = time.time_ns() // 1_000_000
            async with self._publishing:
                for name, device_changes in by_device.items():
                    self._seq = next_seq(self._seq)
                    payload = data_payload(
                        device_changes, seq=self._seq, timestamp_ms=now_ms, historical=True
                    )
                    await connection.publish(self.topics.ddata(name), payload)
            await outbox.ack(records[-1][0])
            replayed += len(records)
        log.info("Sparkplug: replayed %d stored readings as historical data", replayed)

    async def _read_commands(self, connection: MqttConnection) -> None:
        async for message in connection.messages():
            try:
                await self._on_message(connection, message)
            except MqttError:
                raise
            except Exception:
                log.exception("Sparkplug message on %s could not be handled", message.topic)

    async def _on_message(self, connection: MqttConnection, message: Received) -> None:
        host = self.config.primary_host_id
        if host is not None and message.topic == state_topic(host):
            self._on_state(message.payload)
            return
        parsed = parse_topic(message.topic)
        if parsed is None:
            return
        try:
            payload = decode(message.payload)
        except PayloadError as exc:
            log.warning("ignored a command on %s: %s", message.topic, exc)
            return
        if parsed.message_type == MessageType.NCMD:
            if rebirth_requested(payload) and self._connection is not None:
                log.info("Sparkplug: rebirth requested by the host")
                await self._birth(connection)
            return
        if parsed.message_type == MessageType.DCMD and parsed.device_id is not None:
            await self._device_command(parsed.device_id, payload, message.topic)

    def _on_state(self, data: bytes) -> None:
        try:
            state = json.loads(data)
            online, timestamp = bool(state["online"]), int(state.get("timestamp", 0))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a STATE message of the primary host that is not Sparkplug 3.0 JSON")
            return
        if timestamp < self._host_timestamp:
            return  # an older state delivered late
        self._host_timestamp = timestamp
        if online:
            self._host_online.set()
            return
        self._host_online.clear()
        if self._connection is not None:
            log.warning(
                "Sparkplug primary host %s is offline: ending the session", self.config.primary_host_id
            )
            self._session_over.set()

    async def _device_command(self, device_id: str, payload: Any, topic: str) -> None:
        device = self._devices.get(device_id)
        who = f"sparkplug:{self.config.group_id}"
        for metric in payload.metrics:
            definition = _find_metric(device, metric) if device is not None else None
            name = definition.name if definition is not None else (metric.name or f"alias {metric.alias}")
            if definition is None:
                audit("write", who=who, tag=name, result="BadNodeIdUnknown", topic=topic)
                continue
            if not self.config.commands:
                log.warning("refused a Sparkplug write to %s: commands are off (sparkplug.commands)", name)
                audit("write", who=who, tag=name, result="BadUserAccessDenied", topic=topic)
                continue
            if not definition.writable:
                audit("write", who=who, tag=name, result="BadNotWritable", topic=topic)
                continue
            try:
                value = written_value(metric, definition)
            except MetricValueError as exc:
                log.info("refused a Sparkplug write to %s: %s", name, exc)
                audit("write", who=who, tag=name, result=exc.quality.name, topic=topic)
                continue
            quality = await self._store.write(definition.name, value)
            audit("write", who=who, tag=name, value=value, result=quality.name, topic=topic)


def _find_metric(device: _Device, metric: Any) -> MetricDefinition | None:
    if metric.HasField("name") and metric.name:
        return device.metrics.get(metric.name)
    if metric.HasField("alias"):
        for definition in device.metrics.values():
            if definition.alias == metric.alias:
                return definition
    return None
