"""`edge-agent sparkplug watch`: every Sparkplug message on a broker, one readable line each.

For the technician at a commissioning or an outage: what the edge nodes say, as it arrives, without a
SCADA system. Births are remembered so that data messages, which carry aliases only, show metric names
and units. Nothing is ever published: the watcher is a plain subscriber with a client id of its own.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import secrets
import ssl
import sys
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config.sparkplug import BrokerAddress, TlsFiles, broker_address
from ..identity import PkiLayout
from ..quality import Quality
from .datatypes import DataType
from .mqtt import MqttError, MqttSettings, client_tls_context, connect
from .payloads import (
    ENG_UNIT,
    QUALITY,
    SPARKPLUG_GOOD,
    STATUS_CODE,
    Metric,
    MetricValue,
    MetricValueError,
    PayloadError,
    decode,
    metric_value,
    property_values,
)
from .topics import NAMESPACE, MessageType, ParsedTopic, check_id, parse_topic

DEFAULT_PKI = Path("/var/lib/edge-agent/pki")
KEEPALIVE_S = 30
_BIRTHS = frozenset({MessageType.NBIRTH, MessageType.DBIRTH})
_QUALITY_WORDS = {0: "bad", 500: "stale"}


class WatchError(Exception):
    """The watch cannot start or has ended early; the message is one line saying why."""


@dataclass(frozen=True, slots=True)
class WatchTls:
    """Where the certificates of an mqtts:// watch come from: a PKI store, overridden file by file."""

    pki: Path | None = None
    ca: Path | None = None
    certificate: Path | None = None
    private_key: Path | None = None

    def files(self) -> TlsFiles:
        if (self.certificate is None) != (self.private_key is None):
            raise WatchError("give --certificate and --private-key together")
        layout = PkiLayout(self.pki if self.pki is not None else DEFAULT_PKI)
        trusted = (self.ca,) if self.ca is not None else (layout.trusted_certs,)
        if self.certificate is not None and self.private_key is not None:
            return TlsFiles(trusted, self.certificate, self.private_key)
        return TlsFiles(trusted, layout.own_certificate, layout.private_key, (layout.issuer_certs,))


@dataclass(frozen=True, slots=True)
class WatchOptions:
    url: str
    group: str | None = None
    count: int | None = None
    """Stop after this many messages; None: until interrupted."""
    as_json: bool = False
    tls: WatchTls = field(default_factory=WatchTls)

    @property
    def filters(self) -> tuple[str, ...]:
        if self.group is None:
            return (f"{NAMESPACE}/#",)
        return (f"{NAMESPACE}/{self.group}/#", f"{NAMESPACE}/{MessageType.STATE}/+")


@dataclass(frozen=True, slots=True)
class _Known:
    name: str
    unit: str | None
    datatype: DataType | None


@dataclass
class Decoder:
    """Turns messages into records, remembering each edge node's births to name its aliases.

    Sparkplug makes aliases unique across an edge node and all its devices, so one table per node does;
    an NBIRTH starts a new session, whose births may assign them anew.
    """

    _nodes: dict[tuple[str, str], dict[int, _Known]] = field(default_factory=dict)
    _units: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def record(self, topic: str, data: bytes, received: datetime) -> dict[str, Any] | None:
        """What one message says, as a JSON-ready dict; None for a topic outside Sparkplug B."""
        parsed = parse_topic(topic)
        if parsed is None:
            return None
        record: dict[str, Any] = {"received": received.isoformat(timespec="milliseconds")}
        record["type"] = str(parsed.message_type)
        if parsed.message_type is MessageType.STATE:
            return record | {"host": parsed.host_id} | _state(data)
        assert parsed.group_id is not None and parsed.edge_node_id is not None
        record |= {"group": parsed.group_id, "node": parsed.edge_node_id}
        if parsed.device_id is not None:
            record["device"] = parsed.device_id
        try:
            payload = decode(data)
        except PayloadError as error:
            return record | {"error": str(error)}
        if payload.HasField("seq"):
            record["seq"] = payload.seq
        if payload.HasField("timestamp"):
            record["timestamp"] = payload.timestamp
        record["metrics"] = self._metrics(parsed, payload.metrics)
        return record

    def _metrics(self, parsed: ParsedTopic, metrics: Any) -> list[dict[str, Any]]:
        assert parsed.group_id is not None and parsed.edge_node_id is not None
        node = (parsed.group_id, parsed.edge_node_id)
        if parsed.message_type is MessageType.NBIRTH:
            self._nodes[node] = {}
            self._units = {key: unit for key, unit in self._units.items() if key[:2] != node}
        known = self._nodes.setdefault(node, {})
        out: list[dict[str, Any]] = []
        for metric in metrics:
            entry = _metric(metric, known, birth=parsed.message_type in _BIRTHS)
            name = entry.get("name")
            if parsed.message_type in _BIRTHS and name is not None:
                unit = entry.get("unit")
                if metric.HasField("alias"):
                    known[metric.alias] = _Known(name, unit, _datatype(metric.datatype))
                if unit is not None:
                    self._units[(*node, name)] = unit
            elif name is not None and "unit" not in entry and (*node, name) in self._units:
                entry["unit"] = self._units[(*node, name)]
            out.append(entry)
        return out


def _metric(metric: Metric, known: dict[int, _Known], *, birth: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    remembered = known.get(metric.alias) if metric.HasField("alias") and not birth else None
    if metric.name:
        entry["name"] = metric.name
    elif remembered is not None:
        entry["name"] = remembered.name
    if metric.HasField("alias"):
        entry["alias"] = metric.alias
    datatype = remembered.datatype if remembered is not None else None
    datatype = _datatype(metric.datatype) or datatype
    if datatype is not None:
        entry["datatype"] = datatype.name
    try:
        entry["value"] = _json_value(metric_value(metric, datatype))
    except MetricValueError as error:
        entry["value"] = None
        entry["error"] = str(error)
    try:
        properties = property_values(metric)
    except PayloadError as error:
        properties = {}
        entry["error"] = str(error)
    unit = properties.get(ENG_UNIT)
    if isinstance(unit, str) and unit:
        entry["unit"] = unit
    elif remembered is not None and remembered.unit is not None:
        entry["unit"] = remembered.unit
    quality = properties.get(QUALITY)
    if isinstance(quality, int) and quality != SPARKPLUG_GOOD:
        entry["quality"] = quality
    status = properties.get(STATUS_CODE)
    if isinstance(status, int):
        entry["status"] = _status_name(status)
    if metric.is_historical:
        entry["historical"] = True
    return entry


def _datatype(number: int) -> DataType | None:
    """The datatype numbered ``number``; None for Unknown (left out) and numbers past the enum."""
    try:
        datatype = DataType(number)
    except ValueError:
        return None
    return None if datatype is DataType.Unknown else datatype


def _json_value(value: MetricValue | None) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
    return value


def _status_name(code: int) -> str:
    try:
        return Quality(code).name
    except ValueError:
        return f"0x{code:08X}"


def _state(data: bytes) -> dict[str, Any]:
    """A host's STATE: JSON {"online": ..., "timestamp": ...} in 3.0; the words ONLINE/OFFLINE before it."""
    text = data.decode("utf-8", errors="replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("online"), bool):
        state: dict[str, Any] = {"online": body["online"]}
        if isinstance(body.get("timestamp"), int):
            state["timestamp"] = body["timestamp"]
        return state
    if text.upper() in ("ONLINE", "OFFLINE"):
        return {"online": text.upper() == "ONLINE"}
    return {"online": None, "error": f"not a STATE payload: {text[:60]!r}"}


def render(record: dict[str, Any]) -> str:
    """One line a person reads: time, type, where from, seq, then the metrics or the state."""
    received = datetime.fromisoformat(record["received"]).astimezone()
    parts = [received.strftime("%H:%M:%S.%f")[:-3], f"{record['type']:<6}"]
    if record["type"] == MessageType.STATE:
        online = record.get("online")
        parts += [f"host {record['host']}", "online" if online else "?" if online is None else "offline"]
    else:
        where = f"{record['group']}/{record['node']}"
        if "device" in record:
            where += f"/{record['device']}"
        parts.append(where)
        if "seq" in record:
            parts.append(f"seq={record['seq']}")
        parts += [_render_metric(entry, record["type"] in _BIRTHS) for entry in record.get("metrics", [])]
    if "error" in record:
        parts.append(f"({record['error']})")
    return " ".join(parts)


def _render_metric(entry: dict[str, Any], birth: bool) -> str:
    name = entry.get("name")
    alias = entry.get("alias")
    if name is None:
        label = f"#{alias}"
    elif birth and alias is not None:
        label = f"{name}->{alias}"
    else:
        label = name
    text = f"{label}={_render_value(entry)}"
    if "unit" in entry and entry.get("value") is not None:
        text += f" {entry['unit']}"
    notes = []
    if "quality" in entry:
        notes.append(_QUALITY_WORDS.get(entry["quality"], f"quality {entry['quality']}"))
    if "status" in entry:
        notes.append(entry["status"])
    if entry.get("historical"):
        notes.append("historical")
    if "error" in entry:
        notes.append(entry["error"])
    if notes:
        text += f" ({', '.join(notes)})"
    return text


def _render_value(entry: dict[str, Any]) -> str:
    value = entry.get("value")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and entry.get("datatype") == DataType.Float.name:
        return f"{value:.7g}"  # a 32-bit float has about 7 significant digits; more would be noise
    if isinstance(value, str) and entry.get("datatype") in (DataType.Bytes.name, None):
        return value
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _settings(options: WatchOptions) -> MqttSettings:
    try:
        address: BrokerAddress = broker_address(options.url)
    except ValueError as error:
        raise WatchError(f"broker URL {error}") from None
    if options.group is not None:
        try:
            check_id("group", options.group)
        except ValueError as error:
            raise WatchError(str(error)) from None
    context: ssl.SSLContext | None = client_tls_context(options.tls.files()) if address.tls else None
    # A client id of its own: a second watcher, or the edge node's id, would take this session over.
    client_id = f"edge-agent-watch-{secrets.token_hex(4)}"
    return MqttSettings((address,), client_id, KEEPALIVE_S, context)


async def watch(options: WatchOptions, emit: Callable[[str], None]) -> None:
    """Print (through ``emit``) every message until ``options.count`` have been, or forever.

    WatchError when the broker cannot be used or the connection ends.
    """
    try:
        settings = _settings(options)
        async with connect(settings) as connection:
            for topic in options.filters:
                await connection.subscribe(topic, qos=1)
            print(
                f"watching {', '.join(options.filters)} on {options.url} (Ctrl-C stops)",
                file=sys.stderr,
                flush=True,
            )
            decoder = Decoder()
            shown = 0
            async with aclosing(connection.messages()) as messages:
                async for message in messages:
                    record = decoder.record(message.topic, message.payload, datetime.now(UTC))
                    if record is None:
                        continue
                    emit(json.dumps(record, ensure_ascii=False) if options.as_json else render(record))
                    shown += 1
                    if options.count is not None and shown >= options.count:
                        return
    except MqttError as error:
        raise WatchError(_one_line(error)) from None


def _one_line(error: MqttError) -> str:
    attempts = getattr(error, "attempts", None)
    if attempts:
        broker, reason = attempts[0]
        return f"{broker}: {reason}"
    return str(error)


def quiet_adapter_log() -> None:
    """The adapter logs each failed broker itself; the watch says it once, on its own line."""
    adapter = logging.getLogger("edge_agent.sparkplug.mqtt")
    if not adapter.isEnabledFor(logging.DEBUG):
        adapter.setLevel(logging.ERROR)
