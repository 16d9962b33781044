"""Each point is served with its own OPC UA built-in type: DataType, values, writes and history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from asyncua import Client, ua

from edge_agent.aas import build_environment
from edge_agent.agent_config import AgentConfig
from edge_agent.opcua.i4aas import SHELL_NAMESPACE_URI
from edge_agent.opcua.tag_values import TagValueError, from_variant, to_variant
from edge_agent.quality import Quality
from edge_agent.tags import Reading, TagInfo
from edge_agent.tagstore import TagStore
from tests.support.aas import load_full_config
from tests.support.history import history_config, running_store
from tests.support.opcua import (
    RecordingWriter,
    log_in_as_operator,
    make_client_identity,
    secure_client,
    shell_server,
    tag_node,
    trust,
)
from tests.support.shell import publish_first_readings, shell_tag_store

# The client tests share one server and session: each starts from the first readings and a new writer,
# and the history read is of a time no other test records at.
in_module_loop = pytest.mark.asyncio(loop_scope="module")

# The full config's points and model outputs, with the type each is served as.
SERVED_TYPES = {
    "speed_setpoint": ua.VariantType.UInt16,  # holding, uint16
    "motor_speed": ua.VariantType.UInt16,  # input, uint16
    "motor_temperature": ua.VariantType.Float,  # input, float32
    "vibration_rms": ua.VariantType.Double,  # uint16 scaled by 0.01: not an integer any more
    "door_open": ua.VariantType.Boolean,  # GPIO input
    "anomaly_score": ua.VariantType.Double,  # a model's score
}
SPEED = TagInfo("speed", "plc", "int", writable=True, number_type="uint16")


@pytest.fixture(scope="module")
def full_config(tmp_path_factory: pytest.TempPathFactory) -> AgentConfig:
    return load_full_config(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def module_writer() -> RecordingWriter:
    return RecordingWriter()


@pytest.fixture
def writer(module_writer: RecordingWriter) -> RecordingWriter:
    module_writer.reset()
    return module_writer


@pytest.fixture(scope="module")
def shell_store(full_config: AgentConfig, module_writer: RecordingWriter) -> TagStore:
    return shell_tag_store(full_config, module_writer)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_client(
    tmp_path_factory: pytest.TempPathFactory, full_config: AgentConfig, shell_store: TagStore
) -> AsyncIterator[Client]:
    directory = tmp_path_factory.mktemp("server")
    client_identity = make_client_identity(directory / "client-pki")
    async with (
        running_store(history_config(directory / "history")) as history,
        shell_server(
            directory / "pki",
            shell_store,
            lambda der: build_environment(full_config, certificate_der=der),
            history=history,
        ) as server,
    ):
        trust(server, client_identity)
        async with log_in_as_operator(await secure_client(server, client_identity)) as connected:
            connected.history = history  # type: ignore[attr-defined]
            yield connected


@pytest.fixture
def client(module_client: Client, shell_store: TagStore, writer: RecordingWriter) -> Client:
    """The module's client, with the first readings published again and a new writer to write to."""
    publish_first_readings(shell_store)
    return module_client


async def shell_value(client: Client, tag: str, property_name: str = "Value") -> ua.NodeId:
    shell_ns = await client.get_namespace_index(SHELL_NAMESPACE_URI)
    return ua.NodeId(f"pump_17.OperationalData.{tag}#{property_name}", shell_ns)


@in_module_loop
async def test_each_tag_is_served_with_its_points_type(client: Client, shell_store: TagStore) -> None:
    shell_store.publish(Reading("motor_speed", 2900))
    shell_store.publish(Reading("vibration_rms", 1.23))
    shell_store.publish(Reading("door_open", False))
    found = {}
    for tag in SERVED_TYPES:
        node = await tag_node(client, tag)
        data_type = await node.read_data_type()
        value = await node.read_data_value()
        found[tag] = (data_type, value.Value.VariantType)

    assert found == {tag: (ua.NodeId(served.value), served) for tag, served in SERVED_TYPES.items()}


@in_module_loop
async def test_the_shell_serves_a_live_property_with_the_same_type(client: Client) -> None:
    value = client.get_node(await shell_value(client, "speed_setpoint"))
    value_type = client.get_node(await shell_value(client, "speed_setpoint", "ValueType"))

    assert await value.read_data_type() == ua.NodeId(ua.ObjectIds.UInt16)
    assert (await value.read_data_value()).Value.VariantType == ua.VariantType.UInt16
    assert await value_type.read_value() == 4  # AASValueTypeDataType UInt16


@in_module_loop
async def test_a_uint16_point_takes_a_uint16_and_any_integer_that_fits(
    client: Client, writer: RecordingWriter
) -> None:
    node = await tag_node(client, "speed_setpoint")

    await node.write_value(ua.Variant(1500, ua.VariantType.UInt16))
    await node.write_value(ua.Variant(1600, ua.VariantType.Int64))
    with pytest.raises(ua.uaerrors.BadOutOfRange):
        await node.write_value(ua.Variant(70_000, ua.VariantType.Int32))
    with pytest.raises(ua.uaerrors.BadTypeMismatch):
        await node.write_value(ua.Variant(1700.0, ua.VariantType.Double))

    assert writer.writes == [("speed_setpoint", 1500), ("speed_setpoint", 1600)]


@in_module_loop
async def test_history_is_read_with_the_points_type(client: Client) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    at = int(start.timestamp()) * 1_000_000_000
    history = client.history  # type: ignore[attr-defined]
    history.append(Reading("speed_setpoint", 1450, Quality.Good, at))
    history.append(Reading("motor_temperature", 61.25, Quality.Good, at))
    assert await history.flush()

    speed = await (await tag_node(client, "speed_setpoint")).read_raw_history(
        start, start + timedelta(seconds=1)
    )
    temperature = await (await tag_node(client, "motor_temperature")).read_raw_history(
        start, start + timedelta(seconds=1)
    )

    assert [(v.Value.Value, v.Value.VariantType) for v in speed + temperature] == [
        (1450, ua.VariantType.UInt16),
        (61.25, ua.VariantType.Float),
    ]


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (ua.Variant(65535, ua.VariantType.UInt16), 65535),
        (ua.Variant(7, ua.VariantType.Byte), 7),
        (ua.Variant(65535, ua.VariantType.Int64), 65535),
    ],
)
def test_a_write_of_an_integer_that_fits_is_taken(variant: ua.Variant, expected: int) -> None:
    assert from_variant(SPEED, variant) == expected


@pytest.mark.parametrize(
    ("variant", "quality"),
    [
        (ua.Variant(-1, ua.VariantType.Int16), Quality.BadOutOfRange),
        (ua.Variant(65536, ua.VariantType.UInt32), Quality.BadOutOfRange),
        (ua.Variant(12.0, ua.VariantType.Float), Quality.BadTypeMismatch),
        (ua.Variant(True, ua.VariantType.Boolean), Quality.BadTypeMismatch),
        (ua.Variant("12", ua.VariantType.String), Quality.BadTypeMismatch),
    ],
)
def test_a_write_that_does_not_fit_is_refused(variant: ua.Variant, quality: Quality) -> None:
    with pytest.raises(TagValueError) as refused:
        from_variant(SPEED, variant)
    assert refused.value.quality == quality


def test_float_tags_take_numbers_they_hold_exactly() -> None:
    single = TagInfo("t", "plc", "float", writable=True, number_type="float32")
    double = TagInfo("t", "plc", "float", writable=True)

    assert from_variant(single, ua.Variant(0.5, ua.VariantType.Double)) == 0.5
    assert from_variant(double, ua.Variant(3, ua.VariantType.UInt16)) == 3.0
    with pytest.raises(TagValueError):
        from_variant(single, ua.Variant(0.1, ua.VariantType.Double))  # no float32 is 0.1
    with pytest.raises(TagValueError):
        from_variant(double, ua.Variant(2**53 + 1, ua.VariantType.Int64))


def test_a_value_outside_the_points_type_is_out_of_range() -> None:
    with pytest.raises(TagValueError) as refused:
        to_variant(SPEED, 70_000)
    assert refused.value.quality == Quality.BadOutOfRange
    assert to_variant(SPEED, 3.0) == ua.Variant(3, ua.VariantType.UInt16)


def test_a_tag_cannot_claim_a_number_type_of_another_kind() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        TagInfo("t", "plc", "float", number_type="uint16")
