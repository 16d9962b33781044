"""A point of a Modbus device: which table and address it is at, how its value is held, and the rules
that tie its type to its table.

Coils and discrete inputs hold single bits; input and holding registers hold 16-bit words, of which a
point takes one bit, one or more whole registers for a number, or several for a string.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, cast

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from edge_agent.config.vocabulary import PointConfigBase, Scale, ValueRange, config_error, invalid, shown
from edge_agent.tags import DataType, NumberType, TagInfo

LAST_ADDRESS = 65535
MAX_STRING_LENGTH = 250

Kind = Literal["coil", "discrete", "input", "holding"]
PointType = Literal[
    "bool", "bit", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "string"
]
WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]

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


def _not_negative(value: float) -> float:
    if value < 0:
        raise invalid("negative", f"must be 0 or more (got {shown(value)})")
    return value


Deadband = Annotated[float, AfterValidator(_not_negative), WithJsonSchema({"type": "number", "minimum": 0})]


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
    scale: Scale = 1.0
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

    @property
    def number_type(self) -> NumberType | None:
        """The exact type of the tag's values: the point's own, unless scaling makes them any float."""
        if self.type not in NUMERIC_TYPES or self.scale != 1 or self.offset != 0:
            return None
        return cast(NumberType, self.type)

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
        return self.tag(
            source, self.data_type, range=self.range, writable=self.writable, number_type=self.number_type
        )
