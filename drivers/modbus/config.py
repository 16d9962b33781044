"""The config of a Modbus source: how to reach the bus, the devices on it, and the checks across points.

A source is one connection: a TCP device or gateway (``tcp``), a serial line (``rtu``), or a TCP serial
gateway spoken to in RTU frames (``rtu_over_tcp``). One or more devices, told apart by their unit id,
answer on it. Device settings given on the source are the defaults of every device. Each point on its
own is described in ``point_config``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, field_validator, model_validator

from edge_agent.config.vocabulary import (
    ConfigIssue,
    ConfigModel,
    ConfigPath,
    DeclaredTag,
    Duration,
    SourceConfigBase,
    at_least,
    config_error,
    invalid,
    shown,
)

from .point_config import ModbusPoint

MAX_REGISTERS_PER_READ = 125  # Modbus application protocol limit for function codes 3 and 4
MAX_BITS_PER_READ = 2000  # ... and for function codes 1 and 2
DEFAULT_TCP_PORT = 502

Transport = Literal["tcp", "rtu", "rtu_over_tcp"]

TCP_TRANSPORTS = ("tcp", "rtu_over_tcp")
SERIAL_SETTINGS = ("baudrate", "parity", "stopbits", "bytesize")
STANDARD_BAUDRATES = (1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400)
# On a serial line unit 0 is the broadcast address (no device answers it) and 248..255 are reserved.
SERIAL_UNITS = range(1, 248)
DEVICE_SETTINGS = (
    "poll",
    "timeout",
    "retries",
    "max_registers_per_request",
    "max_bits_per_request",
    "max_gap",
)
"""What a device may set for itself; where it does not, the source's value holds."""


def _one_of(values: tuple[int, ...], what: str) -> AfterValidator:
    """An int that must be one of ``values``: pydantic's own message for int literals names none of them."""

    def check(value: int) -> int:
        if value not in values:
            choices = ", ".join(str(v) for v in values)
            raise invalid("choice", f"must be {what}: {choices} (got {shown(value)})")
        return value

    return AfterValidator(check)


def _choices_schema(values: tuple[int, ...]) -> WithJsonSchema:
    return WithJsonSchema({"type": "integer", "enum": list(values)})


Baudrate = Annotated[int, _one_of(STANDARD_BAUDRATES, "a standard rate"), _choices_schema(STANDARD_BAUDRATES)]
StopBits = Annotated[int, _one_of((1, 2), "one of"), _choices_schema((1, 2))]
DataBits = Annotated[int, _one_of((7, 8), "one of"), _choices_schema((7, 8))]

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

    def own_settings(self) -> dict[str, Any]:
        """The settings this device gives itself, by name; the others come from the source."""
        return {key: value for key in DEVICE_SETTINGS if (value := getattr(self, key)) is not None}


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
        defaults = {key: getattr(self, key) for key in DEVICE_SETTINGS}
        if self.devices is None:
            return [ModbusDevice(unit=self.unit, points=tuple(self.points or ()), **defaults)]
        return [
            ModbusDevice(
                unit=device.unit,
                points=tuple(device.points),
                points_path=("devices", index, "points"),
                **{**defaults, **device.own_settings()},
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
