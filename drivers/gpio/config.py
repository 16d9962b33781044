"""The config of a GPIO source: digital inputs, pulse counters, outputs, PWM outputs and SPI ADCs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from edge_agent.config.vocabulary import (
    ConfigIssue,
    ConfigModel,
    ConfigPath,
    DeclaredTag,
    Duration,
    PointConfigBase,
    Scale,
    SourceConfigBase,
    ValueRange,
    at_least,
    config_error,
    invalid,
    shown,
)
from edge_agent.tags import TagInfo

HIGHEST_PIN = 27
RATE_SUFFIX = "_rate"
FREQUENCY_RANGE_HZ = (1, 40000)
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

Pull = Literal["up", "down", "none"]
Edge = Literal["falling", "rising", "both"]

# The SPI bus gpiozero drives (SPI0 on the 40-pin header): its shared lines and one chip select per device.
SPI_BUS_PINS = {"GPIO11": "clock (SCLK)", "GPIO10": "MOSI", "GPIO9": "MISO"}
SPI_SELECT_PINS = ("GPIO8", "GPIO7")

AdcChip = Literal[
    "mcp3008",
    "mcp3001",
    "mcp3002",
    "mcp3004",
    "mcp3201",
    "mcp3202",
    "mcp3204",
    "mcp3208",
    "mcp3301",
    "mcp3302",
    "mcp3304",
]
ADC_CHANNELS: dict[str, int] = {
    "mcp3001": 1,
    "mcp3002": 2,
    "mcp3004": 4,
    "mcp3008": 8,
    "mcp3201": 1,
    "mcp3202": 2,
    "mcp3204": 4,
    "mcp3208": 8,
    "mcp3301": 1,
    "mcp3302": 4,
    "mcp3304": 8,
}
"""Input channels of each chip; a one-channel chip always measures its IN+ against its IN-."""


class GpioInput(PointConfigBase):
    """A digital input (a door contact, a level switch); its tag is true while the input is active."""

    kind: Literal["input"]
    pin: PinName
    """The pin, by Broadcom number: GPIO17, BCM17 or 17."""
    pull: Pull = "up"
    """The pin's internal resistor: pulled up, pulled down, or none (an external one is fitted)."""
    active_low: bool = False
    """True when the input is active while the pin reads low (a contact that closes to ground)."""
    debounce: Duration | None = None
    """A change counts once the pin has kept its new level this long (contact bounce); none by default."""

    def tag_infos(self, source: str) -> list[TagInfo]:
        return [self.tag(source, "bool")]


class GpioCounter(PointConfigBase):
    """A pulse counter (a flow meter's reed contact): the pulse count and the pulse rate."""

    kind: Literal["counter"]
    pin: PinName
    """The pin, by Broadcom number: GPIO17, BCM17 or 17."""
    pull: Pull = "up"
    """The pin's internal resistor: pulled up, pulled down, or none (an external one is fitted)."""
    edge: Edge | None = None
    """Which edges count: falling, rising or both; by default the active edge (falling when pulled up)."""
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

    @property
    def counted_edge(self) -> Edge:
        """The edge that counts: a pulse pulls a pulled-up pin low, and a pulled-down pin high."""
        if self.edge is not None:
            return self.edge
        return "falling" if self.pull == "up" else "rising"

    def tag_infos(self, source: str) -> list[TagInfo]:
        rate_text = f"pulses per second of {self.name}" + (
            f": {self.description}" if self.description else ""
        )
        return [
            self.tag(source, "int"),
            TagInfo(self.rate_tag, source, "float", "1/s", None, False, rate_text),
        ]


class GpioOutput(PointConfigBase):
    """A digital output (a relay, a lamp); its tag is true while the output is on."""

    kind: Literal["output"]
    pin: PinName
    """The pin, by Broadcom number: GPIO17, BCM17 or 17."""
    active_low: bool = False
    """True when the output is on while the pin is driven low (a relay board that switches on low)."""
    initial: bool = False
    """Whether the output is on when the agent starts."""
    writable: bool = True
    """Whether OPC UA clients may switch the output."""

    def tag_infos(self, source: str) -> list[TagInfo]:
        return [self.tag(source, "bool", writable=self.writable)]


class GpioPwm(PointConfigBase):
    """A PWM output (a dimmed lamp, a fan, a proportional valve); its tag is the duty cycle, 0 to 1."""

    kind: Literal["pwm"]
    pin: PinName
    """The pin, by Broadcom number: GPIO17, BCM17 or 17."""
    frequency: float = Field(
        default=100.0, json_schema_extra={"minimum": FREQUENCY_RANGE_HZ[0], "maximum": FREQUENCY_RANGE_HZ[1]}
    )
    """The PWM frequency in Hz."""
    initial: float = Field(default=0.0, json_schema_extra={"minimum": 0, "maximum": 1})
    """The duty cycle when the agent starts, 0 (off) to 1 (fully on)."""
    writable: bool = True
    """Whether OPC UA clients may set the duty cycle."""

    @field_validator("frequency")
    @classmethod
    def _frequency_in_range(cls, frequency: float) -> float:
        low, high = FREQUENCY_RANGE_HZ
        if not low <= frequency <= high:
            raise invalid("frequency", f"must be from {low} to {high} Hz (got {shown(frequency)})")
        return frequency

    @field_validator("initial")
    @classmethod
    def _a_duty_cycle(cls, initial: float) -> float:
        if not 0 <= initial <= 1:
            raise invalid("duty_cycle", f"must be a duty cycle from 0 to 1 (got {shown(initial)})")
        return initial

    def tag_infos(self, source: str) -> list[TagInfo]:
        return [self.tag(source, "float", range=(0.0, 1.0), writable=self.writable)]


class SpiDevice(ConfigModel):
    """Where an ADC sits on the SPI bus."""

    port: int = 0
    """The SPI bus; 0, the bus on GPIO9, GPIO10 and GPIO11."""
    device: Annotated[int, Field(ge=0, le=len(SPI_SELECT_PINS) - 1)] = 0
    """The chip select: 0 (CE0, GPIO8) or 1 (CE1, GPIO7)."""

    @field_validator("port", mode="after")
    @classmethod
    def _the_main_bus(cls, port: int) -> int:
        if port != 0:
            raise invalid("spi_port", f"must be 0: only the main SPI bus (SPI0) can be used (got {port})")
        return port

    @property
    def select_pin(self) -> str:
        return SPI_SELECT_PINS[self.device]


class GpioAnalogInput(PointConfigBase):
    """A channel of an MCP3xxx analog-to-digital converter on the SPI bus; its tag is a float."""

    kind: AdcChip
    """The chip: mcp3008 and its family."""
    channel: Annotated[int, Field(ge=0)] | None = None
    """The chip's input channel; may be left out on one-channel chips (mcp3001, mcp3201, mcp3301)."""
    spi: SpiDevice = Field(default_factory=SpiDevice)
    """Where the chip sits on the SPI bus."""
    differential: bool | None = None
    """Read the channel against its neighbour (channel 0 against 1, 1 against 0, ...)."""
    scale: Scale = 1.0
    """The value is raw * scale + offset, where raw is the reading from 0 to 1 of full scale."""
    offset: float = 0.0
    """The value is raw * scale + offset."""
    range: ValueRange | None = None
    """The value's engineering range [low, high], published to OPC UA clients."""
    poll: Annotated[Duration, at_least("10ms")] = Field(default="1s", validate_default=True)
    """How often the channel is read."""
    deadband: Annotated[float, Field(ge=0)] = 0.0
    """A new value is published only when it differs from the last published one by more than this."""

    @model_validator(mode="after")
    def _fits_the_chip(self) -> GpioAnalogInput:
        channels = self.channels
        if channels == 1:
            if self.channel not in (None, 0):
                raise config_error(
                    f"the {self.kind} has one input, channel 0 (got {self.channel})", ("channel",)
                )
            if self.differential is False:
                raise config_error(
                    f"the {self.kind} always measures its IN+ against its IN-; leave differential out",
                    ("differential",),
                )
        elif self.channel is None:
            raise config_error(
                f"required key is missing; say which channel of the {self.kind}: 0 to {channels - 1}",
                ("channel",),
            )
        elif self.channel >= channels:
            raise config_error(
                f"the {self.kind} has channels 0 to {channels - 1} (got {self.channel})", ("channel",)
            )
        return self

    @property
    def channels(self) -> int:
        return ADC_CHANNELS[self.kind]

    @property
    def input_channel(self) -> int:
        return self.channel or 0

    @property
    def is_differential(self) -> bool:
        return self.channels == 1 or bool(self.differential)

    def tag_infos(self, source: str) -> list[TagInfo]:
        return [self.tag(source, "float", range=self.range)]


GpioPoint = Annotated[
    GpioInput | GpioCounter | GpioOutput | GpioPwm | GpioAnalogInput, Field(discriminator="kind")
]
DigitalPoint = GpioInput | GpioCounter | GpioOutput | GpioPwm


class GpioSourceConfig(SourceConfigBase):
    """Pins of the board the agent runs on, through gpiozero."""

    driver: Literal["gpio"]
    pin_factory: Literal["lgpio", "rpigpio", "mock"] | None = None
    """gpiozero's pin library: lgpio (current Raspberry Pi OS), rpigpio (older boards), mock (tests, demo);
    left out, GPIOZERO_PIN_FACTORY decides, else gpiozero's own choice."""
    points: Annotated[list[GpioPoint], Field(min_length=1)]
    """The pins used: inputs, counters, outputs, PWM outputs and SPI ADC channels."""

    def declared_tags(self) -> list[DeclaredTag]:
        declared = []
        for index, point in enumerate(self.points):
            for info in point.tag_infos(self.name):
                note = "" if info.name == point.name else f"the pulse rate of counter '{point.name}'"
                declared.append(DeclaredTag(info, ("points", index, "name"), note))
        return declared

    def issues(self) -> Iterator[ConfigIssue]:
        board = _Board()
        for index, point in enumerate(self.points):
            at = ("points", index)
            if isinstance(point, GpioAnalogInput):
                yield from board.add_adc_channel(point, at)
            else:
                yield from board.add_pin(point, at)


class _Board:
    """Who holds each pin, each chip select and each ADC channel, as points are added in config order."""

    def __init__(self) -> None:
        self._pin_users: dict[str, str] = {}
        self._chips: dict[int, GpioAnalogInput] = {}
        self._channels: dict[tuple[int, int, bool], str] = {}

    def add_pin(self, point: DigitalPoint, at: ConfigPath) -> Iterator[ConfigIssue]:
        user = self._pin_users.get(point.pin)
        if user is not None:
            yield ConfigIssue((*at, "pin"), f"pin {point.pin} is already used by {user}")
        else:
            self._pin_users[point.pin] = f"point '{point.name}'"

    def add_adc_channel(self, point: GpioAnalogInput, at: ConfigPath) -> Iterator[ConfigIssue]:
        device = point.spi.device
        chip = self._chips.get(device)
        if chip is None:
            yield from self._add_chip(point, at)
            return
        if chip.kind != point.kind:
            yield ConfigIssue(
                (*at, "kind"),
                f"SPI device {device} already holds an {chip.kind} (point '{chip.name}'); "
                "one chip per chip select",
            )
            return
        channel = (device, point.input_channel, point.is_differential)
        if channel in self._channels:
            yield ConfigIssue(
                (*at, "channel"),
                f"channel {point.input_channel} of the {point.kind} on SPI device {device} "
                f"is already read by point '{self._channels[channel]}'",
            )
        else:
            self._channels[channel] = point.name

    def _add_chip(self, point: GpioAnalogInput, at: ConfigPath) -> Iterator[ConfigIssue]:
        device = point.spi.device
        lines = {point.spi.select_pin: f"chip select CE{device}"}
        if not self._chips:
            lines = {**SPI_BUS_PINS, **lines}
        for pin, line in lines.items():
            user = self._pin_users.get(pin)
            if user is not None:
                where = (*at, "spi") if "spi" in point.model_fields_set else (*at, "kind")
                yield ConfigIssue(
                    where,
                    f"the {point.kind} on SPI device {device} needs pin {pin} ({line}), "
                    f"which is already used by {user}",
                )
                return
        for pin, line in lines.items():
            self._pin_users[pin] = f"the SPI bus ({line}) of point '{point.name}'"
        self._chips[device] = point
        self._channels[(device, point.input_channel, point.is_differential)] = point.name
