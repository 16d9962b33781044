"""What a model reads: its input tensors (windows of tags) and the scaling applied before it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from .vocabulary import ConfigModel, config_error

TensorType = Literal["float32", "int8", "uint8"]
"""The element types of tensors the agent feeds and reads: float, or 8-bit quantised."""


class ModelInputs(ConfigModel):
    """What one input tensor of the model sees: a window of the last samples of some tags."""

    tags: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    """The input tags, in the order the model expects its features."""
    window: Annotated[int, Field(ge=1, le=4096)] = 1
    """Samples per tag in one window; one sample is taken every `every`. 1: the latest values."""
    dtype: TensorType | None = None
    """The element type the input tensor must have; none: whatever the model has."""

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

    def affine(self) -> tuple[list[float], list[float]]:
        """(offset, factor) per tag, so that the model gets (value - offset) * factor."""
        return list(self.mean), [1.0 / std for std in self.std]


class MinMaxNormalization(ConfigModel):
    """Feature scaling applied before the model: (value - min) / (max - min), per input tag."""

    min: list[float]
    """One minimum per input tag: it becomes 0."""
    max: list[float]
    """One maximum per input tag, above its minimum: it becomes 1."""

    @model_validator(mode="after")
    def _max_above_min(self) -> MinMaxNormalization:
        for index, (low, high) in enumerate(zip(self.min, self.max, strict=False)):
            if high <= low:
                raise config_error(f"must be greater than min ({low:g}) (got {high:g})", ("max", index))
        return self

    def affine(self) -> tuple[list[float], list[float]]:
        """(offset, factor) per tag, so that the model gets (value - offset) * factor."""
        return list(self.min), [1.0 / (high - low) for low, high in zip(self.min, self.max, strict=True)]


def _inputs_variant(value: Any) -> str:
    return "per_tensor" if isinstance(value, list) else "one_tensor"


InputsSpec = Annotated[
    Annotated[ModelInputs, Tag("one_tensor")]
    | Annotated[Annotated[list[ModelInputs], Field(min_length=1)], Tag("per_tensor")],
    Discriminator(_inputs_variant),
]


def _normalization_variant(value: Any) -> str:
    if isinstance(value, dict):
        return "min_max" if "min" in value or "max" in value else "mean_std"
    return "min_max" if isinstance(value, MinMaxNormalization) else "mean_std"


NormalizationSpec = Annotated[
    Annotated[Normalization, Tag("mean_std")] | Annotated[MinMaxNormalization, Tag("min_max")],
    Discriminator(_normalization_variant),
]
