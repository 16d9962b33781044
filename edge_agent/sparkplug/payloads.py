"""Sparkplug B payloads: the births, data and deaths an edge node publishes, and reading what hosts send.

Builders return the encoded payload, ready to publish; ``decode`` and ``metric_value`` read one. Nothing
here knows MQTT, sequence state or aliases' allocation: the caller numbers messages (``next_seq``) and
assigns each metric its alias.

References are to the Sparkplug 3.0 specification: its chapter 6 "Payloads" and its tck-id-* assertions.

Datatypes and values. Each value goes into the oneof field the specification's "Datatype Details" give
its datatype: Int8, Int16 and Int32 in int_value as the two's complement of the value in 32 bits, Int64 in
long_value in 64 bits, UInt8 to UInt32 in int_value, UInt64 and DateTime in long_value. Reading is
lenient where peers differ: an integer is taken from int_value or long_value (Eclipse Tahu's JavaScript
library puts UInt32 in long_value), a Float or Double from float_value or double_value.

Quality. Sparkplug 3.0 has no quality field. Its "Quality" property ("Quality Codes",
tck-id-payloads-propertyset-quality-value-type and -value) is an Int32 of 0 (BAD), 192 (GOOD) or 500
(STALE) and is required only when the quality is not GOOD, so a metric without it is GOOD (Cirrus Link's
MQTT modules read it so too). A reading that is not Good gets "Quality" 0 (Bad) or 500 (Uncertain), and
"statusCode", an Int64 with the OPC UA StatusCode the agent holds (0x80310000 BadNoCommunication), which
the three Sparkplug codes cannot tell apart. A Good reading gets neither.

Null. A reading without a value, and a Bad reading whatever value it has, is sent with is_null and no
value (the Metric's is_null: "explicitly say so rather than using -1, false, etc."). The tag store
keeps a Bad tag's last value for OPC UA, whose clients must look at each value's status; Sparkplug hosts
that do not read properties would take that value as current, so it is not sent. An Uncertain reading
keeps its value. A value the metric's datatype cannot carry (70000 for an Int16) is sent null with
Quality 0 and statusCode BadOutOfRange or BadTypeMismatch, the quality the OPC UA server gives it.

Names and aliases. Births name every metric and give the tag metrics their alias; data messages carry
the alias only (tck-id-payloads-alias-data-cmd-requirement), with the timestamp and the datatype, so that
decoders without the birth's alias table (Tahu's JavaScript one) still read the value. The node control
metrics (bdSeq, Node Control/Rebirth) have no alias: hosts address them by name.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from ..quality import Quality
from ..tags import Reading, TagInfo, TagValue
from . import sparkplug_b_pb2 as pb
from .datatypes import (
    BYTES,
    FLOATS,
    INTEGER_RANGES,
    SCALARS,
    SIGNED_INTEGERS,
    STRINGS,
    DataType,
    datatype_of,
)

Payload = pb.Payload
Metric = pb.Payload.Metric
PropertyValue = pb.Payload.PropertyValue

MetricValue = bool | int | float | str | bytes
"""A metric's value as Python holds it: what ``metric_value`` returns for each scalar datatype."""

BD_SEQ_METRIC = "bdSeq"
REBIRTH_METRIC = "Node Control/Rebirth"

# Property keys. engUnit, engLow, engHigh, readOnly and documentation are Ignition's tag property names,
# which its MQTT Engine maps metric properties onto; Quality is the specification's.
ENG_UNIT = "engUnit"
ENG_LOW = "engLow"
ENG_HIGH = "engHigh"
READ_ONLY = "readOnly"
DOCUMENTATION = "documentation"
SEMANTIC_ID = "semanticId"
QUALITY = "Quality"
STATUS_CODE = "statusCode"

SPARKPLUG_BAD = 0
SPARKPLUG_GOOD = 192
SPARKPLUG_STALE = 500

SEQ_MODULUS = 256
"""seq and bdSeq count 0 to 255, then start at 0 again."""

_UINT32 = 1 << 32
_UINT64 = 1 << 64
_LONG_TYPES = frozenset({DataType.Int64, DataType.UInt64, DataType.DateTime})
_FLOAT32 = struct.Struct("<f")
_FLOAT32_MAX = 3.4028234663852886e38
_NS_PER_MS = 1_000_000


class PayloadError(ValueError):
    """Bytes that are not a Sparkplug B payload, or a payload the caller cannot use as asked."""


class MetricValueError(ValueError):
    """A value a metric's datatype cannot carry, or a metric whose value cannot be read as its datatype.

    ``quality`` is the OPC UA status the value gets, as the agent's OPC UA server would give it.
    """

    def __init__(self, quality: Quality, message: str) -> None:
        super().__init__(message)
        self.quality = quality


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """What a birth says about one metric: its name, the alias data messages use, and its properties."""

    name: str
    alias: int
    datatype: DataType
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    writable: bool = False
    description: str | None = None
    semantic_id: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a metric needs a name")
        if not 0 <= self.alias < _UINT64:
            raise ValueError(f"metric {self.name}: alias {self.alias} is not a uint64")
        if self.datatype not in SCALARS:
            raise ValueError(f"metric {self.name}: {self.datatype.name} metrics are not supported")

    @classmethod
    def from_tag(
        cls, info: TagInfo, alias: int, *, semantic_id: str | None = None, name: str | None = None
    ) -> MetricDefinition:
        """The tag's metric, named as the tag unless ``name`` is given; ``semantic_id`` beats the tag's."""
        low, high = info.range if info.range is not None else (None, None)
        return cls(
            name=info.name if name is None else name,
            alias=alias,
            datatype=datatype_of(info),
            unit=info.unit,
            low=low,
            high=high,
            writable=info.writable,
            description=info.description or None,
            semantic_id=semantic_id if semantic_id is not None else info.semantic_id,
        )


def next_seq(seq: int) -> int:
    """The seq (or bdSeq) after ``seq``: 255 is followed by 0 (tck-id-payloads-sequence-num-incrementing)."""
    _check_seq("seq", seq)
    return (seq + 1) % SEQ_MODULUS


def birth_payload(
    definitions: Iterable[MetricDefinition],
    readings: Mapping[str, Reading],
    *,
    bd_seq: int,
    timestamp_ms: int,
    seq: int = 0,
) -> bytes:
    """The NBIRTH: bdSeq first, then Node Control/Rebirth false, then every metric with its current value.

    ``readings`` holds the current reading by metric name; a metric without one is born null, waiting for
    its first value. The NBIRTH's seq is always 0 (tck-id-payloads-nbirth-seq).
    """
    if seq != 0:
        raise ValueError(f"an NBIRTH has seq 0, not {seq} (tck-id-payloads-nbirth-seq)")
    _check_seq("bdSeq", bd_seq)
    payload = _payload(seq=seq, timestamp_ms=timestamp_ms)
    _add_bd_seq(payload, bd_seq, timestamp_ms)
    rebirth = payload.metrics.add(name=REBIRTH_METRIC, timestamp=timestamp_ms, datatype=DataType.Boolean)
    rebirth.boolean_value = False
    _add_births(payload, definitions, readings, timestamp_ms, reserved={BD_SEQ_METRIC, REBIRTH_METRIC})
    return _encode(payload)


def device_birth_payload(
    definitions: Iterable[MetricDefinition],
    readings: Mapping[str, Reading],
    *,
    seq: int,
    timestamp_ms: int,
) -> bytes:
    """A DBIRTH: every metric of the device with its current value, as ``birth_payload`` has them."""
    _check_seq("seq", seq)
    payload = _payload(seq=seq, timestamp_ms=timestamp_ms)
    _add_births(payload, definitions, readings, timestamp_ms, reserved=set())
    return _encode(payload)


def data_payload(
    changes: Iterable[tuple[MetricDefinition, Reading]],
    *,
    seq: int,
    timestamp_ms: int,
    historical: bool = False,
) -> bytes:
    """An NDATA or DDATA with one metric per change, by alias; ``historical`` marks each metric is_historical.

    Historical metrics are those sent late (store and forward): hosts record them but do not take them as
    the current value. Several changes of one metric may be in one payload, oldest first.
    """
    _check_seq("seq", seq)
    payload = _payload(seq=seq, timestamp_ms=timestamp_ms)
    for definition, reading in changes:
        metric = payload.metrics.add(alias=definition.alias)
        if historical:
            metric.is_historical = True
        quality = _add_reading(metric, definition.datatype, reading, timestamp_ms)
        _add_properties(metric, _quality_properties(quality))
    return _encode(payload)


def death_payload(bd_seq: int, *, timestamp_ms: int | None = None) -> bytes:
    """The NDEATH, registered as the MQTT will: the bdSeq metric only, no seq (tck-id-topics-ndeath-payload).

    ``timestamp_ms`` is when the will was registered, if given; the payload is made before the death it
    announces, so it cannot tell when that happens.
    """
    _check_seq("bdSeq", bd_seq)
    payload = Payload()
    if timestamp_ms is not None:
        payload.timestamp = _checked_ms(timestamp_ms)
    _add_bd_seq(payload, bd_seq, timestamp_ms)
    return _encode(payload)


def device_death_payload(*, seq: int, timestamp_ms: int) -> bytes:
    """A DDEATH: no metrics, a seq and a timestamp (tck-id-payloads-ddeath-seq)."""
    _check_seq("seq", seq)
    return _encode(_payload(seq=seq, timestamp_ms=timestamp_ms))


def decode(data: bytes) -> Payload:
    """The payload encoded in ``data``; raises PayloadError if it is not a Sparkplug B payload."""
    payload = Payload()
    try:
        payload.ParseFromString(data)
    except DecodeError as error:
        raise PayloadError(f"not a Sparkplug B payload: {error}") from None
    return payload


def metric_value(metric: Metric, datatype: DataType | None = None) -> MetricValue | None:
    """The metric's value in Python terms (two's complement undone), None when it is null.

    The metric's own datatype is used; ``datatype`` (the birth's, for a command that leaves it out) when it
    has none. Raises MetricValueError when neither is known, the datatype is not a scalar one, or the value
    is missing or out of the datatype's range.
    """
    if metric.is_null:
        return None
    return _value(metric, _datatype(metric.datatype, datatype, f"metric {_label(metric)}"))


def set_metric_value(metric: Metric, datatype: DataType, value: object) -> None:
    """Give ``metric`` the datatype and the value, converted as births and data convert a reading's.

    Raises MetricValueError, with the quality the value would get, when the datatype cannot carry it.
    """
    fitting = _fitting(datatype, value)
    metric.datatype = datatype
    _set_value(metric, datatype, fitting)


def written_value(metric: Metric, definition: MetricDefinition) -> TagValue:
    """The value a host writes to a metric in an NCMD or DCMD, as the metric's tag takes it.

    The rules of an OPC UA write to the tag: a value of the metric's own datatype is taken; one of
    another numeric datatype when the definition's holds it exactly (an Int64 1500 for a UInt16 metric,
    a UInt16 for a Double one). A value out of an integer datatype's range raises MetricValueError with
    BadOutOfRange, any other misfit (a null, a string for a number, 3.5 for an integer) BadTypeMismatch.
    """
    target = definition.datatype
    value = metric_value(metric, target)
    sent = target if metric.datatype == DataType.Unknown else DataType(metric.datatype)
    mismatch = MetricValueError(
        Quality.BadTypeMismatch, f"{definition.name}: a {target.name} cannot take {value!r}"
    )
    if value is None or isinstance(value, bytes):
        raise mismatch
    if sent == target or (sent in STRINGS and target in STRINGS):
        return value
    if target in INTEGER_RANGES and sent in INTEGER_RANGES and isinstance(value, int):
        low, high = INTEGER_RANGES[target]
        if not low <= value <= high:
            raise MetricValueError(
                Quality.BadOutOfRange, f"{definition.name}: {value} does not fit a {target.name}"
            )
        return value
    if target in FLOATS and (sent in INTEGER_RANGES or sent in FLOATS):
        number = float(value)
        if number != value:
            raise mismatch  # an integer beyond 2**53 that a double would round
        if target is DataType.Float and math.isfinite(number) and _narrowed(number) != number:
            raise mismatch
        return number
    raise mismatch


def property_values(metric: Metric) -> dict[str, MetricValue | None]:
    """The metric's properties by key, scalar ones only; raises PayloadError on a malformed set."""
    properties = metric.properties
    if len(properties.keys) != len(properties.values):
        counts = f"{len(properties.keys)} property keys for {len(properties.values)} values"
        raise PayloadError(f"metric {_label(metric)}: {counts}")
    values: dict[str, MetricValue | None] = {}
    for key, value in zip(properties.keys, properties.values, strict=True):
        if value.is_null:
            values[key] = None
            continue
        try:
            values[key] = _value(value, _datatype(value.type, None, f"property {key}"))
        except MetricValueError as error:
            raise PayloadError(f"metric {_label(metric)}: {error}") from None
    return values


def rebirth_requested(payload: Payload) -> bool:
    """Whether an NCMD asks for a rebirth: Node Control/Rebirth written true, by name."""
    return any(
        metric.name == REBIRTH_METRIC
        and not metric.is_null
        and metric.WhichOneof("value") == "boolean_value"
        and metric.boolean_value
        for metric in payload.metrics
    )


def sparkplug_quality(quality: Quality) -> int:
    """The specification's quality code for an OPC UA status: 192 Good, 500 (STALE) Uncertain, 0 Bad."""
    if quality.is_good:
        return SPARKPLUG_GOOD
    return SPARKPLUG_BAD if quality.is_bad else SPARKPLUG_STALE


def _payload(*, seq: int, timestamp_ms: int) -> Payload:
    return Payload(timestamp=_checked_ms(timestamp_ms), seq=seq)


def _encode(payload: Payload) -> bytes:
    encoded: bytes = payload.SerializeToString()
    return encoded


def _add_bd_seq(payload: Payload, bd_seq: int, timestamp_ms: int | None) -> None:
    # Int64, as Tahu sends it: the specification's text names no datatype, its examples show UInt64.
    metric = payload.metrics.add(name=BD_SEQ_METRIC, datatype=DataType.Int64)
    if timestamp_ms is not None:
        metric.timestamp = timestamp_ms
    _set_value(metric, DataType.Int64, bd_seq)


def _add_births(
    payload: Payload,
    definitions: Iterable[MetricDefinition],
    readings: Mapping[str, Reading],
    timestamp_ms: int,
    *,
    reserved: set[str],
) -> None:
    names = set(reserved)
    aliases: set[int] = set()
    for definition in definitions:
        if definition.name in names:
            raise ValueError(f"metric name {definition.name!r} is used twice in one birth")
        if definition.alias in aliases:
            # tck-id-payloads-alias-uniqueness
            raise ValueError(f"alias {definition.alias} is used twice in one birth ({definition.name})")
        names.add(definition.name)
        aliases.add(definition.alias)
        metric = payload.metrics.add(name=definition.name, alias=definition.alias)
        quality = _add_reading(metric, definition.datatype, readings.get(definition.name), timestamp_ms)
        _add_properties(metric, [*_definition_properties(definition), *_quality_properties(quality)])


def _add_reading(metric: Metric, datatype: DataType, reading: Reading | None, fallback_ms: int) -> Quality:
    """Set the metric's datatype, timestamp and value (or is_null); returns the quality the metric has."""
    metric.datatype = datatype
    if reading is None:
        # Every birth metric needs a timestamp (tck-id-payloads-name-birth-data-requirement).
        metric.timestamp = fallback_ms
        metric.is_null = True
        return Quality.BadWaitingForInitialData
    metric.timestamp = _checked_ms(reading.source_time_ns // _NS_PER_MS)
    quality = reading.quality
    if reading.value is not None and not quality.is_bad:
        try:
            _set_value(metric, datatype, _fitting(datatype, reading.value))
        except MetricValueError as error:
            quality = error.quality
        else:
            return quality
    metric.is_null = True
    return quality


_Property = tuple[str, DataType, MetricValue]


def _definition_properties(definition: MetricDefinition) -> list[_Property]:
    properties: list[_Property] = []
    if definition.unit is not None:
        properties.append((ENG_UNIT, DataType.String, definition.unit))
    if definition.low is not None:
        properties.append((ENG_LOW, DataType.Double, float(definition.low)))
    if definition.high is not None:
        properties.append((ENG_HIGH, DataType.Double, float(definition.high)))
    properties.append((READ_ONLY, DataType.Boolean, not definition.writable))
    if definition.description is not None:
        properties.append((DOCUMENTATION, DataType.String, definition.description))
    if definition.semantic_id is not None:
        properties.append((SEMANTIC_ID, DataType.String, definition.semantic_id))
    return properties


def _quality_properties(quality: Quality) -> list[_Property]:
    if quality.is_good:
        return []
    return [
        (QUALITY, DataType.Int32, sparkplug_quality(quality)),
        # Int64 rather than the StatusCode's own UInt32, which Tahu's JavaScript decoder reads from
        # long_value only while the specification puts it in int_value.
        (STATUS_CODE, DataType.Int64, int(quality)),
    ]


def _add_properties(metric: Metric, properties: Sequence[_Property]) -> None:
    for key, datatype, value in properties:
        metric.properties.keys.append(key)
        holder = metric.properties.values.add(type=datatype)
        _set_value(holder, datatype, value)


def _fitting(datatype: DataType, value: object) -> MetricValue:
    """``value`` as ``datatype`` carries it, converted without loss only; raises MetricValueError.

    The same conversions as the OPC UA server's: an integer type takes 3.0 but not 3.7 and a bool as 0
    or 1, a float type any number (a Float rounds to 32 bits, as the source's float32 was), Boolean a
    bool or 0 or 1, a string type anything as its str().
    """
    if datatype in FLOATS and isinstance(value, float):
        # The common case first: a float reading for a float metric.
        if datatype is DataType.Float and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
            raise MetricValueError(Quality.BadOutOfRange, f"{value!r} does not fit a Float")
        return value
    mismatch = MetricValueError(Quality.BadTypeMismatch, f"{value!r} is not a {datatype.name}")
    if datatype in INTEGER_RANGES:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            raise mismatch
        low, high = INTEGER_RANGES[datatype]
        if not low <= value <= high:
            raise MetricValueError(Quality.BadOutOfRange, f"{value!r} does not fit a {datatype.name}")
        return int(value)
    if datatype in FLOATS:
        if not isinstance(value, int | float):
            raise mismatch
        try:
            number = float(value)
        except OverflowError:
            raise MetricValueError(
                Quality.BadOutOfRange, f"{value!r} does not fit a {datatype.name}"
            ) from None
        if datatype is DataType.Float and math.isfinite(number) and abs(number) > _FLOAT32_MAX:
            raise MetricValueError(Quality.BadOutOfRange, f"{value!r} does not fit a Float")
        return number
    if datatype is DataType.Boolean:
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise mismatch
    if datatype in STRINGS:
        if isinstance(value, bytes | bytearray):
            raise mismatch
        text = value if isinstance(value, str) else str(value)
        try:
            text.encode()
        except UnicodeEncodeError:
            raise MetricValueError(Quality.BadTypeMismatch, f"{text!r} is not valid UTF-8 text") from None
        return text
    if datatype in BYTES:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        raise mismatch
    raise MetricValueError(Quality.BadTypeMismatch, f"{datatype.name} values are not supported")


def _set_value(holder: Metric | PropertyValue, datatype: DataType, value: MetricValue) -> None:
    """Put an already fitting value into the oneof field of its datatype ("Datatype Details")."""
    if datatype in INTEGER_RANGES and isinstance(value, int):
        if datatype in _LONG_TYPES:
            holder.long_value = value % _UINT64
        else:
            holder.int_value = value % _UINT32
    elif datatype is DataType.Float and isinstance(value, float):
        holder.float_value = value
    elif datatype is DataType.Double and isinstance(value, float):
        holder.double_value = value
    elif datatype is DataType.Boolean and isinstance(value, bool):
        holder.boolean_value = value
    elif datatype in STRINGS and isinstance(value, str):
        holder.string_value = value
    elif datatype in BYTES and isinstance(value, bytes) and isinstance(holder, Metric):
        holder.bytes_value = value
    else:
        raise MetricValueError(Quality.BadTypeMismatch, f"{value!r} cannot be set as a {datatype.name}")


def _value(holder: Metric | PropertyValue, datatype: DataType) -> MetricValue:
    field = holder.WhichOneof("value")
    missing = MetricValueError(Quality.BadTypeMismatch, f"no {datatype.name} value (got {field})")
    if datatype in INTEGER_RANGES:
        if field == "int_value":
            raw, bits = holder.int_value, 32
        elif field == "long_value":
            raw, bits = holder.long_value, 64
        else:
            raise missing
        number = raw - (1 << bits) if datatype in SIGNED_INTEGERS and raw >= 1 << (bits - 1) else raw
        low, high = INTEGER_RANGES[datatype]
        if not low <= number <= high:
            raise MetricValueError(Quality.BadOutOfRange, f"{number} does not fit a {datatype.name}")
        return number
    if datatype in FLOATS and field in ("float_value", "double_value"):
        number_value: float = holder.float_value if field == "float_value" else holder.double_value
        return number_value
    if datatype is DataType.Boolean and field == "boolean_value":
        flag: bool = holder.boolean_value
        return flag
    if datatype in STRINGS and field == "string_value":
        text: str = holder.string_value
        return text
    if datatype in BYTES and field == "bytes_value" and isinstance(holder, Metric):
        data: bytes = holder.bytes_value
        return data
    raise missing


def _datatype(number: int, fallback: DataType | None, what: str) -> DataType:
    if number == DataType.Unknown:
        if fallback is None:
            raise MetricValueError(Quality.BadTypeMismatch, f"{what} has no datatype")
        return fallback
    try:
        datatype = DataType(number)
    except ValueError:
        raise MetricValueError(
            Quality.BadTypeMismatch, f"{what} has datatype {number}, not a Sparkplug one"
        ) from None
    if datatype not in SCALARS:
        raise MetricValueError(Quality.BadTypeMismatch, f"{what}: {datatype.name} values are not supported")
    return datatype


def _label(metric: Metric) -> str:
    return metric.name if metric.HasField("name") else f"alias {metric.alias}"


def _narrowed(value: float) -> float:
    try:
        narrowed: float = _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    except OverflowError:
        return math.inf
    return narrowed


def _check_seq(what: str, seq: int) -> None:
    if not 0 <= seq < SEQ_MODULUS:
        raise ValueError(f"{what} {seq} is not within 0..255")


def _checked_ms(ms: int) -> int:
    if not 0 <= ms < _UINT64:
        raise ValueError(f"timestamp {ms} ms is not a uint64")
    return ms
