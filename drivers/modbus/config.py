"""The config of a Modbus source: how to reach the bus, the devices on it, and their register maps.

A source is one connection: a TCP device or gateway (``tcp``), a serial line (``rtu``), or a TCP serial
gateway spoken to in RTU frames (``rtu_over_tcp``). One or more devices, told apart by their unit id,
answer on it. Device settings given on the source are the defaults of every device.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, field_validator, model_validator

from drivers.base_config import (
    ConfigIssue,
    ConfigModel,
    ConfigPath,
    DeclaredTag,
    Duration,
    PointConfigBase,
    SourceConfigBase,
    ValueRange,
    at_least,
    config_error,
    invalid,
    shown,
)
from edge_agent.tags import DataType, TagInfo

LAST_ADDRESS = 65535
MAX_REGISTERS_PER_READ = 125  # Modbus application protocol limit for function codes 3 and 4
MAX_BITS_PER_READ = 2000  # ... and for function codes 1 and 2
MAX_STRING_LENGTH = 250
DEFAULT_TCP_PORT = 502

Kind = Literal["coil", "discrete", "input", "holding"]
PointType = Literal[
    "bool", "bit", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string"
]
WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]
Transport = Literal["tcp", "rtu", "rtu_over_tcp"]

BIT_KINDS = ("coil", "discrete")
REGISTER_COUNTS: dict[str, int] = {
    "bool": 1,
    "bit": 1,
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
}
INTEGER_TYPES = ("int16", "uint16", "int32", "uint32", "int64", "uint64")
NUMERIC_TYPES = (*INTEGER_TYPES, "float32", "float64")
TABLE_NAMES = {
    "coil": "coils",
    "discrete": "discrete inputs",
    "input": "input registers",
    "holding": "holding registers",
}
TCP_TRANSPORTS = ("tcp", "rtu_over_tcp")
SERIAL_SETTINGS = ("baudrate", "parity", "stopbits", "bytesize")
STANDARD_BAUDRATES = (1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400)
# On a serial line unit 0 is the broadcast address (no device answers it) and 248..255 are reserved.
SERIAL_UNITS = range(1, 248)


def _one_of(values: tuple[int, ...], what: str) -> Any:
    """An int that must be one of ``values``: pydantic's own message for int literals names none of them."""

    def check(value: int) -> int:
        if value not in values:
            choices = ", ".join(str(v) for v in values)
            raise invalid("choice", f"must be {what}: {choices} (got {shown(value)})")
        return value

    return Annotated[int, AfterValidator(check), WithJsonSchema({"type": "integer", "enum": list(values)})]


def _not_negative(value: float) -> float:
    if value < 0:
        raise invalid("negative", f"must be 0 or more (got {shown(value)})")
    return value


Deadband = Annotated[float, AfterValidator(_not_negative), WithJsonSchema({"type": "number", "minimum": 0})]
Baudrate = _one_of(STANDARD_BAUDRATES, "a standard rate")
StopBits = _one_of((1, 2), "one of")
DataBits = _one_of((7, 8), "one of")


class ModbusPoint(PointConfigBase):
    """One value of a device: a coil, a discrete input, or a number, bit or text in registers."""

    kind: Kind
    """The table: coil (read/write bits, function 1), discrete (read-only bits, function 2), input
    (read-only registers, function 4) or holding (read/write registers, function 3)."""
    address: Annotated[int, Field(ge=0, le=LAST_ADDRESS)]
    """Zero-based address as on the wire (register 40001 in the old numbering is holding 0)."""
    type: PointType = "uint16"
    """How the value is held: bool for coils and discrete inputs (their default), bit for one bit of a
    register, a number type, or string; uint16 is the default for registers."""
    bit: Annotated[int, Field(ge=0, le=15)] | None = None
    """For type bit: which bit of the register, 0 being the least significant."""
    length: Annotated[int, Field(ge=1, le=MAX_STRING_LENGTH)] | None = None
    """For type string: its length in characters (bytes); it takes length / 2 registers, rounded up."""
    word_order: WordOrder = "ABCD"
    """Where each byte of the value sits on the wire, the value's bytes being A, B, C, D from the most
    significant: ABCD big-endian, CDAB registers in reverse order, BADC bytes swapped in each register,
    DCBA both (little-endian)."""
    scale: float = 1.0
    """The value is raw * scale + offset."""
    offset: float = 0.0
    """The value is raw * scale + offset."""
    range: ValueRange | None = None
    """The value's engineering range [low, high], published to OPC UA clients."""
    deadband: Deadband = 0.0
    """A new value is published only when it differs from the last published one by more than this."""
    writable: bool = False
    """Whether OPC UA clients may write the value (holding registers and coils only)."""

    @model_validator(mode="before")
    @classmethod
    def _type_follows_the_kind(cls, data: Any) -> Any:
        # A coil or discrete input can only be a bool, so that is its default; a register's is uint16.
        if isinstance(data, dict) and "type" not in data and data.get("kind") in BIT_KINDS:
            return {**data, "type": "bool"}
        return data

    @field_validator("scale")
    @classmethod
    def _scale_not_zero(cls, scale: float) -> float:
        if scale == 0:
            raise invalid("scale_zero", "must not be 0: the value is raw * scale + offset")
        return scale

    @model_validator(mode="after")
    def _consistent(self) -> ModbusPoint:
        self._type_fits_the_kind()
        self._writable_kind()
        self._bit_and_length()
        self._word_order_fits()
        self._numeric_keys()
        last_start = LAST_ADDRESS - self.register_count + 1
        if self.address > last_start:
            raise config_error(
                f"{self.size_text()} takes {self.register_count} registers, so its address must be at most "
                f"{last_start} (got {self.address})",
                ("address",),
            )
        return self

    def _type_fits_the_kind(self) -> None:
        if self.is_bit_table and self.type != "bool":
            raise config_error(
                f"{TABLE_NAMES[self.kind]} hold single bits, so their type is bool (got {shown(self.type)})",
                ("type",),
            )
        if not self.is_bit_table and self.type == "bool":
            raise config_error(
                f"type bool is for coils and discrete inputs; for one bit of a register use type bit "
                f"with bit: 0..15, or a number type for the whole {TABLE_NAMES[self.kind][:-1]}",
                ("type",),
            )

    def _writable_kind(self) -> None:
        if self.writable and self.kind in ("input", "discrete"):
            raise config_error(
                f"{TABLE_NAMES[self.kind]} are read-only; only holding registers and coils can be writable",
                ("writable",),
            )

    def _bit_and_length(self) -> None:
        if self.type == "bit" and self.bit is None:
            raise config_error(
                "required key is missing; type bit needs the bit's number, 0 (least significant) to 15",
                ("bit",),
            )
        if self.type != "bit" and self.bit is not None:
            raise config_error(f"bit is only for type bit (this point is {self.type})", ("bit",))
        if self.type == "string" and self.length is None:
            raise config_error(
                f"required key is missing; type string needs its length in characters, "
                f"1..{MAX_STRING_LENGTH}",
                ("length",),
            )
        if self.type != "string" and self.length is not None:
            raise config_error(f"length is only for type string (this point is {self.type})", ("length",))

    def _word_order_fits(self) -> None:
        if self.is_bit_table:
            if "word_order" in self.model_fields_set:
                raise config_error(
                    f"{TABLE_NAMES[self.kind]} are single bits; word_order is for registers", ("word_order",)
                )
            return
        if self.word_order in ("ABCD", "BADC"):
            return
        if self.type == "string":
            raise config_error(
                "a string's characters are in order, so word_order can only be ABCD, or BADC for bytes "
                f"swapped in each register (got {shown(self.word_order)})",
                ("word_order",),
            )
        if self.register_count == 1:
            raise config_error(
                f"a {self.type} point takes one register, so word_order can only be ABCD, or BADC for "
                f"swapped bytes (got {shown(self.word_order)})",
                ("word_order",),
            )

    def _numeric_keys(self) -> None:
        if self.type in NUMERIC_TYPES:
            return
        for key in ("scale", "offset", "deadband", "range"):
            if key in self.model_fields_set:
                raise config_error(f"{key} is only for number types (this point is {self.type})", (key,))

    @property
    def is_bit_table(self) -> bool:
        """Whether the point is a coil or a discrete input, addressed by bit rather than by register."""
        return self.kind in BIT_KINDS

    @property
    def register_count(self) -> int:
        """Registers the point takes (1 for a coil or discrete input: there it counts one bit)."""
        if self.type == "string":
            return math.ceil((self.length or 0) / 2)
        return REGISTER_COUNTS[self.type]

    @property
    def last_address(self) -> int:
        return self.address + self.register_count - 1

    @property
    def data_type(self) -> DataType:
        """The tag's type: scaled or offset integers become floats."""
        if self.type in ("bool", "bit"):
            return "bool"
        if self.type == "string":
            return "string"
        if self.type in INTEGER_TYPES and self.scale == 1 and self.offset == 0:
            return "int"
        return "float"

    def size_text(self) -> str:
        """'a float32 point', 'a string of 12 characters': what a message about its size calls it."""
        if self.type == "string":
            return f"a string of {self.length} characters"
        return f"a {self.type} point"

    def span_text(self) -> str:
        """Where the point is in its table: '100', '100..101' or '100 bit 3'."""
        if self.type == "bit":
            return f"{self.address} bit {self.bit}"
        if self.register_count == 1:
            return str(self.address)
        return f"{self.address}..{self.last_address}"

    def tag_info(self, source: str) -> TagInfo:
        return TagInfo(
            name=self.name,
            source=source,
            data_type=self.data_type,
            unit=self.unit,
            range=self.range,
            writable=self.writable,
            description=self.description,
        )


Unit = Annotated[int, Field(ge=0, le=255)]
Poll = Annotated[Duration, at_least("10ms")]
Timeout = Annotated[Duration, at_least("10ms")]
Retries = Annotated[int, Field(ge=0, le=10)]
MaxRegisters = Annotated[int, Field(ge=1, le=MAX_REGISTERS_PER_READ)]
MaxBits = Annotated[int, Field(ge=1, le=MAX_BITS_PER_READ)]
MaxGap = Annotated[int, Field(ge=0, le=MAX_REGISTERS_PER_READ - 1)]
Points = Annotated[list[ModbusPoint], Field(min_length=1)]


class ModbusDeviceConfig(ConfigModel):
    """One device on the connection, told apart by its unit id; what it leaves out, the source gives."""

    unit: Unit
    """The device's unit id (slave id)."""
    poll: Poll | None = None
    """How often every point of the device is read; default: the source's poll."""
    timeout: Timeout | None = None
    """How long to wait for an answer; default: the source's timeout."""
    retries: Retries | None = None
    """Extra attempts of a failed request before its points go Bad; default: the source's retries."""
    max_registers_per_request: MaxRegisters | None = None
    """Most registers in one read; default: the source's."""
    max_bits_per_request: MaxBits | None = None
    """Most coils or discrete inputs in one read; default: the source's."""
    max_gap: MaxGap | None = None
    """Unused registers a merged read may bridge; default: the source's."""
    points: Points
    """The device's points: one entry per tag."""


@dataclass(frozen=True, slots=True)
class ModbusDevice:
    """A device with every setting filled in, from its own entry or from the source."""

    unit: int
    poll: float
    timeout: float
    retries: int
    max_registers_per_request: int
    max_bits_per_request: int
    max_gap: int
    points: tuple[ModbusPoint, ...]
    points_path: ConfigPath = ("points",)
    """Where the device's points are in the source's config: ``("devices", 2, "points")``."""


class ModbusSourceConfig(SourceConfigBase):
    """A Modbus connection (TCP, serial RTU, or RTU through a TCP gateway) and the devices on it."""

    driver: Literal["modbus"]
    transport: Transport = "tcp"
    """tcp: Modbus TCP; rtu: a serial line; rtu_over_tcp: RTU frames through a TCP serial gateway."""
    host: Annotated[str, Field(min_length=1)] | None = None
    """Host name or IP address of the device or gateway (tcp and rtu_over_tcp)."""
    port: int | str | None = None
    """tcp and rtu_over_tcp: the TCP port, default 502; rtu: the serial device, like /dev/ttyUSB0."""
    baudrate: Baudrate = 9600
    """rtu: bits per second of the serial line."""
    parity: Literal["N", "E", "O"] = "E"
    """rtu: parity of the serial line: N(one), E(ven) or O(dd)."""
    stopbits: StopBits = 1
    """rtu: stop bits of the serial line."""
    bytesize: DataBits = 8
    """rtu: data bits of the serial line."""
    unit: Unit = 1
    """Modbus unit id (slave id) of the device given by `points`; gateways route by it."""
    poll: Poll = Field(default="1s", validate_default=True)
    """How often every point is read."""
    timeout: Timeout = Field(default="1s", validate_default=True)
    """How long to wait for an answer."""
    retries: Retries = 1
    """Extra attempts of a failed request before its points go Bad."""
    max_registers_per_request: MaxRegisters = MAX_REGISTERS_PER_READ
    """Most registers in one read; neighbouring points are read together up to this many."""
    max_bits_per_request: MaxBits = MAX_BITS_PER_READ
    """Most coils or discrete inputs in one read."""
    max_gap: MaxGap = 8
    """Unused registers a merged read may bridge (16 times as many bits for coils and discrete inputs)."""
    points: Points | None = None
    """The points of the one device at `unit`."""
    devices: Annotated[list[ModbusDeviceConfig], Field(min_length=1)] | None = None
    """Several devices on this connection, each with its own unit id and points."""

    @model_validator(mode="before")
    @classmethod
    def _one_point_list_and_default_port(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        given = [key for key in data if key in ("points", "devices")]
        if len(given) == 2:
            raise config_error("give points either here or under devices, not both", (given[1],))
        if data.get("transport", "tcp") in TCP_TRANSPORTS:
            port = data.get("port", DEFAULT_TCP_PORT)
            if isinstance(port, str) and port.strip().isdigit():
                port = int(port)
            return {**data, "port": port}
        return data

    @field_validator("host")
    @classmethod
    def _host_alone(cls, host: str | None) -> str | None:
        if host is not None and ("://" in host or any(char.isspace() for char in host)):
            raise invalid(
                "host", f"must be a host name or IP address alone, like 192.168.10.20 (got {shown(host)})"
            )
        return host

    @model_validator(mode="after")
    def _consistent(self) -> ModbusSourceConfig:
        if self.transport in TCP_TRANSPORTS:
            self._check_tcp()
        else:
            self._check_serial()
        if self.points is None and self.devices is None:
            raise config_error(
                "required key is missing; give points, or devices for several unit ids on this connection",
                ("points",),
            )
        if self.devices is not None and "unit" in self.model_fields_set:
            raise config_error("with devices, each device gives its own unit; remove this one", ("unit",))
        return self

    def _check_tcp(self) -> None:
        if self.host is None:
            raise config_error(
                f"required key is missing; transport {self.transport} needs the host name or IP address "
                "of the device or gateway",
                ("host",),
            )
        port = self.port
        if isinstance(port, str) and ("/" in port or port.upper().startswith("COM")):
            raise config_error(
                f"must be a TCP port number for transport {self.transport} (got {shown(port)}); "
                "a serial device needs transport rtu",
                ("port",),
            )
        if not isinstance(port, int):
            raise config_error(f"must be a whole number (got {shown(port)})", ("port",))
        if not 1 <= port <= 65535:
            bound = "at least 1" if port < 1 else "at most 65535"
            raise config_error(f"must be {bound} (got {port})", ("port",))
        for key in SERIAL_SETTINGS:
            if key in self.model_fields_set:
                where = (
                    "; with rtu_over_tcp the gateway's serial settings apply"
                    if self.transport == "rtu_over_tcp"
                    else ""
                )
                raise config_error(
                    f"{key} is a serial line setting, only for transport rtu "
                    f"(this source uses {self.transport}){where}",
                    (key,),
                )

    def _check_serial(self) -> None:
        if self.host is not None:
            raise config_error(
                "transport rtu talks to the serial device named by port; host is for tcp and rtu_over_tcp",
                ("host",),
            )
        if self.port is None:
            raise config_error(
                "required key is missing; transport rtu needs the serial device, like /dev/ttyUSB0",
                ("port",),
            )
        if not isinstance(self.port, str) or not self.port.strip():
            raise config_error(
                f"must be the serial device for transport rtu, like /dev/ttyUSB0 (got {shown(self.port)})",
                ("port",),
            )

    def devices_resolved(self) -> list[ModbusDevice]:
        """Every device on the connection, with the source's settings filled in where it gives none."""
        if self.devices is None:
            return [
                ModbusDevice(
                    unit=self.unit,
                    poll=self.poll,
                    timeout=self.timeout,
                    retries=self.retries,
                    max_registers_per_request=self.max_registers_per_request,
                    max_bits_per_request=self.max_bits_per_request,
                    max_gap=self.max_gap,
                    points=tuple(self.points or ()),
                )
            ]
        return [
            ModbusDevice(
                unit=device.unit,
                poll=self.poll if device.poll is None else device.poll,
                timeout=self.timeout if device.timeout is None else device.timeout,
                retries=self.retries if device.retries is None else device.retries,
                max_registers_per_request=(
                    self.max_registers_per_request
                    if device.max_registers_per_request is None
                    else device.max_registers_per_request
                ),
                max_bits_per_request=(
                    self.max_bits_per_request
                    if device.max_bits_per_request is None
                    else device.max_bits_per_request
                ),
                max_gap=self.max_gap if device.max_gap is None else device.max_gap,
                points=tuple(device.points),
                points_path=("devices", index, "points"),
            )
            for index, device in enumerate(self.devices)
        ]

    def all_points(self) -> list[ModbusPoint]:
        """Every point of every device, in config order."""
        return [point for device in self.devices_resolved() for point in device.points]

    def declared_tags(self) -> list[DeclaredTag]:
        return [
            DeclaredTag(point.tag_info(self.name), (*device.points_path, index, "name"))
            for device in self.devices_resolved()
            for index, point in enumerate(device.points)
        ]

    def issues(self) -> Iterator[ConfigIssue]:
        yield from self._units_once()
        for device in self.devices_resolved():
            yield from _device_issues(device)

    def _units_once(self) -> Iterator[ConfigIssue]:
        serial = self.transport in ("rtu", "rtu_over_tcp")
        units: list[tuple[int, ConfigPath]] = (
            [(self.unit, ("unit",))]
            if self.devices is None
            else [(device.unit, ("devices", index, "unit")) for index, device in enumerate(self.devices)]
        )
        first: dict[int, ConfigPath] = {}
        for unit, path in units:
            if serial and unit not in SERIAL_UNITS:
                why = "the broadcast address, which no device answers" if unit == 0 else "reserved"
                yield ConfigIssue(path, f"unit {unit} is {why} on a serial line; use 1..247")
            if unit in first:
                yield ConfigIssue(path, f"unit {unit} is already used by another device", first=first[unit])
            else:
                first[unit] = path


def _device_issues(device: ModbusDevice) -> Iterator[ConfigIssue]:
    """Points that share registers or bits, and points too long for one read of the device."""
    whole: dict[tuple[str, int], ModbusPoint] = {}
    bits: dict[tuple[str, int], dict[int, ModbusPoint]] = {}
    for index, point in enumerate(device.points):
        path = (*device.points_path, index)
        if not point.is_bit_table and point.register_count > device.max_registers_per_request:
            key = "length" if point.type == "string" else "type"
            yield ConfigIssue(
                (*path, key),
                f"{point.size_text()} takes {point.register_count} registers, more than one read of this "
                f"device may hold (max_registers_per_request: {device.max_registers_per_request})",
            )
        other = _overlapped(point, whole, bits)
        if other is not None:
            yield ConfigIssue((*path, "address"), _overlap_message(point, other))
        if point.type == "bit":
            assert point.bit is not None
            bits.setdefault((point.kind, point.address), {}).setdefault(point.bit, point)
        else:
            for address in range(point.address, point.last_address + 1):
                whole.setdefault((point.kind, address), point)


def _overlapped(
    point: ModbusPoint,
    whole: dict[tuple[str, int], ModbusPoint],
    bits: dict[tuple[str, int], dict[int, ModbusPoint]],
) -> ModbusPoint | None:
    """The first earlier point of the same table that shares a register or a bit with ``point``."""
    if point.type == "bit":
        assert point.bit is not None
        key = (point.kind, point.address)
        return whole.get(key) or bits.get(key, {}).get(point.bit)
    for address in range(point.address, point.last_address + 1):
        key = (point.kind, address)
        if key in whole:
            return whole[key]
        if key in bits:
            return next(iter(bits[key].values()))
    return None


def _overlap_message(point: ModbusPoint, other: ModbusPoint) -> str:
    where = f"point '{other.name}' ({other.kind} {other.span_text()})"
    if point.is_bit_table:
        table = "coil" if point.kind == "coil" else "discrete input"
        return f"{table} {point.address} overlaps {where}"
    if point.type == "bit":
        return f"bit {point.bit} of register {point.address} overlaps {where}"
    if point.register_count == 1:
        return f"register {point.address} overlaps {where}"
    return f"registers {point.address}..{point.last_address} overlap {where}"
