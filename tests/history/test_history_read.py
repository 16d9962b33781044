"""OPC UA clients read a tag's history with HistoryRead, from a real server answering from a real store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, Node, Server, ua

from edge_agent.history import HistoryStore
from edge_agent.opcua.history_read import MAX_VALUES_PER_RESPONSE, enable_history
from edge_agent.opcua.tag_values import DATA_TYPES
from edge_agent.quality import Quality
from edge_agent.tags import Reading, TagInfo
from tests.support.history import history_config, running_store
from tests.support.ports import free_port

NAMESPACE = "urn:test:history"
TEMPERATURE = TagInfo("motor_temperature", "pump_plc", "float", unit="degC")
SPEED = TagInfo("speed_setpoint", "pump_plc", "int")
DOOR = TagInfo("door_open", "panel", "bool")
STATE = TagInfo("state_text", "panel", "string")
TAGS = [TEMPERATURE, SPEED, DOOR, STATE]
# Readings one second apart from here, so that timestamps are easy to name in a request; an hour ago,
# well within the retention span.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def ns(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def second(n: int) -> datetime:
    return T0 + timedelta(seconds=n)


class HistoryServer:
    """A server with one variable per tag and a client connected to it."""

    def __init__(self, server: Server, client: Client, nodes: dict[str, ua.NodeId]) -> None:
        self.server = server
        self.client = client
        self.nodes = nodes


class History:
    """The served history of the tags, recorded in a store of the test's own."""

    def __init__(self, served: HistoryServer, store: HistoryStore) -> None:
        self.served = served
        self.store = store

    def node(self, tag: str) -> Node:
        return self.served.client.get_node(self.served.nodes[tag])


# Starting and stopping an asyncua server takes seconds: the tests share one, each with its own store.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served() -> AsyncIterator[HistoryServer]:
    server = Server()
    await server.init()
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}"
    server.set_endpoint(endpoint)
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    idx = await server.register_namespace(NAMESPACE)
    nodes: dict[str, ua.NodeId] = {}
    for info in TAGS:
        variable = await server.nodes.objects.add_variable(
            ua.NodeId(info.name, idx),
            info.name,
            ua.Variant(None, ua.VariantType.Null),
            datatype=ua.NodeId(DATA_TYPES[info.data_type]),
        )
        nodes[info.name] = variable.nodeid
    async with server, Client(endpoint) as client:
        yield HistoryServer(server, client, nodes)


@pytest_asyncio.fixture(loop_scope="module")
async def history(served: HistoryServer, tmp_path: Path) -> AsyncIterator[History]:
    async with running_store(history_config(tmp_path)) as store:
        await enable_history(served.server, store, {served.nodes[info.name]: info for info in TAGS})
        yield History(served, store)


async def record(store: HistoryStore, readings: list[Reading]) -> None:
    for reading in readings:
        store.append(reading)
    assert await store.flush()


def temperatures(count: int) -> list[Reading]:
    return [
        Reading(TEMPERATURE.name, 20.0 + n / 4, Quality.Good, ns(second(n)), ns(second(n)) + 1_000)
        for n in range(count)
    ]


async def test_a_client_reads_values_status_codes_and_both_timestamps(history: History) -> None:
    readings = [
        Reading(TEMPERATURE.name, 21.5, Quality.Good, ns(second(0)), ns(second(0)) + 5_000),
        Reading(TEMPERATURE.name, 21.5, Quality.BadCommunicationError, ns(second(1)), ns(second(1)) + 7_000),
        Reading(
            TEMPERATURE.name, 22.25, Quality.UncertainLastUsableValue, ns(second(2)), ns(second(2)) + 9_000
        ),
    ]
    await record(history.store, readings)

    values = await history.node(TEMPERATURE.name).read_raw_history(second(0), second(10))

    assert [(v.Value.Value, v.Value.VariantType) for v in values] == [
        (21.5, ua.VariantType.Double),
        (21.5, ua.VariantType.Double),
        (22.25, ua.VariantType.Double),
    ]
    assert [v.StatusCode.value for v in values] == [int(r.quality) for r in readings]
    assert [v.SourceTimestamp for v in values] == [second(0), second(1), second(2)]
    assert [v.ServerTimestamp for v in values] == [
        second(0) + timedelta(microseconds=5),
        second(1) + timedelta(microseconds=7),
        second(2) + timedelta(microseconds=9),
    ]


async def test_each_tag_type_comes_back_as_its_variant_type(history: History) -> None:
    at = ns(second(0))
    await record(
        history.store,
        [
            Reading(SPEED.name, 1450, Quality.Good, at),
            Reading(DOOR.name, True, Quality.Good, at),
            Reading(STATE.name, "running", Quality.Good, at),
        ],
    )

    speed = await history.node(SPEED.name).read_raw_history(second(0), second(1))
    door = await history.node(DOOR.name).read_raw_history(second(0), second(1))
    state = await history.node(STATE.name).read_raw_history(second(0), second(1))

    assert [(v.Value.Value, v.Value.VariantType) for v in speed + door + state] == [
        (1450, ua.VariantType.Int64),
        (True, ua.VariantType.Boolean),
        ("running", ua.VariantType.String),
    ]


async def test_the_start_time_is_included_and_the_end_time_is_not(history: History) -> None:
    await record(history.store, temperatures(10))

    values = await history.node(TEMPERATURE.name).read_raw_history(second(2), second(5))

    assert [v.SourceTimestamp for v in values] == [second(2), second(3), second(4)]


async def test_an_end_before_the_start_reads_newest_first(history: History) -> None:
    await record(history.store, temperatures(10))

    values = await history.node(TEMPERATURE.name).read_raw_history(second(5), second(2))

    assert [v.SourceTimestamp for v in values] == [second(5), second(4), second(3)]


async def test_an_end_time_alone_reads_the_values_before_it_newest_first(history: History) -> None:
    await record(history.store, temperatures(10))

    values = await history.node(TEMPERATURE.name).read_raw_history(None, second(6), numvalues=3)

    assert [v.SourceTimestamp for v in values] == [second(5), second(4), second(3)]


async def test_a_start_time_alone_reads_that_many_values_from_it(history: History) -> None:
    await record(history.store, temperatures(10))

    values = await history.node(TEMPERATURE.name).read_raw_history(second(7), None, numvalues=2)

    assert [v.SourceTimestamp for v in values] == [second(7), second(8)]


async def test_equal_start_and_end_times_read_the_value_at_that_instant(history: History) -> None:
    await record(history.store, temperatures(10))

    values = await history.node(TEMPERATURE.name).read_raw_history(second(4), second(4))

    assert [v.Value.Value for v in values] == [21.0]


async def test_a_long_range_comes_in_pages_of_num_values_per_node(history: History) -> None:
    await record(history.store, temperatures(25))
    node = history.node(TEMPERATURE.name)
    details = ua.ReadRawModifiedDetails(
        IsReadModified=False,
        StartTime=second(0),
        EndTime=second(100),
        NumValuesPerNode=10,
        ReturnBounds=False,
    )

    pages = []
    continuation_point = None
    while True:
        result = await node.history_read(details, continuation_point)
        result.StatusCode.check()
        pages.append([v.SourceTimestamp for v in result.HistoryData.DataValues])
        continuation_point = result.ContinuationPoint
        if continuation_point is None:
            break

    assert [len(page) for page in pages] == [10, 10, 5]
    assert [at for page in pages for at in page] == [second(n) for n in range(25)]


async def test_pages_of_a_newest_first_read_go_on_backwards(history: History) -> None:
    await record(history.store, temperatures(7))
    node = history.node(TEMPERATURE.name)
    details = ua.ReadRawModifiedDetails(
        IsReadModified=False, StartTime=ua.get_win_epoch(), EndTime=second(100), NumValuesPerNode=3
    )

    first = await node.history_read(details)
    second_page = await node.history_read(details, first.ContinuationPoint)

    assert [v.SourceTimestamp for v in first.HistoryData.DataValues] == [second(6), second(5), second(4)]
    assert [v.SourceTimestamp for v in second_page.HistoryData.DataValues] == [
        second(3),
        second(2),
        second(1),
    ]


async def test_values_with_the_same_timestamp_are_each_read_once_across_pages(history: History) -> None:
    at = ns(second(0))
    await record(history.store, [Reading(SPEED.name, n, Quality.Good, at) for n in range(5)])
    node = history.node(SPEED.name)
    details = ua.ReadRawModifiedDetails(
        IsReadModified=False, StartTime=second(0), EndTime=second(1), NumValuesPerNode=2
    )

    values = []
    result = await node.history_read(details)
    values += [v.Value.Value for v in result.HistoryData.DataValues]
    while result.ContinuationPoint is not None:
        result = await node.history_read(details, result.ContinuationPoint)
        values += [v.Value.Value for v in result.HistoryData.DataValues]

    assert values == [0, 1, 2, 3, 4]


async def test_a_client_gets_a_range_longer_than_one_response_in_full(history: History) -> None:
    count = MAX_VALUES_PER_RESPONSE * 2 + 500
    await record(history.store, temperatures(count))

    values = await history.node(TEMPERATURE.name).read_raw_history(second(0), second(count))

    assert [v.SourceTimestamp for v in values] == [second(n) for n in range(count)]


async def test_a_client_asking_for_source_timestamps_gets_no_server_timestamps(history: History) -> None:
    await record(history.store, temperatures(2))
    read = ua.HistoryReadValueId(NodeId=history.served.nodes[TEMPERATURE.name])
    params = ua.HistoryReadParameters(
        HistoryReadDetails=ua.ReadRawModifiedDetails(
            IsReadModified=False, StartTime=second(0), EndTime=second(2)
        ),
        TimestampsToReturn=ua.TimestampsToReturn.Source,
        ReleaseContinuationPoints=False,
        NodesToRead=[read],
    )

    (result,) = await history.served.client.uaclient.history_read(params)

    assert [(v.SourceTimestamp, v.ServerTimestamp) for v in result.HistoryData.DataValues] == [
        (second(0), None),
        (second(1), None),
    ]


async def test_a_range_without_values_says_there_is_no_data(history: History) -> None:
    await record(history.store, temperatures(3))
    node = history.node(TEMPERATURE.name)
    details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=second(50), EndTime=second(60))

    result = await node.history_read(details)

    assert result.StatusCode.value == ua.StatusCodes.GoodNoData
    assert result.HistoryData.DataValues == []


async def test_a_continuation_point_the_server_did_not_give_is_refused(history: History) -> None:
    node = history.node(TEMPERATURE.name)
    details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=second(0), EndTime=second(1))

    result = await node.history_read(details, b"not ours")

    assert result.StatusCode.value == ua.StatusCodes.BadContinuationPointInvalid


async def test_tag_variables_say_they_keep_history(history: History) -> None:
    node = history.node(TEMPERATURE.name)

    access = await node.read_attribute(ua.AttributeIds.AccessLevel)
    user_access = await node.read_attribute(ua.AttributeIds.UserAccessLevel)
    historizing = await node.read_attribute(ua.AttributeIds.Historizing)

    assert access.Value.Value & ua.AccessLevel.HistoryRead.mask
    assert user_access.Value.Value & ua.AccessLevel.HistoryRead.mask
    assert historizing.Value.Value is True


async def test_a_node_without_history_says_so(history: History) -> None:
    server_status = history.served.client.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_State))

    with pytest.raises(ua.uaerrors.BadHistoryOperationUnsupported):
        await server_status.read_raw_history(second(0), second(1))


async def test_a_read_after_the_history_closed_answers_data_unavailable(history: History) -> None:
    await record(history.store, temperatures(2))
    # As at shutdown, when the store may close before the server stops.
    await history.store.close()

    with pytest.raises(ua.uaerrors.BadDataUnavailable):
        await history.node(TEMPERATURE.name).read_raw_history(second(0), second(2))
