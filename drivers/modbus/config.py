"""The config of a Modbus TCP source: where the device is, how often to ask, and its register map."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from drivers.base_config import (
    ConfigIssue,
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
from edge_agent.tags import TagInfo

REGISTER_COUNTS = {"int16": 1, "uint16": 1, "float32": 2}
LAST_ADDRESS = 65535
_LATER_TRANSPORTS = ("rtu", "rtu_over_tcp")


class ModbusPoint(PointConfigBase):
    """One value in the device's registers; it becomes one tag."""

    kind: Literal["holding", "input"]
    """Register table: holding (read/write, function 3) or input registers (read-only, function 4)."""
    address: Annotated[int, Field(ge=0, le=LAST_ADDRESS)]
    """Zero-based register address, as on the wire (register 40001 in the old numbering is holding 0)."""
    type: Literal["int16", "uint16", "float32"] = "uint16"
    """How the registers encode the raw number; float32 takes two registers."""
    word_order: Literal["ABCD", "CDAB"] = "ABCD"
    """For 32-bit types: ABCD sends the high word first, CDAB the low word first."""
    scale: float = 1.0
    """The value is raw * scale + offset."""
    offset: float = 0.0
    """The value is raw * scale + offset."""
    range: ValueRange | None = None
    """The value's engineering range [low, high], published to OPC UA clients."""
    writable: bool = False
    """Whether OPC UA clients may write the value (holding registers only)."""

    @field_validator("scale")
    @classmethod
    def _scale_not_zero(cls, scale: float) -> float:
        if scale == 0:
            raise invalid("scale_zero", "must not be 0: the value is raw * scale + offset")
        return scale

    @model_validator(mode="after")
    def _fits_the_register_table(self) -> ModbusPoint:
        if self.writable and self.kind == "input":
            raise config_error(
                "input registers are read-only; only holding registers can be writable", ("writable",)
            )
        last_start = LAST_ADDRESS - self.register_count + 1
        if self.address > last_start:
            raise config_error(
                f"a {self.type} point takes {self.register_count} registers, so its address must be at most "
                f"{last_start} (got {self.address})",
                ("address",),
            )
        return self

    @property
    def register_count(self) -> int:
        return REGISTER_COUNTS[self.type]

    @property
    def last_address(self) -> int:
        return self.address + self.register_count - 1

    @property
    def data_type(self) -> Literal["int", "float"]:
        if self.type == "float32" or self.scale != 1 or self.offset != 0:
            return "float"
        return "int"

    def registers_text(self) -> str:
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


class ModbusSourceConfig(SourceConfigBase):
    """A Modbus TCP device (or gateway) polled at a fixed period."""

    driver: Literal["modbus"]
    transport: Literal["tcp"] = "tcp"
    """How to reach the device; only tcp for now."""
    host: Annotated[str, Field(min_length=1)]
    """Host name or IP address of the device or gateway."""
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    """TCP port of the device."""
    unit: Annotated[int, Field(ge=0, le=255)] = 1
    """Modbus unit id (slave id); gateways route by it, plain TCP devices often ignore it."""
    poll: Annotated[Duration, at_least("10ms")] = Field(default="1s", validate_default=True)
    """How often every point is read."""
    timeout: Annotated[Duration, at_least("10ms")] = Field(default="1s", validate_default=True)
    """How long to wait for an answer before the tags turn bad."""
    max_registers_per_request: Annotated[int, Field(ge=1, le=125)] = 125
    """Longest read the device accepts; neighbouring points are read together up to this many registers."""
    points: Annotated[list[ModbusPoint], Field(min_length=1)]
    """The register map: one entry per tag."""

    @field_validator("transport", mode="before")
    @classmethod
    def _transport_available(cls, transport: Any) -> Any:
        if transport in _LATER_TRANSPORTS:
            raise invalid("transport_later", f"transport {shown(transport)} is not supported yet; use tcp")
        return transport

    @field_validator("host")
    @classmethod
    def _host_alone(cls, host: str) -> str:
        if "://" in host or any(char.isspace() for char in host):
            raise invalid(
                "host", f"must be a host name or IP address alone, like 192.168.10.20 (got {shown(host)})"
            )
        return host

    def declared_tags(self) -> list[DeclaredTag]:
        return [
            DeclaredTag(point.tag_info(self.name), ("points", index, "name"))
            for index, point in enumerate(self.points)
        ]

    def issues(self) -> Iterator[ConfigIssue]:
        earlier: list[ModbusPoint] = []
        for index, point in enumerate(self.points):
            other = next(
                (
                    p
                    for p in earlier
                    if p.kind == point.kind
                    and p.address <= point.last_address
                    and point.address <= p.last_address
                ),
                None,
            )
            if other is not None:
                what = "register" if point.register_count == 1 else "registers"
                verb = "overlaps" if point.register_count == 1 else "overlap"
                yield ConfigIssue(
                    ("points", index, "address"),
                    f"{what} {point.registers_text()} {verb} point '{other.name}' "
                    f"({other.kind} {other.registers_text()})",
                )
            earlier.append(point)
