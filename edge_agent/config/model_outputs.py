"""What a model publishes: scores, classifiers and alarms on scores, each a tag of its own."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from .model_inputs import TensorType
from .vocabulary import ConfigModel, Identifier, config_error, invalid

_ALARM_KEYS = ("from", "from_", "above", "clear_below")
_NAME_LENGTH = 64
PROBABILITY_SUFFIX = "_probability"


def with_room_for(name: str, added: int, why: str) -> str:
    """The name, if tags that extend it by `added` characters stay within the longest tag name allowed."""
    room = _NAME_LENGTH - added
    if len(name) > room:
        raise invalid("identifier", f"must be at most {room} characters long: {why} (got {len(name)})")
    return name


class ScoreOutput(ConfigModel):
    """One value of an output tensor, published as a float tag."""

    name: Identifier
    """The tag's name; unique in the whole config."""
    index: Annotated[int, Field(ge=0)] = 0
    """Position in the output tensor, counted through it as if it were flat."""
    output: Annotated[int, Field(ge=0)] = 0
    """Which output tensor, in the model's order."""
    dtype: TensorType | None = None
    """The element type the output tensor must have; none: whatever the model has."""


class ClassifierOutput(ConfigModel):
    """An output tensor of class probabilities: the most probable class's label and its probability."""

    name: Identifier
    """The tag with the label; `<name>_probability` gets its probability. Unique in the whole config."""
    classes: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)]
    """One label per value of the output tensor, in its order."""
    output: Annotated[int, Field(ge=0)] = 0
    """Which output tensor, in the model's order."""
    dtype: TensorType | None = None
    """The element type the output tensor must have; none: whatever the model has."""

    @field_validator("name")
    @classmethod
    def _room_for_probability(cls, name: str) -> str:
        return with_room_for(
            name,
            len(PROBABILITY_SUFFIX),
            f"the tag '{name[:12]}..{PROBABILITY_SUFFIX}' adds {len(PROBABILITY_SUFFIX)}",
        )

    @model_validator(mode="after")
    def _each_class_once(self) -> ClassifierOutput:
        for index, label in enumerate(self.classes):
            if label in self.classes[:index]:
                raise config_error(f"class '{label}' is listed twice", ("classes", index))
        return self


class AlarmOutput(ConfigModel):
    """A boolean tag from a score, with hysteresis: on above `above`, off again below `clear_below`."""

    name: Identifier
    """The tag's name; unique in the whole config."""
    from_: str = Field(alias="from")
    """The score output (of the same model) the alarm watches."""
    above: float
    """The alarm turns on when the score rises above this."""
    clear_below: float | None = None
    """The alarm turns off when the score falls below this (at most `above`); default: `above`."""

    @model_validator(mode="after")
    def _clears_at_or_below(self) -> AlarmOutput:
        if self.clear_below is not None and self.clear_below > self.above:
            raise config_error(
                f"must be at most above ({self.above:g}) so the alarm can clear (got {self.clear_below:g})",
                ("clear_below",),
            )
        return self


def _output_variant(value: Any) -> str:
    # Chosen by the keys present, so that a half-written alarm reports its missing keys as an alarm.
    if isinstance(value, dict):
        if any(key in value for key in _ALARM_KEYS):
            return "alarm"
        return "classifier" if "classes" in value else "score"
    if isinstance(value, AlarmOutput):
        return "alarm"
    return "classifier" if isinstance(value, ClassifierOutput) else "score"


ModelOutput = Annotated[
    Annotated[ScoreOutput, Tag("score")]
    | Annotated[ClassifierOutput, Tag("classifier")]
    | Annotated[AlarmOutput, Tag("alarm")],
    Discriminator(_output_variant),
]
