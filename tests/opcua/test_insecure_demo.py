"""The loopback demo: None policy and anonymous reading, opted into and announced."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, Node, ua
from asyncua.ua.uaerrors import BadUserAccessDenied

from edge_agent.config.opcua import OpcUaConfig
from edge_agent.opcua import AgentOpcUaServer
from edge_agent.quality import Quality
from edge_agent.tags import Reading
from edge_agent.tagstore import TagStore
from tests.support.opcua import (
    TAGS,
    ClientIdentity,
    OneOperator,
    RecordingWriter,
    ServerFactory,
    log_in_as_operator,
    opcua_config,
    serving,
    tag_node,
    tag_store,
)

# The anonymous clients write nothing and read only what their test published first: the tests share one
# demo server. Its store and writer are the module's ``store`` and ``writer``; the tests that start a
# server of their own serve them too.
pytestmark = pytest.mark.asyncio(loop_scope="module")

NOTIFICATION_DEADLINE_S = 10
SOURCE_TIME = datetime(2030, 5, 17, 8, 30, 15, 123456, tzinfo=UTC)
SOURCE_TIME_NS = int(SOURCE_TIME.timestamp()) * 1_000_000_000 + 123_456_000


def demo_config(pki: Path) -> OpcUaConfig:
    return opcua_config(pki, security=["Basic256Sha256"], none_policy=True, anonymous_read=True)


@pytest.fixture(scope="module")
def demo_writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture
def writer(demo_writer: RecordingWriter) -> RecordingWriter:
    demo_writer.reset()
    return demo_writer


@pytest.fixture(scope="module")
def store(demo_writer: RecordingWriter) -> TagStore:
    return tag_store(demo_writer)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_server(
    tmp_path_factory: pytest.TempPathFactory, store: TagStore
) -> AsyncIterator[AgentOpcUaServer]:
    async with serving(demo_config(tmp_path_factory.mktemp("pki")), store) as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module")
async def anonymous_client(demo_server: AgentOpcUaServer) -> AsyncIterator[Client]:
    async with Client(demo_server.endpoint_url, timeout=10) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def untouched_client(tmp_path: Path) -> AsyncIterator[Client]:
    """An anonymous client of a demo server of its own, whose tags nobody has published to."""
    async with (
        serving(demo_config(tmp_path / "pki"), tag_store(RecordingWriter())) as server,
        Client(server.endpoint_url, timeout=10) as client,
    ):
        yield client


async def test_anonymous_client_reads_every_tag(store: TagStore, anonymous_client: Client) -> None:
    published = {
        "motor_temperature": 71.5,
        "speed_setpoint": 1450,
        "door_open": True,
        "state_text": "running",
    }
    for tag, value in published.items():
        store.publish(Reading(tag, value))

    read = {info.name: await (await tag_node(anonymous_client, info.name)).read_value() for info in TAGS}

    assert read == published


async def test_reading_appears_with_its_status_code_and_source_timestamp(
    store: TagStore, anonymous_client: Client
) -> None:
    store.publish(Reading("motor_temperature", 71.5, Quality.UncertainLastUsableValue, SOURCE_TIME_NS))

    value = await (await tag_node(anonymous_client, "motor_temperature")).read_data_value(
        raise_on_bad_status=False
    )

    assert (value.Value.Value, value.StatusCode.value, value.SourceTimestamp) == (
        71.5,
        Quality.UncertainLastUsableValue,
        SOURCE_TIME,
    )


async def test_bad_reading_shows_bad_status_and_keeps_the_last_value(
    store: TagStore, anonymous_client: Client
) -> None:
    store.publish(Reading("motor_temperature", 71.5))
    store.publish(Reading("motor_temperature", None, Quality.BadNoCommunication))

    value = await (await tag_node(anonymous_client, "motor_temperature")).read_data_value(
        raise_on_bad_status=False
    )

    assert (value.Value.Value, value.StatusCode.value) == (71.5, Quality.BadNoCommunication)


async def test_reading_the_tag_type_cannot_carry_shows_type_mismatch(
    store: TagStore, anonymous_client: Client
) -> None:
    store.publish(Reading("speed_setpoint", 1450.5))

    value = await (await tag_node(anonymous_client, "speed_setpoint")).read_data_value(
        raise_on_bad_status=False
    )

    assert value.StatusCode.value == Quality.BadTypeMismatch


async def test_tag_waits_for_initial_data_until_its_first_reading(untouched_client: Client) -> None:
    value = await (await tag_node(untouched_client, "door_open")).read_data_value(raise_on_bad_status=False)

    assert value.StatusCode.value == Quality.BadWaitingForInitialData


class DataChanges:
    """A subscription handler that queues every data change it is told of."""

    def __init__(self) -> None:
        self.values: asyncio.Queue[ua.DataValue] = asyncio.Queue()

    def datachange_notification(self, node: Node, value: Any, data: Any) -> None:
        self.values.put_nowait(data.monitored_item.Value)

    async def next(self) -> ua.DataValue:
        return await asyncio.wait_for(self.values.get(), NOTIFICATION_DEADLINE_S)


async def test_subscription_is_notified_of_each_new_reading(
    store: TagStore, anonymous_client: Client
) -> None:
    store.publish(Reading("speed_setpoint", 1000))
    changes = DataChanges()
    subscription = await anonymous_client.create_subscription(20, changes)
    await subscription.subscribe_data_change(await tag_node(anonymous_client, "speed_setpoint"))
    initial = await changes.next()

    store.publish(Reading("speed_setpoint", 1200))
    store.publish(Reading("speed_setpoint", None, Quality.BadTimeout))
    notified = [await changes.next(), await changes.next()]

    assert [(value.Value.Value, value.StatusCode.value) for value in [initial, *notified]] == [
        (1000, Quality.Good),
        (1200, Quality.Good),
        (1200, Quality.BadTimeout),
    ]


async def test_a_client_certificate_sent_on_the_none_channel_is_ignored(
    demo_server: AgentOpcUaServer, client_identity: ClientIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    """OPC UA Part 4, CreateSession: with the None policy the server ignores the client's certificate."""
    client = Client(demo_server.endpoint_url, timeout=10)
    # As node-opcua's default client and GUI clients do: their own (here untrusted) certificate, sent anyway.
    client.security_policy.host_certificate = client_identity.der
    rejected_before = set(demo_server.pki.rejected.iterdir())

    with caplog.at_level(logging.INFO):
        async with client:
            name = await (await tag_node(client, "motor_temperature")).read_display_name()

    assert name.Text == "motor_temperature"
    assert set(demo_server.pki.rejected.iterdir()) - rejected_before == set()
    refusals = [
        r for r in caplog.records if r.name.startswith("edge_agent") and "certificate" in r.getMessage()
    ]
    assert refusals == []


async def test_anonymous_write_is_refused(anonymous_client: Client, writer: RecordingWriter) -> None:
    node = await tag_node(anonymous_client, "speed_setpoint")

    with pytest.raises(BadUserAccessDenied):
        await node.write_value(ua.Variant(1500, ua.VariantType.Int64))
    assert writer.writes == []


async def test_logged_in_user_cannot_write_over_the_unsecured_channel(
    tmp_path: Path, running_server: ServerFactory, writer: RecordingWriter
) -> None:
    config = opcua_config(tmp_path / "pki", security=["Basic256Sha256"], none_policy=True)
    async with (
        running_server(config, user_directory=OneOperator()) as server,
        log_in_as_operator(Client(server.endpoint_url, timeout=10)) as operator,
    ):
        node = await tag_node(operator, "speed_setpoint")
        with pytest.raises(BadUserAccessDenied):
            await node.write_value(ua.Variant(1500, ua.VariantType.Int64))

    assert writer.writes == []


async def test_each_insecure_opt_in_is_logged_as_a_warning(
    tmp_path: Path, running_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    config = opcua_config(tmp_path / "pki", none_policy=True, anonymous_read=True)
    with caplog.at_level(logging.WARNING, logger="edge_agent.opcua"):
        async with running_server(config):
            pass

    insecure = [record.getMessage() for record in caplog.records if "INSECURE" in record.getMessage()]
    assert [("None security policy" in m, "anonymous" in m) for m in insecure] == [
        (True, False),
        (False, True),
    ]


async def test_security_summary_names_the_insecure_endpoint(demo_server: AgentOpcUaServer) -> None:
    url = demo_server.endpoint_url

    assert demo_server.security_summary() == [
        f"{url} Basic256Sha256 SignAndEncrypt",
        f"{url} None (INSECURE, loopback demo, read only)",
        f"{url} anonymous read-only sessions (INSECURE)",
    ]
