"""The `models:` section: which TFLite models run over which tags, and the tags they give back."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from drivers.base_config import (
    ConfigIssue,
    ConfigModel,
    Duration,
    Identifier,
    at_least,
    config_error,
    invalid,
    shown,
)
from edge_agent.tags import TagInfo

_SHA256 = re.compile(r"[0-9a-f]{64}")
_ALARM_KEYS = ("from", "from_", "above", "clear_below")


class ModelInputs(ConfigModel):
    """What the model sees: a window of the last samples of some tags."""

    tags: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    """The input tags, in the order the model expects its features."""
    window: Annotated[int, Field(ge=1, le=4096)] = 1
    """Samples per tag in one window; one sample is taken every `every`."""

    @model_validator(mode="after")
    def _each_tag_once(self) -> ModelInputs:
        for index, tag in enumerate(self.tags):
            if tag in self.tags[:index]:
                raise config_error(f"tag '{tag}' is listed twice", ("tags", index))
        return self


class Normalization(ConfigModel):
    """Feature scaling applied before the model: (value - mean) / std, per input tag."""

    mean: list[float]
    """One mean per input tag."""
    std: list[float]
    """One standard deviation per input tag; each above 0."""

    @model_validator(mode="after")
    def _std_positive(self) -> Normalization:
        for index, std in enumerate(self.std):
            if std <= 0:
                raise config_error(f"must be greater than 0 (got {std:g})", ("std", index))
        return self


class ScoreOutput(ConfigModel):
    """One value of the model's output tensor, published as a float tag."""

    name: Identifier
    """The tag's name; unique in the whole config."""
    index: Annotated[int, Field(ge=0)] = 0
    """Position in the model's flattened output."""


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
        return "alarm" if any(key in value for key in _ALARM_KEYS) else "score"
    return "alarm" if isinstance(value, AlarmOutput) else "score"


ModelOutput = Annotated[
    Annotated[ScoreOutput, Tag("score")] | Annotated[AlarmOutput, Tag("alarm")],
    Discriminator(_output_variant),
]


class ModelConfig(ConfigModel):
    """A TFLite model run over live windows of tags."""

    name: Identifier
    """The model's name; unique among models."""
    file: Annotated[str, Field(min_length=1)]
    """The .tflite file: a bare name is looked up next to the config, then among the bundled models."""
    sha256: str | None = None
    """The file's SHA-256 (64 lowercase hex digits); a file that does not match is refused."""
    every: Annotated[Duration, at_least("10ms")] = Field(default="1s", validate_default=True)
    """How often a sample is taken and the model runs."""
    num_threads: Annotated[int, Field(ge=1, le=16)] = 1
    """CPU threads the interpreter may use."""
    inputs: ModelInputs
    """The input tags and the window length."""
    normalize: Normalization | None = None
    """Scaling of the inputs; none: the model gets raw values."""
    outputs: Annotated[list[ModelOutput], Field(min_length=1)]
    """The tags the model publishes: scores, and alarms on scores."""

    @field_validator("sha256")
    @classmethod
    def _sha256_form(cls, digest: str | None) -> str | None:
        if digest is None or _SHA256.fullmatch(digest):
            return digest
        raise invalid(
            "sha256", f"must be 64 lowercase hex digits, as sha256sum prints them (got {shown(digest)})"
        )

    @model_validator(mode="after")
    def _one_normalization_per_input(self) -> ModelConfig:
        if self.normalize is None:
            return self
        count = len(self.inputs.tags)
        for key in ("mean", "std"):
            values = getattr(self.normalize, key)
            if len(values) != count:
                raise config_error(
                    f"has {len(values)} values but inputs.tags lists {count} tags; give one per tag",
                    ("normalize", key),
                )
        return self

    @property
    def scores(self) -> list[ScoreOutput]:
        return [output for output in self.outputs if isinstance(output, ScoreOutput)]

    @property
    def alarms(self) -> list[AlarmOutput]:
        return [output for output in self.outputs if isinstance(output, AlarmOutput)]

    def tag_infos(self) -> list[TagInfo]:
        """The tags the model publishes: scores as floats, alarms as booleans."""
        return [
            TagInfo(
                output.name,
                self.name,
                "bool" if isinstance(output, AlarmOutput) else "float",
                description=f"output of model {self.name}",
            )
            for output in self.outputs
        ]

    def issues(self) -> Iterator[ConfigIssue]:
        scores = [output.name for output in self.scores]
        alarms = {output.name for output in self.alarms}
        for index, output in enumerate(self.outputs):
            if not isinstance(output, AlarmOutput) or output.from_ in scores:
                continue
            if output.from_ in alarms:
                message = f"'{output.from_}' is an alarm; an alarm follows a score output of this model"
            else:
                message = f"this model has no score output '{output.from_}'"
                close = difflib.get_close_matches(output.from_, scores, n=1)
                message += (
                    f"; did you mean '{close[0]}'?"
                    if close
                    else f" (its scores: {', '.join(scores) or 'none'})"
                )
            yield ConfigIssue(("outputs", index, "from"), message)
