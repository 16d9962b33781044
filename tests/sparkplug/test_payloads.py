"""Sparkplug B payloads: values of every datatype on the wire and back, births, data, deaths, commands."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.quality import Quality
from edge_agent.sparkplug import sparkplug_b_pb2 as pb
from edge_agent.sparkplug.datatypes import INTEGER_RANGES, DataType, datatype_of
from edge_agent.sparkplug.payloads import (
    BD_SEQ_METRIC,
    REBIRTH_METRIC,
    MetricDefinition,
    MetricValue,
    MetricValueError,
    PayloadError,
    birth_payload,
    data_payload,
    death_payload,
    decode,
    device_birth_payload,
    device_death_payload,
    metric_value,
    next_seq,
    property_values,
    rebirth_requested,
    set_metric_value,
    sparkplug_quality,
    written_value,
)
from edge_agent.tags import DataType as TagDataType
from edge_agent.tags import NumberType, Reading, TagInfo, TagValue

T0_MS = 1_700_000_000_000
T0_NS = T0_MS * 1_000_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1

TEMPERATURE = MetricDefinition(
    "motor_temperature",
    alias=1,
    datatype=DataType.Double,
    unit="degC",
    low=-40.0,
    high=150.0,
    description="winding temperature",
    semantic_id="0173-1#02-AAV232#002",
)
SETPOINT = MetricDefinition("setpoint", alias=2, datatype=DataType.Int16, writable=True)
RUNNING = MetricDefinition("running", alias=3, datatype=DataType.Boolean)


def encoded_and_back(datatype: DataType, value: object) -> pb.Payload.Metric:
    """A metric holding ``value``, after a trip through the wire format."""
    payload = pb.Payload()
    set_metric_value(payload.metrics.add(name="m"), datatype, value)
    [metric] = decode(payload.SerializeToString()).metrics
    return metric


def reading(tag: str, value: TagValue | None, quality: Quality = Quality.Good, at_ms: int = T0_MS) -> Reading:
    return Reading(tag, value, quality, source_time_ns=at_ms * 1_000_000)


# --- datatypes


def test_the_datatype_enum_has_the_numbers_of_the_proto_file() -> None:
    assert {member.name: member.value for member in DataType} == dict(pb.DataType.items())
    assert (DataType.Int8, DataType.UInt64, DataType.Template, DataType.DateTimeArray) == (1, 8, 19, 34)


@pytest.mark.parametrize(
    ("data_type", "number_type", "expected"),
    [
        ("int", "int16", DataType.Int16),
        ("int", "uint16", DataType.UInt16),
        ("int", "int32", DataType.Int32),
        ("int", "uint32", DataType.UInt32),
        ("int", "int64", DataType.Int64),
        ("int", "uint64", DataType.UInt64),
        ("int", None, DataType.Int64),
        ("float", "float32", DataType.Float),
        ("float", "float64", DataType.Double),
        ("float", None, DataType.Double),
        ("bool", None, DataType.Boolean),
        ("string", None, DataType.String),
    ],
)
def test_each_tag_type_has_the_datatype_of_its_opc_ua_variable(
    data_type: TagDataType, number_type: NumberType | None, expected: DataType
) -> None:
    info = TagInfo("t", "src", data_type, number_type=number_type)

    assert datatype_of(info) is expected


# --- values on the wire

SCALAR_VALUES: list[tuple[DataType, MetricValue, str, int | float | bool | str | bytes]] = [
    # (datatype, value, the oneof field it must travel in, the raw field value)
    (DataType.Int8, -128, "int_value", 2**32 - 128),
    (DataType.Int8, 127, "int_value", 127),
    (DataType.Int8, -1, "int_value", 0xFFFF_FFFF),
    (DataType.Int16, -32768, "int_value", 2**32 - 32768),
    (DataType.Int16, 32767, "int_value", 32767),
    (DataType.Int32, -(2**31), "int_value", 2**31),
    (DataType.Int32, 2**31 - 1, "int_value", 2**31 - 1),
    (DataType.Int64, INT64_MIN, "long_value", 2**63),
    (DataType.Int64, INT64_MAX, "long_value", INT64_MAX),
    (DataType.Int64, -1, "long_value", UINT64_MAX),
    (DataType.UInt8, 255, "int_value", 255),
    (DataType.UInt16, 65535, "int_value", 65535),
    (DataType.UInt32, 2**32 - 1, "int_value", 2**32 - 1),
    (DataType.UInt64, UINT64_MAX, "long_value", UINT64_MAX),
    (DataType.UInt64, 0, "long_value", 0),
    (DataType.DateTime, T0_MS, "long_value", T0_MS),
    (DataType.Float, 1.5, "float_value", 1.5),
    (DataType.Float, -3.4028234663852886e38, "float_value", -3.4028234663852886e38),
    (DataType.Double, 5e-324, "double_value", 5e-324),
    (DataType.Double, -1.7976931348623157e308, "double_value", -1.7976931348623157e308),
    (DataType.Boolean, True, "boolean_value", True),
    (DataType.Boolean, False, "boolean_value", False),
    (DataType.String, "Drehzahl µ°C ✓", "string_value", "Drehzahl µ°C ✓"),
    (DataType.String, "", "string_value", ""),
    (DataType.Text, "line one\nline two", "string_value", "line one\nline two"),
    (
        DataType.UUID,
        "123e4567-e89b-12d3-a456-426614174000",
        "string_value",
        "123e4567-e89b-12d3-a456-426614174000",
    ),
    (DataType.Bytes, b"\x00\xff\x10", "bytes_value", b"\x00\xff\x10"),
    (DataType.File, b"%PDF-1.7", "bytes_value", b"%PDF-1.7"),
]


@pytest.mark.parametrize(("datatype", "value", "field", "raw"), SCALAR_VALUES)
def test_every_scalar_datatype_travels_in_its_field_and_comes_back(
    datatype: DataType, value: MetricValue, field: str, raw: object
) -> None:
    metric = encoded_and_back(datatype, value)

    assert (metric.datatype, metric.WhichOneof("value"), getattr(metric, field)) == (datatype, field, raw)
    assert metric_value(metric) == value
    assert type(metric_value(metric)) is type(value)


@pytest.mark.parametrize("datatype", sorted(INTEGER_RANGES, key=int))
@given(data=st.data())
def test_any_integer_of_a_datatype_comes_back_as_itself(datatype: DataType, data: st.DataObject) -> None:
    low, high = INTEGER_RANGES[datatype]
    value = data.draw(st.integers(low, high))

    assert metric_value(encoded_and_back(datatype, value)) == value


@given(st.floats(width=32))
def test_any_float32_comes_back_as_itself(value: float) -> None:
    back = metric_value(encoded_and_back(DataType.Float, value))

    assert back == value or (math.isnan(value) and isinstance(back, float) and math.isnan(back))


@given(st.floats())
def test_any_double_comes_back_as_itself(value: float) -> None:
    back = metric_value(encoded_and_back(DataType.Double, value))

    assert back == value or (math.isnan(value) and isinstance(back, float) and math.isnan(back))


@given(st.text())
def test_any_text_comes_back_as_itself(value: str) -> None:
    assert metric_value(encoded_and_back(DataType.String, value)) == value


def test_a_float_rounds_to_32_bits_as_the_sources_float32_did() -> None:
    rounded = struct.unpack("<f", struct.pack("<f", 0.1))[0]

    assert metric_value(encoded_and_back(DataType.Float, 0.1)) == rounded


@pytest.mark.parametrize(
    ("datatype", "value", "quality"),
    [
        (DataType.Int16, 32768, Quality.BadOutOfRange),
        (DataType.UInt16, -1, Quality.BadOutOfRange),
        (DataType.UInt64, 2**64, Quality.BadOutOfRange),
        (DataType.Int64, -(2**63) - 1, Quality.BadOutOfRange),
        (DataType.Float, 1e39, Quality.BadOutOfRange),
        (DataType.Int32, 3.5, Quality.BadTypeMismatch),
        (DataType.Int32, "3", Quality.BadTypeMismatch),
        (DataType.Double, "3.5", Quality.BadTypeMismatch),
        (DataType.Boolean, 2, Quality.BadTypeMismatch),
        (DataType.String, b"raw", Quality.BadTypeMismatch),
        (DataType.String, "\ud800", Quality.BadTypeMismatch),
        (DataType.Bytes, "text", Quality.BadTypeMismatch),
        (DataType.DataSet, 1, Quality.BadTypeMismatch),
    ],
)
def test_a_value_its_datatype_cannot_carry_is_refused_with_the_quality_opc_ua_gives_it(
    datatype: DataType, value: object, quality: Quality
) -> None:
    with pytest.raises(MetricValueError) as refused:
        set_metric_value(pb.Payload.Metric(), datatype, value)

    assert refused.value.quality is quality


@pytest.mark.parametrize(
    ("datatype", "value", "expected"),
    [
        (DataType.Int32, 3.0, 3),
        (DataType.Int64, True, 1),
        (DataType.Double, 3, 3.0),
        (DataType.Boolean, 1, True),
        (DataType.String, 61.5, "61.5"),
    ],
)
def test_lossless_conversions_are_made_as_the_opc_ua_server_makes_them(
    datatype: DataType, value: object, expected: MetricValue
) -> None:
    back = metric_value(encoded_and_back(datatype, value))

    assert (back, type(back)) == (expected, type(expected))


# --- reading what other implementations send


def metric_with(datatype: int, **field: object) -> pb.Payload.Metric:
    return pb.Payload.Metric(datatype=datatype, **field)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        # Tahu's JavaScript library puts UInt32 in long_value.
        (metric_with(DataType.UInt32, long_value=4_000_000_000), 4_000_000_000),
        # An Int32 sign-extended to 64 bits, as an int32 protobuf field would carry it.
        (metric_with(DataType.Int32, long_value=UINT64_MAX - 4), -5),
        # A varint of the 64-bit two's complement read as uint32 keeps the low 32 bits.
        (metric_with(DataType.Int16, int_value=2**32 - 5), -5),
        (metric_with(DataType.Int64, int_value=2**32 - 5), -5),
        (metric_with(DataType.Double, float_value=0.5), 0.5),
        (metric_with(DataType.Float, double_value=0.25), 0.25),
    ],
)
def test_values_are_read_from_whichever_field_a_peer_put_them_in(
    metric: pb.Payload.Metric, expected: MetricValue
) -> None:
    assert metric_value(metric) == expected


@pytest.mark.parametrize(
    ("metric", "quality"),
    [
        (metric_with(DataType.Int8, int_value=200), Quality.BadOutOfRange),
        (metric_with(DataType.UInt32, long_value=2**32), Quality.BadOutOfRange),
        (metric_with(DataType.Int32), Quality.BadTypeMismatch),
        (metric_with(DataType.Boolean, string_value="true"), Quality.BadTypeMismatch),
        (metric_with(DataType.Template, int_value=1), Quality.BadTypeMismatch),
        (metric_with(99, int_value=1), Quality.BadTypeMismatch),
        (pb.Payload.Metric(int_value=1), Quality.BadTypeMismatch),
    ],
)
def test_a_value_that_cannot_be_read_as_its_datatype_is_an_error(
    metric: pb.Payload.Metric, quality: Quality
) -> None:
    with pytest.raises(MetricValueError) as refused:
        metric_value(metric)

    assert refused.value.quality is quality


def test_a_metric_without_a_datatype_is_read_with_the_one_its_birth_gave() -> None:
    metric = pb.Payload.Metric(alias=2, int_value=2**32 - 7)

    assert metric_value(metric, DataType.Int16) == -7
    assert metric_value(metric_with(DataType.UInt32, int_value=2**32 - 7), DataType.Int16) == 2**32 - 7


def test_a_null_metric_has_no_value() -> None:
    assert metric_value(metric_with(DataType.Int16, is_null=True, int_value=5)) is None


def test_garbage_is_not_a_payload() -> None:
    with pytest.raises(PayloadError):
        decode(b"\xff\xff\xff")


# --- births


def test_nbirth_has_bdseq_first_then_rebirth_then_every_metric_with_name_alias_datatype_and_value() -> None:
    readings = {
        "motor_temperature": reading("motor_temperature", 61.5, at_ms=T0_MS - 250),
        "setpoint": reading("setpoint", -1200),
        "running": reading("running", True),
    }

    payload = decode(
        birth_payload([TEMPERATURE, SETPOINT, RUNNING], readings, bd_seq=7, timestamp_ms=T0_MS + 5)
    )

    assert (payload.seq, payload.timestamp, payload.HasField("seq")) == (0, T0_MS + 5, True)
    [bd_seq, rebirth, *metrics] = payload.metrics
    assert (bd_seq.name, bd_seq.datatype, metric_value(bd_seq), bd_seq.HasField("alias")) == (
        BD_SEQ_METRIC,
        DataType.Int64,
        7,
        False,
    )
    assert (rebirth.name, rebirth.datatype, metric_value(rebirth)) == (
        REBIRTH_METRIC,
        DataType.Boolean,
        False,
    )
    assert [(m.name, m.alias, m.datatype, m.timestamp, metric_value(m)) for m in metrics] == [
        ("motor_temperature", 1, DataType.Double, T0_MS - 250, 61.5),
        ("setpoint", 2, DataType.Int16, T0_MS, -1200),
        ("running", 3, DataType.Boolean, T0_MS, True),
    ]
    assert all(metric.HasField("timestamp") for metric in payload.metrics)


def test_birth_metrics_carry_unit_range_access_description_and_semantic_id_as_properties() -> None:
    readings = {"motor_temperature": reading("motor_temperature", 20.0), "setpoint": reading("setpoint", 0)}

    payload = decode(birth_payload([TEMPERATURE, SETPOINT], readings, bd_seq=0, timestamp_ms=T0_MS))

    temperature, setpoint = payload.metrics[2:]
    assert property_values(temperature) == {
        "engUnit": "degC",
        "engLow": -40.0,
        "engHigh": 150.0,
        "readOnly": True,
        "documentation": "winding temperature",
        "semanticId": "0173-1#02-AAV232#002",
    }
    assert [value.type for value in temperature.properties.values] == [
        DataType.String,
        DataType.Double,
        DataType.Double,
        DataType.Boolean,
        DataType.String,
        DataType.String,
    ]
    assert property_values(setpoint) == {"readOnly": False}


def test_a_metric_from_a_tag_takes_its_type_unit_range_access_and_description() -> None:
    info = TagInfo(
        "pump/speed",
        "modbus",
        "int",
        unit="rpm",
        range=(0, 3000),
        writable=True,
        description="set speed",
        number_type="uint16",
    )

    assert MetricDefinition.from_tag(info, 40, semantic_id="urn:speed") == MetricDefinition(
        "pump/speed", 40, DataType.UInt16, "rpm", 0, 3000, True, "set speed", "urn:speed"
    )
    assert MetricDefinition.from_tag(TagInfo("x", "s", "bool"), 1, name="Tags/x") == MetricDefinition(
        "Tags/x", 1, DataType.Boolean
    )


def test_a_metric_from_a_tag_carries_the_tags_semantic_id_unless_given_another() -> None:
    info = TagInfo("t", "s", "float", semantic_id="0173-1#02-AAB381#003")

    assert MetricDefinition.from_tag(info, 1).semantic_id == "0173-1#02-AAB381#003"
    assert MetricDefinition.from_tag(info, 1, semantic_id="urn:other").semantic_id == "urn:other"


def test_a_metric_without_a_reading_is_born_null_waiting_for_its_first_value() -> None:
    payload = decode(birth_payload([SETPOINT], {}, bd_seq=0, timestamp_ms=T0_MS))

    setpoint = payload.metrics[2]
    assert (setpoint.is_null, setpoint.WhichOneof("value"), setpoint.timestamp) == (True, None, T0_MS)
    assert property_values(setpoint) == {
        "readOnly": False,
        "Quality": 0,
        "statusCode": Quality.BadWaitingForInitialData,
    }


@pytest.mark.parametrize(
    ("quality", "value", "sent", "sparkplug"),
    [
        (Quality.Good, 61.5, 61.5, None),
        (Quality.UncertainLastUsableValue, 61.5, 61.5, 500),
        (Quality.BadNoCommunication, 61.5, None, 0),
        (Quality.BadSensorFailure, None, None, 0),
    ],
)
def test_quality_is_the_specifications_quality_property_and_a_bad_value_is_not_sent(
    quality: Quality, value: float | None, sent: float | None, sparkplug: int | None
) -> None:
    readings = {"motor_temperature": reading("motor_temperature", value, quality)}

    [metric] = decode(device_birth_payload([TEMPERATURE], readings, seq=4, timestamp_ms=T0_MS)).metrics

    properties = property_values(metric)
    assert (metric_value(metric), metric.is_null) == (sent, sent is None)
    assert (properties.get("Quality"), properties.get("statusCode")) == (
        sparkplug,
        None if quality is Quality.Good else quality,
    )
    if sparkplug is not None:
        quality_value = metric.properties.values[list(metric.properties.keys).index("Quality")]
        assert quality_value.type == DataType.Int32  # tck-id-payloads-propertyset-quality-value-type


@pytest.mark.parametrize(
    ("quality", "code"),
    [
        (Quality.Good, 192),
        (Quality.UncertainInitialValue, 500),
        (Quality.UncertainLastUsableValue, 500),
        (Quality.BadTimeout, 0),
        (Quality.BadOutOfService, 0),
    ],
)
def test_sparkplug_quality_codes(quality: Quality, code: int) -> None:
    assert sparkplug_quality(quality) == code


def test_a_reading_its_metric_cannot_carry_is_sent_null_and_bad() -> None:
    readings = {"setpoint": reading("setpoint", 70000)}

    [metric] = decode(device_birth_payload([SETPOINT], readings, seq=1, timestamp_ms=T0_MS)).metrics

    assert metric.is_null
    assert property_values(metric) == {"readOnly": False, "Quality": 0, "statusCode": Quality.BadOutOfRange}


def test_dbirth_has_no_node_control_metrics_and_the_seq_it_is_given() -> None:
    readings = {"running": reading("running", False)}

    payload = decode(device_birth_payload([RUNNING], readings, seq=17, timestamp_ms=T0_MS))

    assert (payload.seq, payload.timestamp, [m.name for m in payload.metrics]) == (17, T0_MS, ["running"])


def test_an_nbirth_is_seq_0_and_bdseq_within_a_byte() -> None:
    with pytest.raises(ValueError, match="seq 0"):
        birth_payload([], {}, bd_seq=0, timestamp_ms=T0_MS, seq=1)
    with pytest.raises(ValueError, match="bdSeq"):
        birth_payload([], {}, bd_seq=256, timestamp_ms=T0_MS)


@pytest.mark.parametrize(
    "definitions",
    [
        [SETPOINT, MetricDefinition("other", SETPOINT.alias, DataType.Int16)],
        [SETPOINT, MetricDefinition("setpoint", 99, DataType.Int16)],
        [MetricDefinition("bdSeq", 99, DataType.Int64)],
    ],
)
def test_a_birth_refuses_an_alias_or_name_used_twice(definitions: list[MetricDefinition]) -> None:
    with pytest.raises(ValueError, match="twice"):
        birth_payload(definitions, {}, bd_seq=0, timestamp_ms=T0_MS)


@pytest.mark.parametrize(
    "make",
    [
        lambda: MetricDefinition("", 1, DataType.Int16),
        lambda: MetricDefinition("m", -1, DataType.Int16),
        lambda: MetricDefinition("m", 2**64, DataType.Int16),
        lambda: MetricDefinition("m", 1, DataType.DataSet),
        lambda: MetricDefinition("m", 1, DataType.Unknown),
    ],
)
def test_a_metric_definition_needs_a_name_a_uint64_alias_and_a_scalar_datatype(
    make: Callable[[], MetricDefinition],
) -> None:
    with pytest.raises(ValueError):
        make()


def test_the_largest_alias_is_a_uint64() -> None:
    definition = MetricDefinition("m", UINT64_MAX, DataType.Boolean)

    payload = decode(birth_payload([definition], {}, bd_seq=0, timestamp_ms=T0_MS))

    assert payload.metrics[2].alias == UINT64_MAX


# --- data


def test_data_names_metrics_by_alias_only_with_timestamp_datatype_and_value() -> None:
    changes = [
        (TEMPERATURE, reading("motor_temperature", 62.0, at_ms=T0_MS + 1)),
        (SETPOINT, reading("setpoint", -32768, at_ms=T0_MS + 2)),
        (TEMPERATURE, reading("motor_temperature", 62.5, at_ms=T0_MS + 3)),
    ]

    payload = decode(data_payload(changes, seq=9, timestamp_ms=T0_MS + 10))

    assert (payload.seq, payload.timestamp) == (9, T0_MS + 10)
    assert not any(metric.HasField("name") for metric in payload.metrics)
    assert [(m.alias, m.timestamp, m.datatype, metric_value(m)) for m in payload.metrics] == [
        (1, T0_MS + 1, DataType.Double, 62.0),
        (2, T0_MS + 2, DataType.Int16, -32768),
        (1, T0_MS + 3, DataType.Double, 62.5),
    ]
    assert not any(metric.is_historical or metric.HasField("properties") for metric in payload.metrics)


def test_historical_data_marks_every_metric_historical() -> None:
    changes = [(SETPOINT, reading("setpoint", 1)), (RUNNING, reading("running", True))]

    payload = decode(data_payload(changes, seq=0, timestamp_ms=T0_MS, historical=True))

    assert [metric.is_historical for metric in payload.metrics] == [True, True]


def test_data_of_a_bad_reading_is_null_with_its_quality() -> None:
    changes = [(TEMPERATURE, reading("motor_temperature", 61.0, Quality.BadCommunicationError))]

    [metric] = decode(data_payload(changes, seq=3, timestamp_ms=T0_MS)).metrics

    assert (metric.alias, metric.is_null, metric.WhichOneof("value")) == (1, True, None)
    assert property_values(metric) == {"Quality": 0, "statusCode": Quality.BadCommunicationError}


def test_data_timestamps_are_the_readings_source_times_in_ms() -> None:
    change = (RUNNING, Reading("running", True, source_time_ns=T0_NS + 999_999))

    [metric] = decode(data_payload([change], seq=0, timestamp_ms=T0_MS + 50)).metrics

    assert metric.timestamp == T0_MS


# --- deaths and seq


def test_ndeath_has_the_bdseq_metric_only_and_no_seq() -> None:
    payload = decode(death_payload(255, timestamp_ms=T0_MS))

    assert (payload.HasField("seq"), payload.timestamp) == (False, T0_MS)
    [metric] = payload.metrics
    assert (metric.name, metric.datatype, metric_value(metric)) == (BD_SEQ_METRIC, DataType.Int64, 255)
    assert not decode(death_payload(0)).HasField("timestamp")


def test_ddeath_has_a_seq_and_a_timestamp_and_no_metrics() -> None:
    payload = decode(device_death_payload(seq=12, timestamp_ms=T0_MS))

    assert (payload.seq, payload.timestamp, len(payload.metrics)) == (12, T0_MS, 0)


@pytest.mark.parametrize(("seq", "after"), [(0, 1), (1, 2), (254, 255), (255, 0)])
def test_seq_counts_to_255_then_starts_at_0(seq: int, after: int) -> None:
    assert next_seq(seq) == after


@given(st.integers(0, 255))
def test_256_steps_of_seq_come_back_to_the_start_through_every_value(start: int) -> None:
    seen = [start]
    for _ in range(255):
        seen.append(next_seq(seen[-1]))

    assert sorted(seen) == list(range(256))
    assert next_seq(seen[-1]) == start


@pytest.mark.parametrize("seq", [-1, 256])
def test_a_seq_outside_a_byte_is_refused(seq: int) -> None:
    with pytest.raises(ValueError):
        next_seq(seq)
    with pytest.raises(ValueError):
        data_payload([], seq=seq, timestamp_ms=T0_MS)


# --- commands


def command(*metrics: pb.Payload.Metric) -> pb.Payload:
    payload = pb.Payload(timestamp=T0_MS)
    payload.metrics.extend(metrics)
    return decode(payload.SerializeToString())


@pytest.mark.parametrize(
    ("metric", "requested"),
    [
        (pb.Payload.Metric(name=REBIRTH_METRIC, datatype=DataType.Boolean, boolean_value=True), True),
        (pb.Payload.Metric(name=REBIRTH_METRIC, datatype=DataType.Boolean, boolean_value=False), False),
        (pb.Payload.Metric(name=REBIRTH_METRIC, datatype=DataType.Boolean, is_null=True), False),
        (pb.Payload.Metric(name="Node Control/Reboot", datatype=DataType.Boolean, boolean_value=True), False),
    ],
)
def test_an_ncmd_asks_for_a_rebirth_by_writing_true_to_node_control_rebirth(
    metric: pb.Payload.Metric, requested: bool
) -> None:
    assert rebirth_requested(command(metric)) is requested


@pytest.mark.parametrize(
    ("definition", "metric", "expected"),
    [
        (SETPOINT, metric_with(DataType.Int16, alias=2, int_value=2**32 - 300), -300),
        (SETPOINT, pb.Payload.Metric(alias=2, int_value=1500), 1500),
        (SETPOINT, metric_with(DataType.Int64, alias=2, long_value=1500), 1500),
        (SETPOINT, metric_with(DataType.UInt32, alias=2, long_value=12), 12),
        (TEMPERATURE, metric_with(DataType.Int64, alias=1, long_value=UINT64_MAX), -1.0),
        (TEMPERATURE, metric_with(DataType.Float, alias=1, float_value=0.5), 0.5),
        (RUNNING, metric_with(DataType.Boolean, alias=3, boolean_value=True), True),
        (
            MetricDefinition("label", 4, DataType.String),
            metric_with(DataType.Text, alias=4, string_value="hi"),
            "hi",
        ),
        (
            MetricDefinition("ratio", 5, DataType.Float),
            metric_with(DataType.Double, alias=5, double_value=0.25),
            0.25,
        ),
    ],
)
def test_a_write_takes_the_metrics_type_and_any_numeric_type_that_holds_the_value_exactly(
    definition: MetricDefinition, metric: pb.Payload.Metric, expected: object
) -> None:
    written = written_value(command(metric).metrics[0], definition)

    assert (written, type(written)) == (expected, type(expected))


@pytest.mark.parametrize(
    ("definition", "metric", "quality"),
    [
        (SETPOINT, metric_with(DataType.Int64, alias=2, long_value=70000), Quality.BadOutOfRange),
        (SETPOINT, metric_with(DataType.Double, alias=2, double_value=3.0), Quality.BadTypeMismatch),
        (SETPOINT, metric_with(DataType.String, alias=2, string_value="3"), Quality.BadTypeMismatch),
        (SETPOINT, metric_with(DataType.Int16, alias=2, is_null=True), Quality.BadTypeMismatch),
        (RUNNING, metric_with(DataType.Int32, alias=3, int_value=1), Quality.BadTypeMismatch),
        (TEMPERATURE, metric_with(DataType.Int64, alias=1, long_value=2**53 + 1), Quality.BadTypeMismatch),
        (
            MetricDefinition("ratio", 5, DataType.Float),
            metric_with(DataType.Double, alias=5, double_value=0.1),
            Quality.BadTypeMismatch,
        ),
    ],
)
def test_a_write_that_does_not_fit_the_metric_gets_the_quality_opc_ua_would_give_it(
    definition: MetricDefinition, metric: pb.Payload.Metric, quality: Quality
) -> None:
    with pytest.raises(MetricValueError) as refused:
        written_value(command(metric).metrics[0], definition)

    assert refused.value.quality is quality


def test_property_values_refuse_a_set_whose_keys_and_values_differ_in_number() -> None:
    metric = pb.Payload.Metric(name="m")
    metric.properties.keys.extend(["a", "b"])
    metric.properties.values.add(type=DataType.Boolean, boolean_value=True)

    with pytest.raises(PayloadError, match="2 property keys for 1 values"):
        property_values(metric)
