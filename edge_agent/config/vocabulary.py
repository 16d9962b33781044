"""The shared vocabulary of the config language: base models, names, durations, and config issues.

Every driver's config schema is built from these parts, and so is the core's. The module imports
nothing of the project but the tag types, so that a driver's schema can be built and checked without
the rest of the config language or the agent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from edge_agent.tags import DataType, NumberType, TagInfo

ConfigPath = tuple[str | int, ...]
"""Where a value sits in the config: keys and list indexes, as in ``("sources", 0, "points", 2)``."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """A problem found by comparing values that each passed on their own (a name used twice, ...).

    ``path`` is relative to the model that reports it. When ``first`` is given, the loader adds where
    that earlier definition is ("... at line 12").
    """

    path: ConfigPath
    message: str
    first: ConfigPath | None = None

    def under(self, prefix: ConfigPath) -> ConfigIssue:
        first = None if self.first is None else prefix + self.first
        return ConfigIssue(prefix + self.path, self.message, first)


@dataclass(frozen=True, slots=True)
class DeclaredTag:
    """A tag a source provides, with the path of the key that names it (relative to the source)."""

    info: TagInfo
    path: ConfigPath
    note: str = ""
    """Said when the tag's name is not literally the value at ``path`` (a counter's ``_rate`` tag)."""


@dataclass(frozen=True, slots=True)
class UnknownKey:
    """Stands in for the value of a key the model does not know, carrying the keys it does know.

    Pydantic reports the key as ``extra_forbidden`` with this as its input, which lets the message
    suggest the known key the writer probably meant.
    """

    value: Any
    known: tuple[str, ...]


def invalid(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose message is already in the words the user should read."""
    return PydanticCustomError(kind, "{detail}", {"detail": message})


def config_error(message: str, at: ConfigPath = ()) -> PydanticCustomError:
    """An error raised by a model validator, placed at ``at`` below the model rather than on it."""
    return PydanticCustomError("config", "{detail}", {"detail": message, "at": at})


def shown(value: Any) -> str:
    """A value as a message quotes it: text in quotes, YAML's spelling for booleans and null."""
    if isinstance(value, UnknownKey):
        value = value.value
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        if len(value) <= 6 and all(isinstance(item, int | float | str | None) for item in value):
            return "[" + ", ".join(shown(item) for item in value) + "]"
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


class ConfigModel(BaseModel):
    """The base of every config model: unknown keys are errors, and values come from YAML."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        # YAML reads `zip: 12345` or `serial_number: 4711` as numbers; for a text field that is what
        # the writer meant.
        coerce_numbers_to_str=True,
        allow_inf_nan=False,
        validate_by_name=True,
        validate_by_alias=True,
        use_attribute_docstrings=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _mark_unknown_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = tuple(field.alias or name for name, field in cls.model_fields.items())
        accepted = set(known) | set(cls.model_fields)
        if all(key in accepted for key in data):
            return data
        return {key: value if key in accepted else UnknownKey(value, known) for key, value in data.items()}

    def issues(self) -> Iterator[ConfigIssue]:
        """Problems between this model's values (paths relative to it); nested models report their own."""
        return iter(())


IDENTIFIER_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def _check_identifier(value: str) -> str:
    if _IDENTIFIER.fullmatch(value):
        return value
    if not value:
        raise invalid("identifier", "must not be empty")
    if len(value) > 64:
        raise invalid("identifier", f"must be at most 64 characters long (got {len(value)})")
    raise invalid(
        "identifier", f"must start with a letter and hold only letters, digits and '_' (got {shown(value)})"
    )


Identifier = Annotated[
    str,
    AfterValidator(_check_identifier),
    WithJsonSchema({"type": "string", "pattern": IDENTIFIER_PATTERN}),
]
"""A name that becomes an OPC UA browse name and an AAS idShort: letters, digits, '_', a letter first."""


_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_PATTERN = r"^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(ms|s|m|h|d)\s*$"
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([^\s0-9.]*)\s*")
_DURATION_EXAMPLES = "e.g. 500ms, 2s, 1m"


def parse_quantity(
    value: Any, *, kind: str, pattern: re.Pattern[str], units: Mapping[str, float], use: str, examples: str
) -> float:
    """The number in ``value`` (a string like ``2MB``) times its unit's factor in ``units``.

    ``pattern`` matches a number and the unit after it; ``kind`` names the quantity in error types
    (``size``, ``size_unit``, ``size_unit_missing``) and messages; ``use`` lists the units to suggest.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise invalid(f"{kind}_unit_missing", f"add a unit, {examples} (got {shown(value)})")
    match = pattern.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(kind, f"must be a {kind}, {examples} (got {shown(value)})")
    number, unit = match.groups()
    if not unit:
        raise invalid(f"{kind}_unit_missing", f"add a unit, {examples} (got {shown(value)})")
    if unit not in units:
        raise invalid(f"{kind}_unit", f"unknown unit {unit!r} in {shown(value.strip())}; use {use}")
    return float(number) * units[unit]


def parse_duration(value: Any) -> float:
    """Seconds in a duration written like ``500ms``, ``1.5s``, ``1m``, ``1h`` or ``7d``."""
    seconds = parse_quantity(
        value,
        kind="duration",
        pattern=_DURATION,
        units=_DURATION_UNITS,
        use="ms, s, m, h or d",
        examples=_DURATION_EXAMPLES,
    )
    if not math.isfinite(seconds):
        raise invalid("duration", f"is too long (got {shown(value)})")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest way to write ``seconds`` in the config language: 0.25 -> '250ms', 60 -> '1m'."""
    for unit, factor in sorted(_DURATION_UNITS.items(), key=lambda item: -item[1]):
        count = seconds / factor
        if count >= 1 and abs(count - round(count)) < 1e-9:
            return f"{round(count)}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["500ms", "2s", "1m"]}),
]
"""A span of time, written with a unit (``250ms``, ``1m``); in Python it is seconds as a float."""


def at_least(minimum: str) -> AfterValidator:
    """A duration that must be ``minimum`` or longer: use as ``Annotated[Duration, at_least("10ms")]``."""
    floor = parse_duration(minimum)

    def check(seconds: float) -> float:
        if seconds < floor:
            raise invalid(
                "duration_too_short", f"must be at least {minimum} (got {format_duration(seconds)})"
            )
        return seconds

    return AfterValidator(check)


def _check_range(value: tuple[float, float]) -> tuple[float, float]:
    low, high = value
    if not low < high:
        raise invalid("range_order", f"the low end must be below the high end (got [{low:g}, {high:g}])")
    return value


def _range_shape(value: Any) -> Any:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise invalid("range_shape", f"must be two numbers [low, high] (got {shown(value)})")
    return value


ValueRange = Annotated[tuple[float, float], BeforeValidator(_range_shape), AfterValidator(_check_range)]
"""The engineering range ``[low, high]`` of a value, for clients that scale a gauge or check limits."""


def _scale_not_zero(scale: float) -> float:
    if scale == 0:
        raise invalid("scale_zero", "must not be 0: the value is raw * scale + offset")
    return scale


Scale = Annotated[float, AfterValidator(_scale_not_zero)]
"""The factor of a scaled value, raw * scale + offset; with 0 every reading would be the offset."""


class PointConfigBase(ConfigModel):
    """What every point of every driver has: the tag's name, unit and description."""

    name: Identifier
    """The tag's name: unique in the whole config; it becomes the OPC UA browse name."""
    unit: str | None = None
    """The engineering unit of the value, e.g. degC, bar, m3/h."""
    description: str = ""
    """Free text shown to OPC UA clients."""
    semantic_id: str | None = Field(default=None, min_length=1)
    """What the value means, as a concept id (an ECLASS or IEC CDD IRDI such as ``0173-1#02-AAV232#002``,
    or an IRI): the semanticId of the tag's property in the shell, and a property of its Sparkplug metric."""

    def tag(
        self,
        source: str,
        data_type: DataType,
        *,
        range: tuple[float, float] | None = None,
        writable: bool = False,
        number_type: NumberType | None = None,
    ) -> TagInfo:
        """The tag this point declares, with what every point says of itself filled in."""
        return TagInfo(
            self.name,
            source,
            data_type,
            self.unit,
            range,
            writable,
            self.description,
            number_type=number_type,
            semantic_id=self.semantic_id,
        )


class SourceConfigBase(ConfigModel):
    """One entry of ``sources:``. Each driver's config extends this and is selected by ``driver``."""

    name: Identifier
    """The source's name: unique among sources; names the tags' origin in logs and OPC UA."""
    driver: str
    """Which driver reads this source."""

    def declared_tags(self) -> list[DeclaredTag]:
        """Every tag the source provides, with where in the source its name is written."""
        raise NotImplementedError

    def tag_infos(self) -> list[TagInfo]:
        return [declared.info for declared in self.declared_tags()]
