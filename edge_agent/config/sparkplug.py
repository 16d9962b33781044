"""The `sparkplug:` section: the agent as a Sparkplug B 3.0 edge node on one or more MQTT brokers.

Sparkplug fixes the MQTT QoS of every message it defines (births and data 0, the NDEATH will 1, the
subscriptions to NCMD, DCMD and STATE 1), so the section has no QoS key: a different one would make
the node non-conformant, not more reliable.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, WithJsonSchema, field_validator, model_validator

from edge_agent.identity.layout import PkiLayout

from .opcua import _relative_to_config, is_loopback
from .sizes import ByteSize, size_between
from .vocabulary import ConfigModel, Duration, at_least, config_error, format_duration, invalid, shown

TLS_PORT = 8883
PLAIN_PORT = 1883
_URL_FORM = "mqtts://HOST[:PORT]"
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# MQTT's keep alive is a 16-bit count of seconds; 0 would turn it off, and with it the broker's only way
# to notice a dead node and publish its NDEATH.
_KEEPALIVE_MAX_S = 65535

# Sparkplug 3.0 (tck-id-topic-structure-namespace-valid-group-id and -valid-edge-node-id; a host ID is a
# topic level too): any UTF-8 string but for the MQTT wildcards and the topic level separator. Control
# characters are refused as well: MQTT 5 (1.5.4) forbids U+0000 and says U+0001..U+001F and
# U+007F..U+009F should not be sent, and a broker may drop a client that does.
_SPARKPLUG_RESERVED = "+/#"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SPARKPLUG_ID_PATTERN = r"^[^+/#\x00-\x1f\x7f-\x9f]+$"


def _check_sparkplug_id(value: str) -> str:
    if not value:
        raise invalid("sparkplug_id", "must not be empty")
    reserved = sorted({char for char in value if char in _SPARKPLUG_RESERVED})
    if reserved:
        listed = ", ".join(f"'{char}'" for char in reserved)
        raise invalid(
            "sparkplug_id",
            f"must not hold {listed}: '+', '/' and '#' are reserved in MQTT topics (got {shown(value)})",
        )
    if _CONTROL.search(value):
        raise invalid("sparkplug_id", f"must not hold control characters (got {shown(value)})")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid("sparkplug_id", f"must be valid UTF-8 text (got {shown(value)})") from None
    return value


SparkplugId = Annotated[
    str,
    AfterValidator(_check_sparkplug_id),
    WithJsonSchema({"type": "string", "pattern": SPARKPLUG_ID_PATTERN}),
]
"""A Sparkplug group, edge node or host ID: an MQTT topic level, so any text but '+', '/' and '#'."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where one broker listens, read from its ``mqtts://`` or ``mqtt://`` URL."""

    url: str
    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return self.url


def broker_address(url: str) -> BrokerAddress:
    """The broker at ``url`` (``mqtts://HOST[:PORT]`` or ``mqtt://HOST[:PORT]``); ValueError with the
    reason if it is not one. The one reading of a broker URL: the config checks with it and the MQTT
    client connects by it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtts", "mqtt") or not parts.netloc:
        raise ValueError(f"must look like {_URL_FORM} (got {shown(url)})")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold a user name or password: the agent logs in with its certificate")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"must be just {_URL_FORM}, without a path, query or fragment (got {shown(url)})")
    host = parts.hostname or ""
    if not _is_host(host):
        raise ValueError(f"must name a host name or IP address, like {_URL_FORM} (got {shown(url)})")
    try:
        port = parts.port
    except ValueError:
        port = 0
    tls = parts.scheme == "mqtts"
    if port is None:
        port = TLS_PORT if tls else PLAIN_PORT
    if not 1 <= port <= 65535:
        raise ValueError(f"the port must be from 1 to 65535 (got {shown(url)})")
    return BrokerAddress(url.strip(), host, port, tls)


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        name = host.removesuffix(".")
        return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))
    return True


def _check_broker_url(url: str) -> str:
    try:
        broker_address(url)
    except ValueError as exc:
        raise invalid("broker_url", str(exc)) from None
    return url.strip()


BrokerUrl = Annotated[
    str,
    AfterValidator(_check_broker_url),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^mqtts?://",
            "examples": ["mqtts://broker.plant:8883", "mqtt://127.0.0.1:1883"],
        }
    ),
]
"""An MQTT broker's URL: mqtts://HOST[:PORT] (TLS, port 8883 by default) or mqtt://HOST[:PORT] (1883)."""


def _whole_seconds(seconds: float) -> float:
    if seconds != int(seconds):
        raise invalid("duration_whole_seconds", f"must be whole seconds (got {format_duration(seconds)})")
    if seconds > _KEEPALIVE_MAX_S:
        raise invalid(
            "duration_too_long", f"must be at most {_KEEPALIVE_MAX_S}s (got {format_duration(seconds)})"
        )
    return seconds


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The files an MQTT client's TLS context is made of, with the PKI store's defaults filled in."""

    trusted: tuple[Path, ...]
    """CA certificates (files, or directories of them) the broker's certificate must chain to."""
    certificate: Path
    """The agent's certificate (PEM or DER), shown to the broker."""
    private_key: Path
    """Its private key (PEM)."""
    issuers: tuple[Path, ...] = ()
    """CA certificates (files or directories) sent along with ours when they complete its chain."""


class SparkplugTls(ConfigModel):
    """The certificates of the TLS connections; by default the agent's own, from its PKI store."""

    ca: Path | None = None
    """The CA certificates a broker's certificate must chain to: a PEM or DER file, or a directory of
    them; default the PKI store's trust list (trusted/certs)."""
    certificate: Path | None = None
    """The agent's client certificate (PEM or DER); default the PKI store's own/cert.der."""
    private_key: Path | None = None
    """The key of that certificate (PEM); default the PKI store's private/key.pem."""

    @field_validator("ca", "certificate", "private_key")
    @classmethod
    def _resolve(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        return None if path is None else _relative_to_config(path, info)

    @model_validator(mode="after")
    def _certificate_with_its_key(self) -> SparkplugTls:
        if (self.certificate is None) != (self.private_key is None):
            given, missing = (
                ("certificate", "private_key") if self.private_key is None else ("private_key", "certificate")
            )
            raise config_error(
                f"give {missing} as well: a {given.replace('_', ' ')} from elsewhere cannot pair with the "
                "PKI store's",
                (given,),
            )
        return self

    def files(self, pki: Path) -> TlsFiles:
        """The files to use, with what is not given taken from the PKI store at ``pki`` (opcua.pki)."""
        layout = PkiLayout(pki)
        issuers: tuple[Path, ...]
        if self.certificate is None or self.private_key is None:
            certificate, key, issuers = layout.own_certificate, layout.private_key, (layout.issuer_certs,)
        else:
            certificate, key, issuers = self.certificate, self.private_key, ()
        trusted = (self.ca,) if self.ca is not None else (layout.trusted_certs,)
        return TlsFiles(trusted, certificate, key, issuers)


class SparkplugInsecure(ConfigModel):
    """Relaxed security for a demo or a bench; allowed only with brokers on this machine."""

    plaintext: bool = False
    """Allow mqtt:// (no TLS) brokers on a loopback address: everything, commands too, in the clear."""


class StoreAndForward(ConfigModel):
    """Data kept on disk while no broker or no primary host takes it, sent once one does."""

    database: Path = Path("/var/lib/edge-agent/sparkplug-outbox.sqlite")
    """The SQLite file of the queue; a relative path is taken from the config file's directory."""
    max_size: Annotated[ByteSize, size_between("1MB", "1000GB")] = Field(
        default="100MB", validate_default=True
    )
    """About the most disk space the queue takes; when full, the oldest data makes room for new."""

    @field_validator("database")
    @classmethod
    def _resolve(cls, path: Path, info: ValidationInfo) -> Path:
        return _relative_to_config(path, info)


class SparkplugConfig(ConfigModel):
    """The agent as a Sparkplug B 3.0 edge node."""

    brokers: Annotated[list[BrokerUrl], Field(min_length=1)]
    """The MQTT brokers, tried in this order: mqtts://HOST[:PORT]; mqtt:// only on loopback and with
    insecure.plaintext."""
    group_id: SparkplugId
    """The Sparkplug group of this edge node, the second level of its topics."""
    edge_node_id: SparkplugId
    """This edge node's ID, unique within its group."""
    primary_host_id: SparkplugId | None = None
    """The host ID of the primary host application: data goes out only while its STATE says online."""
    client_id: Annotated[str, Field(min_length=1, max_length=65535)] | None = None
    """The MQTT client identifier; default <group_id>/<edge_node_id>."""
    keepalive: Annotated[Duration, at_least("1s"), AfterValidator(_whole_seconds)] = Field(
        default="30s", validate_default=True
    )
    """The MQTT keep alive: the broker declares the node dead (NDEATH) after 1.5 times this in silence."""
    commands: bool = False
    """Carry out writes of NCMD and DCMD messages to writable tags; false: refused, and logged."""
    store_and_forward: StoreAndForward | None = None
    """Keep data on disk while it cannot be delivered; none: such data is dropped."""
    tls: SparkplugTls = Field(default_factory=SparkplugTls)
    """The certificates for mqtts:// brokers."""
    insecure: SparkplugInsecure | None = None
    """Relaxations for demos, only with brokers on this machine."""

    @field_validator("brokers")
    @classmethod
    def _each_broker_once(cls, brokers: list[str]) -> list[str]:
        seen: list[BrokerAddress] = []
        for index, url in enumerate(brokers):
            address = broker_address(url)
            if any((earlier.host, earlier.port) == (address.host, address.port) for earlier in seen):
                raise config_error(f"broker {address.host}:{address.port} is listed twice", (index,))
            seen.append(address)
        return brokers

    @field_validator("client_id")
    @classmethod
    def _client_id_text(cls, client_id: str | None) -> str | None:
        if client_id is not None and "\x00" in client_id:
            raise invalid("client_id", "must not hold the character U+0000")
        return client_id

    @model_validator(mode="after")
    def _plaintext_only_on_loopback(self) -> SparkplugConfig:
        allowed = self.insecure is not None and self.insecure.plaintext
        for index, address in enumerate(self.broker_addresses):
            if address.tls:
                continue
            if not is_loopback(address.host):
                raise config_error(
                    f"mqtt:// (no TLS) is only allowed for a broker on this machine (mqtt://127.0.0.1); "
                    f"use mqtts://{_host_in_url(address.host)}:{TLS_PORT}",
                    ("brokers", index),
                )
            if not allowed:
                raise config_error(
                    "mqtt:// sends everything unencrypted; use mqtts://, or for a broker on this machine "
                    "set insecure: {plaintext: true}",
                    ("brokers", index),
                )
        return self

    @property
    def broker_addresses(self) -> list[BrokerAddress]:
        return [broker_address(url) for url in self.brokers]

    @property
    def mqtt_client_id(self) -> str:
        # '/' can be in neither ID, so the pair cannot be read two ways.
        return self.client_id if self.client_id is not None else f"{self.group_id}/{self.edge_node_id}"

    @property
    def plaintext(self) -> bool:
        """Whether any broker is reached without TLS, which is logged as insecure at every connection."""
        return any(not address.tls for address in self.broker_addresses)

    def tls_files(self, pki: Path) -> TlsFiles:
        """The TLS files, with the agent's PKI store (opcua.pki) filling in what the section leaves out."""
        return self.tls.files(pki)


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
