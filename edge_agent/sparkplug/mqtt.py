"""The MQTT connection of the edge node: the first broker of a list that answers, over aiomqtt.

aiomqtt neither reconnects nor fails over; the session above this module owns both and calls
``connect`` again when a connection ends. Each call is one try down the broker list, a new MQTT 5 session
each time (clean start, no session kept on the broker), as Sparkplug wants: the state is rebuilt by the
births, not by the broker.

A broker that cannot be used is reported in one line that says why, in the words of the person who
fixes it ("broker certificate not trusted: ...", "the broker refused our client certificate ..."),
rather than as an SSL traceback or a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from cryptography import x509
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ..config.sparkplug import BrokerAddress, SparkplugConfig, TlsFiles
from ..identity.certificate_files import CertificateFileError, certificates_in, der, load_chain

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TIMEOUT_S = 10.0
# OpenSSL's verify codes for a certificate that names neither the host name nor the address connected to.
_HOST_MISMATCH = {62, 64}
# TLS alerts a server sends when it will not take the client's certificate.
_CLIENT_CERTIFICATE_ALERTS = {
    "TLSV1_ALERT_UNKNOWN_CA",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
}
_SSL_TEXT = re.compile(r"^\[[^\]]*\]\s*(.*?)\s*(\(_ssl\.c:\d+\))?$")
_UNSPECIFIED_ERROR = 0x80


class MqttError(Exception):
    """The MQTT connection cannot be made or has ended; the message is one line saying why."""


class TlsSetupError(MqttError):
    """The TLS context cannot be made from the configured files."""


class BrokersUnavailable(MqttError):
    """No broker of the list could be used; ``attempts`` says why for each."""

    def __init__(self, attempts: Sequence[tuple[BrokerAddress, str]]) -> None:
        self.attempts = tuple(attempts)
        tried = "; ".join(f"{broker}: {reason}" for broker, reason in self.attempts)
        super().__init__(f"no MQTT broker could be used ({tried})")


class ConnectionLost(MqttError):
    """The broker connection ended while in use; it is logged already, with its reason."""


@dataclass(frozen=True, slots=True)
class Will:
    """The message the broker publishes for the client when its connection ends without a DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """How to connect: the brokers in failover order, and what every connection to them carries."""

    brokers: tuple[BrokerAddress, ...]
    client_id: str
    keepalive: int
    """Seconds."""
    tls: ssl.SSLContext | None = None
    """For the mqtts:// brokers; required when there is one."""
    will: Will | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    """How long to wait for a broker's answer: to the CONNECT, a subscription, a QoS 1 publish."""

    def __post_init__(self) -> None:
        if not self.brokers:
            raise ValueError("no broker to connect to")
        if self.tls is None and any(broker.tls for broker in self.brokers):
            raise ValueError("an mqtts:// broker needs a TLS context")

    @classmethod
    def of(
        cls, config: SparkplugConfig, pki: Path, will: Will | None = None, timeout: float = DEFAULT_TIMEOUT_S
    ) -> MqttSettings:
        """The settings of the `sparkplug:` section, with TLS files defaulting to the PKI store ``pki``."""
        brokers = tuple(config.broker_addresses)
        tls = client_tls_context(config.tls_files(pki)) if any(broker.tls for broker in brokers) else None
        return cls(brokers, config.mqtt_client_id, int(config.keepalive), tls, will, timeout)


@dataclass(frozen=True, slots=True)
class Received:
    """A message from a subscription."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class MqttConnection:
    """A connected MQTT session on one broker; made by ``connect``."""

    def __init__(self, client: aiomqtt.Client, broker: BrokerAddress, watch: _SocketErrors) -> None:
        self._client = client
        self._watch = watch
        self._lost_reason: str | None = None
        self.broker = broker

    async def publish(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> None:
        """Publish; with QoS 1, return once the broker has acknowledged it."""
        try:
            await _keeping_cancellation(self._client.publish(topic, payload, qos=qos, retain=retain))
        except aiomqtt.MqttError as exc:
            raise self._lost(exc) from exc

    async def subscribe(self, topic: str, *, qos: int = 1) -> int:
        """Subscribe to ``topic``; the QoS the broker granted. MqttError if it refused."""
        try:
            granted = await _keeping_cancellation(self._client.subscribe(topic, qos=qos))
        except aiomqtt.MqttError as exc:
            raise self._lost(exc) from exc
        code = granted[0]
        if isinstance(code, ReasonCode):
            if code.is_failure:
                raise MqttError(f"broker {self.broker} refused the subscription to {topic}: {code}")
            return int(code.value)
        return int(code)

    async def messages(self) -> AsyncGenerator[Received, None]:
        """The messages of the subscriptions, as they arrive; ConnectionLost when the connection ends."""
        try:
            async for message in self._client.messages:
                payload = message.payload
                data = payload if isinstance(payload, bytes) else str(payload or "").encode()
                yield Received(message.topic.value, data, message.qos, message.retain)
        except aiomqtt.MqttError as exc:
            raise self._lost(exc) from exc

    def _lost(self, exc: aiomqtt.MqttError) -> ConnectionLost:
        # A publish and the message reader both see the same end: it is logged once.
        if self._lost_reason is None:
            error = self._watch.error or _os_error(exc)
            reason = _reason(error, self.broker, self._client.timeout) if error else _disconnect_reason(exc)
            log.warning("lost MQTT broker %s: %s", self.broker, reason)
            self._lost_reason = reason
        return ConnectionLost(f"lost MQTT broker {self.broker}: {self._lost_reason}")


@contextlib.asynccontextmanager
async def connect(settings: MqttSettings) -> AsyncIterator[MqttConnection]:
    """Connect to the first broker of ``settings.brokers`` that takes the connection, in order.

    Each broker that cannot be used is logged with its reason; BrokersUnavailable when none can.
    Leaving the context disconnects cleanly, so the broker does not publish the will.
    """
    attempts: list[tuple[BrokerAddress, str]] = []
    for broker in settings.brokers:
        watch = _SocketErrors(asyncio.get_running_loop())
        client = _client(settings, broker, watch.logger)
        try:
            await _connect(client, watch, broker)
        except _Refused as refused:
            log.warning("MQTT broker %s cannot be used: %s", broker, refused.reason)
            attempts.append((broker, refused.reason))
            continue
        log.info("connected to MQTT broker %s as %r", broker, settings.client_id)
        if not broker.tls:
            log.warning(
                "INSECURE: MQTT broker %s is reached without TLS (sparkplug.insecure.plaintext): "
                "data and commands go in the clear",
                broker,
            )
        try:
            yield MqttConnection(client, broker, watch)
        finally:
            with contextlib.suppress(aiomqtt.MqttError):
                await _keeping_cancellation(client.__aexit__(None, None, None))
        return
    raise BrokersUnavailable(attempts)


async def _keeping_cancellation(call: Awaitable[T]) -> T:
    """Await an aiomqtt call without losing a cancellation to it.

    aiomqtt waits with asyncio.wait_for, which before Python 3.12 returns the call's result when the call
    completes in the same loop step as the waiting task is cancelled, and drops the cancellation (CPython
    gh-86296). A stopped edge node would then go on waiting for its next change, forever. A cancellation
    requested while the call ran and not delivered is raised here.
    """
    task = asyncio.current_task()
    requested = task.cancelling() if task is not None else 0
    result = await call
    if task is not None and task.cancelling() > requested:
        raise asyncio.CancelledError
    return result


def _client(settings: MqttSettings, broker: BrokerAddress, logger: logging.Logger) -> aiomqtt.Client:
    will = settings.will
    properties = Properties(PacketTypes.CONNECT)
    # Said outright rather than left to the default: the session ends with the connection, so a
    # reconnect never inherits subscriptions or queued messages from before.
    properties.SessionExpiryInterval = 0
    return aiomqtt.Client(
        broker.host,
        broker.port,
        identifier=settings.client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=True,
        properties=properties,
        keepalive=settings.keepalive,
        timeout=settings.timeout,
        tls_context=settings.tls if broker.tls else None,
        will=None if will is None else aiomqtt.Will(will.topic, will.payload, will.qos, will.retain),
        logger=logger,
        # paho leaves Nagle's algorithm on: the DDATA messages after the first of a burst would then wait
        # for the broker's delayed ACK (up to 40 ms on Linux), which is most of a reading's latency.
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _connect(client: aiomqtt.Client, watch: _SocketErrors, broker: BrokerAddress) -> None:
    """Enter ``client``; _Refused with the reason when the broker cannot be used.

    aiomqtt notices a connection that ends before the broker's CONNACK (a broker refusing our client
    certificate ends it so) only when its timeout runs out; the socket error paho logs ends the wait.
    """
    entering = asyncio.ensure_future(client.__aenter__())
    failing = asyncio.ensure_future(watch.failed.wait())
    try:
        await asyncio.wait({entering, failing}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        # Cancelled while connecting: no half-open session may stay behind.
        entering.cancel()
        _abandon(client)
        raise
    finally:
        failing.cancel()
    if entering.done():
        try:
            entering.result()
        except aiomqtt.MqttError as exc:
            _abandon(client)
            error = watch.error or _os_error(exc)
            raise _Refused(_reason(error or exc, broker, client.timeout)) from None
        return
    entering.cancel()
    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
        await entering
    _abandon(client)
    assert watch.error is not None
    raise _Refused(_reason(watch.error, broker, client.timeout))


def _abandon(client: aiomqtt.Client) -> None:
    """Close what is left of a connection that failed before CONNACK.

    aiomqtt leaves the socket (and its keep alive) open when its wait times out; a CONNACK arriving late
    would then hold a second session with our will on a broker we gave up on. aiomqtt offers no way to
    drop it, so paho's client underneath is asked to disconnect.
    """
    with contextlib.suppress(Exception):
        client._client.disconnect()


class _SocketErrors(logging.Handler):
    """Hears paho's log for the socket error that ends a connection, the only place paho reports it.

    paho logs it with the exception as an argument; the first one is kept, and ``failed`` is set on the
    event loop (paho may log from aiomqtt's connect thread).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.WARNING)
        self._loop = loop
        self.error: OSError | None = None
        self.failed = asyncio.Event()
        # A logger of this connection's own, outside the logging tree: paho's messages reach the
        # agent's log through this module's one line per failure, not twice.
        self.logger = logging.Logger(f"{__name__}.paho", logging.WARNING)
        self.logger.addHandler(self)
        self.logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        error = next((arg for arg in args if isinstance(arg, OSError)), None)
        log.debug("paho: %s", record.getMessage())
        if error is None or self.error is not None:
            return
        self.error = error
        self._loop.call_soon_threadsafe(self.failed.set)


def _os_error(exc: BaseException) -> OSError | None:
    """The socket or TLS error behind an aiomqtt error (aiomqtt re-raises it as text only)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and not isinstance(seen, TimeoutError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _reason(error: BaseException, broker: BrokerAddress, timeout: float) -> str:
    """Why ``broker`` cannot be used, in one line."""
    if isinstance(error, ssl.SSLCertVerificationError):
        message = error.verify_message or _ssl_text(error)
        if error.verify_code in _HOST_MISMATCH:
            return (
                f"broker certificate does not name {broker.host}: give the broker's URL with a host name or "
                "address its certificate lists"
            )
        return f"broker certificate not trusted: {message}"
    if isinstance(error, ssl.SSLError):
        if error.reason in _CLIENT_CERTIFICATE_ALERTS:
            return f"the broker refused our client certificate ({_ssl_text(error)})"
        if error.reason == "WRONG_VERSION_NUMBER":
            return f"TLS failed ({_ssl_text(error)}): is {broker.port} a plain mqtt:// port?"
        return f"TLS failed: {_ssl_text(error)}"
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused: nothing listens on {broker.host} port {broker.port}"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve {broker.host}: {error.strerror}"
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    if isinstance(error, MqttConnectError):
        return f"the broker refused the connection: {error.rc}"
    if isinstance(error, aiomqtt.MqttError) and str(error) == "Operation timed out":
        return f"no answer within {timeout:g} s"
    return str(error) or type(error).__name__


def _disconnect_reason(exc: aiomqtt.MqttError) -> str:
    """What ended a connection that no socket error ended: the broker's reason, if it gave one."""
    code = getattr(exc.__cause__, "rc", None)
    # paho reports a connection that simply closed as "Unspecified error", which says nothing.
    if isinstance(code, ReasonCode) and code.value != _UNSPECIFIED_ERROR:
        return f"the broker ended the session: {str(code).lower()}"
    return "the connection was closed"


def _ssl_text(error: ssl.SSLError) -> str:
    """An SSL error's words without OpenSSL's library tag and source line."""
    text = str(error.args[1]) if len(error.args) > 1 else str(error)
    match = _SSL_TEXT.match(text)
    return match.group(1) if match and match.group(1) else text


def client_tls_context(files: TlsFiles) -> ssl.SSLContext:
    """A TLS client context of the agent's certificate and trust list: TLS 1.2 or newer, the broker's
    certificate checked against ``files.trusted`` only and against the host name it is reached by.

    TlsSetupError, one line naming the file, when a file is missing or unfit.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # As in an OPC UA trust list, whatever is in trusted/certs is trusted: an issuing CA below a root,
    # or one broker's own certificate, need not chain further.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    anchors = _certificates_in(files.trusted, "trusted CA certificates")
    if not anchors:
        where = ", ".join(str(path) for path in files.trusted)
        raise TlsSetupError(f"no trusted CA certificate in {where}: no broker certificate could be checked")
    context.load_verify_locations(cadata=b"".join(der(certificate) for certificate in anchors))
    _load_own_certificate(context, files)
    return context


def _load_own_certificate(context: ssl.SSLContext, files: TlsFiles) -> None:
    chain = _certificates_in([files.certificate], "client certificate")
    chain += _issuers_of(chain[-1], _certificates_in(files.issuers, "issuer certificates", required=False))
    if not files.private_key.is_file():
        raise TlsSetupError(f"private key {files.private_key}: no such file")
    try:
        load_chain(context, chain, files.private_key)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsSetupError(
                f"private key {files.private_key} is not the key of {files.certificate}"
            ) from None
        raise TlsSetupError(
            f"private key {files.private_key} cannot be used: {_ssl_text(exc)} (an unencrypted PEM key "
            "is needed)"
        ) from None
    except OSError as exc:
        raise TlsSetupError(f"private key {files.private_key}: {exc.strerror}") from None


def _issuers_of(
    certificate: x509.Certificate, candidates: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    """The CAs among ``candidates`` that lead from ``certificate`` up to a root, the root left out."""
    chain: list[x509.Certificate] = []
    current = certificate
    while current.issuer != current.subject:
        issuer = next((c for c in candidates if c.subject == current.issuer and c not in chain), None)
        if issuer is None or issuer.issuer == issuer.subject:
            break
        chain.append(issuer)
        current = issuer
    return chain


def _certificates_in(paths: Iterable[Path], what: str, *, required: bool = True) -> list[x509.Certificate]:
    try:
        return certificates_in(paths, what, required=required)
    except CertificateFileError as exc:
        raise TlsSetupError(str(exc)) from None
