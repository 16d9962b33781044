"""The config of a GPIO source: digital inputs and pulse counters on the board's pins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator

from drivers.base_config import (
    ConfigIssue,
    DeclaredTag,
    Duration,
    PointConfigBase,
    SourceConfigBase,
    at_least,
    invalid,
    shown,
)
from edge_agent.tags import TagInfo

HIGHEST_PIN = 27
RATE_SUFFIX = "_rate"
_PIN = re.compile(r"(?:GPIO|BCM)?([0-9]{1,2})", re.IGNORECASE)
_PIN_PATTERN = r"^(GPIO|BCM)([0-9]|1[0-9]|2[0-7])$"


def normalise_pin(value: Any) -> str:
    """'GPIO17', 'BCM17' or 17 -> 'GPIO17' (Broadcom numbering, as on the Raspberry Pi header plans)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and (match := _PIN.fullmatch(value.strip())):
        number = int(match.group(1))
    if number is None or not 0 <= number <= HIGHEST_PIN:
        raise invalid(
            "pin",
            f"must be a pin like GPIO17 (or BCM17, or 17), from 0 to {HIGHEST_PIN} (got {shown(value)})",
        )
    return f"GPIO{number}"


PinName = Annotated[
    str,
    BeforeValidator(normalise_pin),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _PIN_PATTERN},
                {"type": "integer", "minimum": 0, "maximum": HIGHEST_PIN},
            ]
        }
    ),
]
"""A pin by its Broadcom (BCM) number, kept as 'GPIO17'."""


class GpioInput(PointConfigBase):
    """A digital input (a door contact, a level switch); its tag is true while the input is active."""

    kind: Literal["input"]
    pin: PinName
    """The pin, by Broadcom number: GPIO17, BCM17 or 17."""
    pull: Literal["up", "down", "none"] = "up"
    """The pin's internal resistor: pulled up, pulled down, or none (an external one is fitted)."""
    active_low: bool = False
    """True when the input is active while the pin reads low (a contact that closes to ground)."""
    debounce: Duration | None = None
    """Changes shorter than this are ignored (contact bounce); none by default."""

    def tag_infos(self, source: str) -> list[TagInfo]:
        return [TagInfo(self.name, source, "bool", self.unit, None, False, self.description)]


class GpioCounter(PointConfigBase):
    """A pulse counter (a flow meter's reed contact): the pulse count and the pulse rate."""

    kind: Literal["counter"]
    pin: PinName
    """The pin, by Broadcom number: GPIO17, BCM17 or 17."""
    pull: Literal["up", "down", "none"] = "up"
    """The pin's internal resistor: pulled up, pulled down, or none (an external one is fitted)."""
    rate_window: Annotated[Duration, at_least("10ms")] = Field(default="10s", validate_default=True)
    """The rate tag counts the pulses of this last span of time."""

    @field_validator("name")
    @classmethod
    def _room_for_rate_suffix(cls, name: str) -> str:
        if len(name) + len(RATE_SUFFIX) > 64:
            raise invalid(
                "identifier",
                f"must be at most {64 - len(RATE_SUFFIX)} characters long for a counter, "
                f"whose rate tag is named '<name>{RATE_SUFFIX}' (got {len(name)})",
            )
        return name

    @property
    def rate_tag(self) -> str:
        return self.name + RATE_SUFFIX

    def tag_infos(self, source: str) -> list[TagInfo]:
        rate_text = f"pulses per second of {self.name}" + (
            f": {self.description}" if self.description else ""
        )
        return [
            TagInfo(self.name, source, "int", self.unit, None, False, self.description),
            TagInfo(self.rate_tag, source, "float", "1/s", None, False, rate_text),
        ]


GpioPoint = Annotated[GpioInput | GpioCounter, Field(discriminator="kind")]


class GpioSourceConfig(SourceConfigBase):
    """Pins of the board the agent runs on, through gpiozero."""

    driver: Literal["gpio"]
    pin_factory: Literal["lgpio", "rpigpio", "mock"] = "lgpio"
    """gpiozero's pin library: lgpio (current Raspberry Pi OS), rpigpio (older boards), mock (tests, demo)."""
    points: Annotated[list[GpioPoint], Field(min_length=1)]
    """The pins read: inputs and counters."""

    def declared_tags(self) -> list[DeclaredTag]:
        declared = []
        for index, point in enumerate(self.points):
            for info in point.tag_infos(self.name):
                note = "" if info.name == point.name else f"the pulse rate of counter '{point.name}'"
                declared.append(DeclaredTag(info, ("points", index, "name"), note))
        return declared

    def issues(self) -> Iterator[ConfigIssue]:
        users: dict[str, str] = {}
        for index, point in enumerate(self.points):
            if point.pin in users:
                yield ConfigIssue(
                    ("points", index, "pin"), f"pin {point.pin} is already used by point '{users[point.pin]}'"
                )
            else:
                users[point.pin] = point.name
