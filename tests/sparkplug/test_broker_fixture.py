"""The MQTT adapter against a real mosquitto: plain and mutual TLS, refused certificates both ways,
failover down the broker list, and the broker fixture itself (its user, its log, a kill and a restart)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from contextlib import aclosing
from pathlib import Path

import pytest

from edge_agent.config.sparkplug import SparkplugConfig, TlsFiles, broker_address
from edge_agent.sparkplug.mqtt import (
    BrokersUnavailable,
    ConnectionLost,
    MqttConnection,
    MqttSettings,
    Received,
    Will,
    client_tls_context,
    connect,
)
from tests.support.mosquitto import BROKER_URI, BrokerFactory, Mosquitto, Site, issue_credentials
from tests.support.ports import free_port

CLIENT_ID = "plant3/pump-skid-7"
# Only a guard against a hang: every wait below ends on an event, long before this on any machine.
GUARD_S = 30.0
ADAPTER_LOG = "edge_agent.sparkplug.mqtt"


def plain_settings(*urls: str, will: Will | None = None) -> MqttSettings:
    return MqttSettings(
        tuple(broker_address(url) for url in urls), CLIENT_ID, keepalive=30, will=will, timeout=GUARD_S
    )


def agent_settings(site: Site, *urls: str) -> MqttSettings:
    """The settings the agent makes of its `sparkplug:` section, with its own PKI store."""
    config = SparkplugConfig.model_validate(
        {"brokers": list(urls), "group_id": "plant3", "edge_node_id": "pump-skid-7"}
    )
    return MqttSettings.of(config, site.agent_pki.root, timeout=GUARD_S)


async def next_message(connection: MqttConnection) -> Received:
    async with asyncio.timeout(GUARD_S), aclosing(connection.messages()) as messages:
        return await anext(messages)


async def echo(connection: MqttConnection, topic: str, payload: bytes) -> Received:
    """Subscribe to ``topic``, publish ``payload`` to it with QoS 1, and return what comes back."""
    assert await connection.subscribe(topic, qos=1) == 1
    await connection.publish(topic, payload, qos=1)
    return await next_message(connection)


def adapter_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == ADAPTER_LOG and record.levelno >= logging.WARNING
    ]


async def test_a_plain_loopback_broker_takes_an_mqtt5_clean_session(broker: Mosquitto) -> None:
    async with connect(plain_settings(broker.plain_url)) as connection:
        received = await echo(connection, "spBv1.0/plant3/NDATA/pump-skid-7", b"\x08\x01")

    assert received == Received("spBv1.0/plant3/NDATA/pump-skid-7", b"\x08\x01", qos=1, retain=False)
    # mosquitto's own account of the CONNECT: protocol 5, clean start 1, keep alive 30 s.
    assert f"as {CLIENT_ID} (p5, c1, k30)" in broker.log()


async def test_the_agent_connects_with_its_own_pki_over_mutual_tls(broker: Mosquitto, site: Site) -> None:
    async with connect(agent_settings(site, broker.tls_url)) as connection:
        received = await echo(connection, "spBv1.0/plant3/NDATA/pump-skid-7", b"tls")

    assert received.payload == b"tls"
    # use_identity_as_username: the broker knows the agent by its certificate's common name.
    assert f"as {CLIENT_ID} (p5, c1, k30, u'pump-skid-7')" in broker.log()


async def test_the_will_is_registered_with_the_connect(broker: Mosquitto) -> None:
    will = Will("spBv1.0/plant3/NDEATH/pump-skid-7", b"\x00\x01\x02", qos=1, retain=False)

    async with connect(plain_settings(broker.plain_url, will=will)):
        pass

    log = broker.log()
    assert "Will message specified (3 bytes) (r0, q1)." in log
    assert "\tspBv1.0/plant3/NDEATH/pump-skid-7" in log


async def test_a_client_certificate_of_a_stranger_ca_is_refused_by_the_broker(
    broker: Mosquitto, site: Site, stranger: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    intruder = issue_credentials(
        stranger.ca, tmp_path / "intruder", common_name="intruder", application_uri="urn:example:intruder"
    )
    files = TlsFiles((site.ca_file,), intruder.certificate, intruder.key)
    settings = MqttSettings(
        (broker_address(broker.tls_url),), CLIENT_ID, 30, client_tls_context(files), timeout=GUARD_S
    )

    with pytest.raises(BrokersUnavailable) as refused:
        async with connect(settings):
            pass

    reason = "the broker refused our client certificate (tlsv1 alert unknown ca)"
    assert refused.value.attempts == ((broker_address(broker.tls_url), reason),)
    assert adapter_warnings(caplog) == [f"MQTT broker {broker.tls_url} cannot be used: {reason}"]
    assert "certificate verify failed" in broker.log()
    assert "intruder" not in broker.log()


async def test_a_broker_certificate_of_a_stranger_ca_is_refused_by_the_agent_in_one_log_line(
    start_broker: BrokerFactory, site: Site, stranger: Site, caplog: pytest.LogCaptureFixture
) -> None:
    impostor = start_broker(server=stranger.broker)

    with pytest.raises(BrokersUnavailable):
        async with connect(agent_settings(site, impostor.tls_url)):
            pass

    assert adapter_warnings(caplog) == [
        f"MQTT broker {impostor.tls_url} cannot be used: "
        "broker certificate not trusted: unable to get local issuer certificate"
    ]


async def test_a_broker_certificate_for_another_host_is_refused(
    start_broker: BrokerFactory, site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A certificate of the right CA, for localhost only: reached as 127.0.0.1, the broker is not the host
    # its certificate names.
    localhost_only = issue_credentials(
        site.ca,
        tmp_path / "localhost",
        common_name="localhost",
        application_uri=BROKER_URI,
        dns=("localhost",),
    )
    broker = start_broker(server=localhost_only)

    with pytest.raises(BrokersUnavailable):
        async with connect(agent_settings(site, broker.tls_url)):
            pass

    assert adapter_warnings(caplog) == [
        f"MQTT broker {broker.tls_url} cannot be used: broker certificate does not name 127.0.0.1: "
        "give the broker's URL with a host name or address its certificate lists"
    ]


async def test_failover_skips_a_dead_broker_and_connects_to_the_next(
    broker: Mosquitto, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"mqtts://127.0.0.1:{free_port()}"

    async with connect(agent_settings(site, dead, broker.tls_url)) as connection:
        assert connection.broker == broker_address(broker.tls_url)
        assert (await echo(connection, "failover/check", b"second")).payload == b"second"

    assert adapter_warnings(caplog) == [
        f"MQTT broker {dead} cannot be used: connection refused: nothing listens on 127.0.0.1 port "
        f"{broker_address(dead).port}"
    ]


async def test_failover_skips_an_untrusted_broker_too(
    start_broker: BrokerFactory, broker: Mosquitto, site: Site, stranger: Site
) -> None:
    impostor = start_broker(server=stranger.broker)

    async with connect(agent_settings(site, impostor.tls_url, broker.tls_url)) as connection:
        assert connection.broker == broker_address(broker.tls_url)


async def test_when_no_broker_answers_each_reason_is_given(site: Site) -> None:
    first, second = (f"mqtts://127.0.0.1:{free_port()}" for _ in range(2))

    with pytest.raises(BrokersUnavailable) as unavailable:
        async with connect(agent_settings(site, first, second)):
            pass

    assert [broker.url for broker, _ in unavailable.value.attempts] == [first, second]
    assert str(unavailable.value).startswith(f"no MQTT broker could be used ({first}: connection refused")


async def test_a_broker_that_never_answers_is_given_up_and_its_connection_closed() -> None:
    # A port that takes the connection and then says nothing, like a broker stuck under load.
    connected = asyncio.Event()
    closed = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        while await reader.read(1024):
            pass
        closed.set()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = dataclasses.replace(plain_settings(f"mqtt://127.0.0.1:{port}"), timeout=0.2)
    async with server:
        with pytest.raises(BrokersUnavailable) as unavailable:
            async with connect(settings):
                pass
        # Given up, the connection is closed: a late CONNACK must not leave a session with our will.
        async with asyncio.timeout(GUARD_S):
            await closed.wait()

    assert connected.is_set()
    assert unavailable.value.attempts[0][1] == "no answer within 0.2 s"


async def test_a_killed_broker_ends_the_connection_and_comes_back_on_the_same_port(
    broker: Mosquitto,
) -> None:
    settings = plain_settings(broker.plain_url)
    async with connect(settings) as connection:
        await connection.subscribe("outage/#")
        broker.kill()
        with pytest.raises(
            ConnectionLost, match=f"lost MQTT broker {broker.plain_url}: the connection was closed"
        ):
            await next_message(connection)

    broker.start()
    async with connect(settings) as connection:
        assert (await echo(connection, "outage/over", b"back")).payload == b"back"


def test_the_broker_runs_as_the_current_user_and_logs_to_a_file(broker: Mosquitto) -> None:
    # As root, mosquitto would drop to the user `mosquitto` unless told otherwise, and then could not
    # read the certificates in the test's private directory.
    assert broker.pid is not None
    status = Path(f"/proc/{broker.pid}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == [str(os.geteuid())] * 4
    assert "mosquitto version" in broker.log()


def test_restart_keeps_the_ports(broker: Mosquitto) -> None:
    ports = (broker.plain_port, broker.tls_port)

    broker.restart()

    assert broker.running
    assert (broker.plain_port, broker.tls_port) == ports
