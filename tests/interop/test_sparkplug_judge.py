"""The agent's Sparkplug B payloads as an independent codec reads them, and the commands it makes.

The judge is sparkplug_judge.mjs: Eclipse Tahu's sparkplug-payload on protobufjs, compiled from Tahu's own
sparkplug_b.proto. ``make test`` installs it (``npm ci`` in this directory); without it every test here
fails and says so.
"""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
from typing import Any

import pytest

from edge_agent.quality import Quality
from edge_agent.sparkplug import sparkplug_b_pb2 as pb
from edge_agent.sparkplug.datatypes import DataType
from edge_agent.sparkplug.payloads import (
    REBIRTH_METRIC,
    MetricDefinition,
    birth_payload,
    data_payload,
    death_payload,
    decode,
    device_birth_payload,
    metric_value,
    rebirth_requested,
    set_metric_value,
    written_value,
)
from edge_agent.tags import Reading, TagValue

from .node_client import INTEROP_DIR, NODE_MODULES

JUDGE = INTEROP_DIR / "sparkplug_judge.mjs"
T0_MS = 1_700_000_000_000
INT64_MIN, INT64_MAX, UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1

Json = dict[str, Any]


def run_judge(mode: str, text: str) -> Json:
    if shutil.which("node") is None:
        pytest.fail("Node.js (20 or newer) is not on PATH; install it, then run `make test`")
    if not (NODE_MODULES / "sparkplug-payload").is_dir():
        pytest.fail(
            f"sparkplug-payload is not installed in {NODE_MODULES}: run `make test` (it runs `npm ci` there)"
        )
    done = subprocess.run(
        ["node", str(JUDGE), mode],
        input=text,
        capture_output=True,
        text=True,
        cwd=INTEROP_DIR,
        timeout=30,
        check=False,
    )
    try:
        result: Json = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"the judge exited with {done.returncode} and no JSON: {done.stdout!r} {done.stderr!r}")
    assert done.returncode == 0, f"the judge failed: {result.get('error')} {done.stderr}"
    return result


def judged(payload: bytes) -> tuple[Json, Json]:
    """What Tahu's library makes of ``payload``, and the protobuf message as Tahu's schema reads it."""
    result = run_judge("decode", base64.b64encode(payload).decode())
    assert "payloadError" not in result, f"Tahu's library cannot read the payload: {result['payloadError']}"
    return result["payload"], result["raw"]


def raw_judged(payload: bytes) -> Json:
    """The protobuf message in ``payload`` as Tahu's schema reads it, whatever Tahu's library makes of it."""
    raw: Json = run_judge("decode", base64.b64encode(payload).decode())["raw"]
    return raw


def encoded_by_judge(payload: Json) -> bytes:
    return base64.b64decode(run_judge("encode", json.dumps(payload))["base64"])


def plain(message: Any) -> Any:
    """Our decoding of a message in the judge's raw form: camelCase names, 64-bit ints and bytes as text."""
    if not hasattr(message, "ListFields"):
        return message
    fields: Json = {}
    for field, value in message.ListFields():
        if field.is_repeated:
            fields[field.json_name] = [plain_scalar(field, item) for item in value]
        else:
            fields[field.json_name] = plain_scalar(field, value)
    return fields


def plain_scalar(field: Any, value: Any) -> Any:
    if field.type in (field.TYPE_UINT64, field.TYPE_INT64):
        return str(value)
    if field.type == field.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return plain(value)


def reading(tag: str, value: TagValue | None, quality: Quality = Quality.Good) -> Reading:
    return Reading(tag, value, quality, source_time_ns=T0_MS * 1_000_000)


def float32(value: float) -> float:
    narrowed: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return narrowed


TEMPERATURE = MetricDefinition(
    "Motor/temperature", 10, DataType.Double, unit="degC", low=-40.0, high=150.0, semantic_id="urn:temp"
)
SETPOINT = MetricDefinition("Motor/setpoint", 11, DataType.Int16, writable=True)
RUNNING = MetricDefinition("Motor/running", 12, DataType.Boolean)

# Every scalar datatype a tag's reading can carry, at its extremes: (definition, reading value, what
# Tahu's library reads: 64-bit integers as decimal strings).
EXTREMES: list[tuple[MetricDefinition, TagValue, Any]] = [
    (MetricDefinition("int8/min", 20, DataType.Int8), -128, -128),
    (MetricDefinition("int8/max", 21, DataType.Int8), 127, 127),
    (MetricDefinition("int16/min", 22, DataType.Int16), -32768, -32768),
    (MetricDefinition("int32/min", 23, DataType.Int32), -(2**31), -(2**31)),
    (MetricDefinition("int32/max", 24, DataType.Int32), 2**31 - 1, 2**31 - 1),
    (MetricDefinition("int64/min", 25, DataType.Int64), INT64_MIN, str(INT64_MIN)),
    (MetricDefinition("int64/max", 26, DataType.Int64), INT64_MAX, str(INT64_MAX)),
    (MetricDefinition("int64/minus_one", 27, DataType.Int64), -1, "-1"),
    (MetricDefinition("uint8/max", 28, DataType.UInt8), 255, 255),
    (MetricDefinition("uint16/max", 29, DataType.UInt16), 65535, 65535),
    (MetricDefinition("uint64/max", 31, DataType.UInt64), UINT64_MAX, str(UINT64_MAX)),
    (MetricDefinition("float", 32, DataType.Float), 0.1, float32(0.1)),
    (MetricDefinition("double", 33, DataType.Double), -1.7976931348623157e308, -1.7976931348623157e308),
    (MetricDefinition("boolean", 34, DataType.Boolean), True, True),
    (MetricDefinition("string", 35, DataType.String), "Drehzahl µ/min ✓", "Drehzahl µ/min ✓"),
    (MetricDefinition("text", 36, DataType.Text), "two\nlines", "two\nlines"),
    (
        MetricDefinition("uuid", 37, DataType.UUID),
        "123e4567-e89b-12d3-a456-426614174000",
        "123e4567-e89b-12d3-a456-426614174000",
    ),
    (MetricDefinition("datetime", 38, DataType.DateTime), T0_MS, str(T0_MS)),
]


def test_the_judge_reads_the_same_message_from_our_bytes_as_we_do() -> None:
    definitions = [definition for definition, _, _ in EXTREMES]
    readings = {definition.name: reading(definition.name, value) for definition, value, _ in EXTREMES}
    payload = birth_payload([TEMPERATURE, *definitions], readings, bd_seq=200, timestamp_ms=T0_MS)

    _, raw = judged(payload)

    assert raw == plain(decode(payload))


def test_every_field_of_every_message_is_numbered_and_typed_as_in_tahus_schema() -> None:
    payload = pb.Payload(timestamp=T0_MS, seq=1, uuid="schema-1", body=b"\x01\x02")
    metric = payload.metrics.add(name="all", alias=1, timestamp=T0_MS, datatype=DataType.File)
    metric.is_historical, metric.is_transient, metric.bytes_value = True, True, b"%PDF"
    metric.metadata.CopyFrom(
        pb.Payload.MetaData(
            is_multi_part=True,
            content_type="application/pdf",
            size=4,
            seq=UINT64_MAX,
            file_name="a.pdf",
            file_type="pdf",
            md5="d41d8cd98f00b204e9800998ecf8427e",
            description="{}",
        )
    )
    inner = pb.Payload.PropertySet(
        keys=["x"], values=[pb.Payload.PropertyValue(type=DataType.Int64, long_value=5)]
    )
    metric.properties.keys.extend(["set", "sets", "null", "float"])
    metric.properties.values.add(type=DataType.PropertySet, propertyset_value=inner)
    metric.properties.values.add(
        type=DataType.PropertySetList,
        propertysets_value=pb.Payload.PropertySetList(propertyset=[inner, inner]),
    )
    metric.properties.values.add(type=DataType.String, is_null=True)
    metric.properties.values.add(type=DataType.Float, float_value=0.5)
    table = payload.metrics.add(name="table", alias=2, timestamp=T0_MS, datatype=DataType.DataSet)
    table.dataset_value.num_of_columns = 2
    table.dataset_value.columns.extend(["n", "label"])
    table.dataset_value.types.extend([DataType.Int64, DataType.String])
    for number, label in ((UINT64_MAX, "a"), (2, "b")):
        row = table.dataset_value.rows.add()
        row.elements.add(long_value=number)
        row.elements.add(string_value=label)
    udt = payload.metrics.add(name="udt", alias=3, timestamp=T0_MS, datatype=DataType.Template)
    udt.template_value.version = "1.0"
    udt.template_value.template_ref = "Motor"
    udt.template_value.is_definition = False
    udt.template_value.metrics.add(name="speed", datatype=DataType.Double, double_value=1.5)
    udt.template_value.parameters.add(name="poles", type=DataType.UInt32, int_value=4)
    udt.template_value.parameters.add(name="rated", type=DataType.Double, double_value=7.5)
    encoded = payload.SerializeToString()

    # Not the library's view: sparkplug-payload 1.0.3 throws on the UInt32 parameter in int_value.
    assert raw_judged(encoded) == plain(decode(encoded))


def test_an_nbirth_as_tahu_reads_it() -> None:
    readings = {
        TEMPERATURE.name: reading(TEMPERATURE.name, 61.5),
        SETPOINT.name: reading(SETPOINT.name, -1200),
        RUNNING.name: reading(RUNNING.name, None, Quality.BadWaitingForInitialData),
    }

    judged_payload, _ = judged(
        birth_payload([TEMPERATURE, SETPOINT, RUNNING], readings, bd_seq=3, timestamp_ms=T0_MS)
    )

    assert (judged_payload["seq"], judged_payload["timestamp"]) == ("0", str(T0_MS))
    assert [
        (metric["name"], metric.get("alias"), metric["type"], metric["value"], metric["timestamp"])
        for metric in judged_payload["metrics"]
    ] == [
        ("bdSeq", None, "Int64", "3", str(T0_MS)),
        (REBIRTH_METRIC, None, "Boolean", False, str(T0_MS)),
        (TEMPERATURE.name, "10", "Double", 61.5, str(T0_MS)),
        (SETPOINT.name, "11", "Int16", -1200, str(T0_MS)),
        (RUNNING.name, "12", "Boolean", None, str(T0_MS)),
    ]
    properties = [metric.get("properties") for metric in judged_payload["metrics"]]
    assert properties[2] == {
        "engUnit": {"type": "String", "value": "degC"},
        "engLow": {"type": "Double", "value": -40.0},
        "engHigh": {"type": "Double", "value": 150.0},
        "readOnly": {"type": "Boolean", "value": True},
        "semanticId": {"type": "String", "value": "urn:temp"},
    }
    assert properties[3] == {"readOnly": {"type": "Boolean", "value": False}}
    assert properties[4] == {
        "readOnly": {"type": "Boolean", "value": True},
        "Quality": {"type": "Int32", "value": 0},
        "statusCode": {"type": "Int64", "value": str(int(Quality.BadWaitingForInitialData))},
    }


def test_every_datatype_at_its_extremes_as_tahu_reads_it() -> None:
    definitions = [definition for definition, _, _ in EXTREMES]
    readings = {definition.name: reading(definition.name, value) for definition, value, _ in EXTREMES}

    judged_payload, _ = judged(device_birth_payload(definitions, readings, seq=1, timestamp_ms=T0_MS))

    assert {metric["name"]: (metric["type"], metric["value"]) for metric in judged_payload["metrics"]} == {
        definition.name: (definition.datatype.name, expected) for definition, _, expected in EXTREMES
    }


def test_a_uint32_travels_in_int_value_as_the_specification_has_it() -> None:
    # sparkplug-payload 1.0.3 reads UInt32 from long_value only (its encoder writes it there), so the
    # judge's library view has no value for it; the raw view shows the field and the value.
    definition = MetricDefinition("uint32/max", 30, DataType.UInt32)

    _, raw = judged(
        device_birth_payload(
            [definition], {definition.name: reading(definition.name, 2**32 - 1)}, seq=1, timestamp_ms=T0_MS
        )
    )

    [metric] = raw["metrics"]
    assert (metric["datatype"], metric["intValue"], "longValue" in metric) == (
        DataType.UInt32,
        2**32 - 1,
        False,
    )


def test_bytes_and_files_as_tahu_reads_them() -> None:
    payload = pb.Payload(timestamp=T0_MS, seq=2)
    set_metric_value(
        payload.metrics.add(name="blob", alias=40, timestamp=T0_MS), DataType.Bytes, b"\x00\xff\x10"
    )
    set_metric_value(payload.metrics.add(name="file", alias=41, timestamp=T0_MS), DataType.File, b"%PDF")

    judged_payload, _ = judged(payload.SerializeToString())

    assert [(metric["type"], metric["value"]) for metric in judged_payload["metrics"]] == [
        ("Bytes", base64.b64encode(b"\x00\xff\x10").decode()),
        ("File", base64.b64encode(b"%PDF").decode()),
    ]


@pytest.mark.parametrize("historical", [False, True])
def test_data_as_tahu_reads_it_aliases_only(historical: bool) -> None:
    changes = [
        (TEMPERATURE, reading(TEMPERATURE.name, 62.25)),
        (SETPOINT, reading(SETPOINT.name, -7)),
        (RUNNING, reading(RUNNING.name, True, Quality.BadCommunicationError)),
    ]

    judged_payload, raw = judged(data_payload(changes, seq=255, timestamp_ms=T0_MS, historical=historical))

    assert judged_payload["seq"] == "255"
    assert [
        (
            metric.get("name"),
            metric["alias"],
            metric["type"],
            metric["value"],
            metric.get("isHistorical", False),
        )
        for metric in judged_payload["metrics"]
    ] == [
        (None, "10", "Double", 62.25, historical),
        (None, "11", "Int16", -7, historical),
        (None, "12", "Boolean", None, historical),
    ]
    assert judged_payload["metrics"][2]["properties"]["Quality"] == {"type": "Int32", "value": 0}
    assert all("name" not in metric for metric in raw["metrics"])


def test_an_ndeath_as_tahu_reads_it() -> None:
    judged_payload, raw = judged(death_payload(4, timestamp_ms=T0_MS))

    assert "seq" not in raw
    assert [(metric["name"], metric["type"], metric["value"]) for metric in judged_payload["metrics"]] == [
        ("bdSeq", "Int64", "4")
    ]


def test_a_rebirth_request_tahu_encodes_is_one_we_see() -> None:
    ncmd = encoded_by_judge(
        {
            "timestamp": T0_MS,
            "metrics": [{"name": REBIRTH_METRIC, "type": "Boolean", "value": True, "timestamp": T0_MS}],
        }
    )

    payload = decode(ncmd)

    assert rebirth_requested(payload)
    assert payload.HasField("seq") is False


def test_writes_tahu_encodes_are_read_with_their_values_and_types() -> None:
    ratio = MetricDefinition("ratio", 13, DataType.Float, writable=True)
    label = MetricDefinition("label", 14, DataType.String, writable=True)
    counter = MetricDefinition("counter", 15, DataType.UInt32, writable=True)
    total = MetricDefinition("total", 16, DataType.UInt64, writable=True)
    offset = MetricDefinition("offset", 17, DataType.Int64, writable=True)
    writes: list[tuple[MetricDefinition, str, Any, TagValue]] = [
        (SETPOINT, "Int16", -300, -300),
        (SETPOINT, "Int64", "1500", 1500),
        (TEMPERATURE, "Double", -0.5, -0.5),
        (ratio, "Float", 0.25, 0.25),
        (RUNNING, "Boolean", True, True),
        (label, "String", "ein Wert ✓", "ein Wert ✓"),
        # Tahu's JavaScript encoder puts UInt32 in long_value.
        (counter, "UInt32", 4_000_000_000, 4_000_000_000),
        (total, "UInt64", str(UINT64_MAX), UINT64_MAX),
        (offset, "Int64", str(INT64_MIN), INT64_MIN),
    ]
    dcmd = encoded_by_judge(
        {
            "timestamp": T0_MS,
            "metrics": [
                {"alias": definition.alias, "type": sent_type, "value": sent, "timestamp": T0_MS}
                for definition, sent_type, sent, _ in writes
            ],
        }
    )

    payload = decode(dcmd)

    assert [metric.alias for metric in payload.metrics] == [
        definition.alias for definition, _, _, _ in writes
    ]
    assert not any(metric.HasField("name") for metric in payload.metrics)
    assert [
        written_value(metric, definition)
        for metric, (definition, _, _, _) in zip(payload.metrics, writes, strict=True)
    ] == [expected for _, _, _, expected in writes]
    assert [metric_value(metric) for metric in payload.metrics][-3:] == [4_000_000_000, UINT64_MAX, INT64_MIN]


def test_bytes_tahu_encodes_are_read_back() -> None:
    payload = decode(
        encoded_by_judge(
            {"timestamp": T0_MS, "metrics": [{"alias": 40, "type": "Bytes", "value": {"$base64": "AP8Q"}}]}
        )
    )

    assert metric_value(payload.metrics[0]) == b"\x00\xff\x10"
