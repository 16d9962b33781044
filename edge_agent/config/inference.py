"""The `models:` section: which TFLite models run over which tags, and the tags they give back.

What a config leaves out of a model's entry may come from the model card beside the model file
(`<stem>.card.yaml`): its keys mirror the config's (`sha256`, `every`, `num_threads`, `inputs`,
`normalize`, `outputs`). Where both say something, the config wins. The card is read when the config is,
so that its outputs are declared tags like any other and its mistakes are reported with the config's.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from drivers.base_config import (
    ConfigIssue,
    ConfigModel,
    ConfigPath,
    DeclaredTag,
    Duration,
    Identifier,
    at_least,
    config_error,
    invalid,
    shown,
)
from edge_agent.inference.card import card_path, load_card
from edge_agent.tags import TagInfo

from .messages import explain

_SHA256 = re.compile(r"[0-9a-f]{64}")
_ALARM_KEYS = ("from", "from_", "above", "clear_below")
_NAME_LENGTH = 64

TensorType = Literal["float32", "int8", "uint8"]
"""The element types of tensors the agent feeds and reads: float, or 8-bit quantised."""

CARD_KEYS = ("sha256", "every", "num_threads", "inputs", "normalize", "outputs")
"""The keys of a model's entry that its model card may give instead of the config."""

# Keys a card may carry for the reader's sake only; the agent does not act on them.
_CARD_NOTES = {"inputs": ("units", "shape", "description"), "outputs": ("shape", "unit", "description")}

STATISTICS = (
    ("invocations", "int", None, "invocations of the model since it was loaded"),
    ("latency_mean_ms", "float", "ms", "mean time from a full window to its outputs, last 1000 invocations"),
    ("latency_p99_ms", "float", "ms", "99th percentile of that time, last 1000 invocations"),
    ("overruns", "int", None, "cycles skipped because the model was still busy with the previous one"),
)
"""The statistics tags of every model, ``<model>_<suffix>``: (suffix, data type, unit, description)."""

# The names of union members, which pydantic puts in error locations though they are not keys.
_VARIANTS = {"one_tensor", "per_tensor", "mean_std", "min_max", "score", "classifier", "alarm"}
_LONGEST_STATISTIC = max(len(suffix) + 1 for suffix, *_ in STATISTICS)
PROBABILITY_SUFFIX = "_probability"


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
        room = _NAME_LENGTH - len(PROBABILITY_SUFFIX)
        if len(name) > room:
            raise invalid(
                "identifier",
                f"must be at most {room} characters long: the tag '{name[:12]}..{PROBABILITY_SUFFIX}' "
                f"adds {len(PROBABILITY_SUFFIX)} (got {len(name)})",
            )
        return name

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


@dataclass(frozen=True)
class ModelCard:
    """The card a model entry was completed from: where it is and what it says."""

    path: Path
    content: dict[str, Any]


def _card_may_give(schema: dict[str, Any]) -> None:
    # For an editor, `inputs` and `outputs` are not required: the model card may give them.
    schema["required"] = [key for key in schema.get("required", []) if key not in CARD_KEYS]


class ModelConfig(ConfigModel):
    """A TFLite model run over live windows of tags."""

    model_config = ConfigDict(json_schema_extra=_card_may_give)

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
    inputs: InputsSpec
    """The input tags and the window length; a list of them for a model with several input tensors."""
    normalize: NormalizationSpec | None = None
    """Scaling of the inputs; none: the model gets raw values."""
    outputs: Annotated[list[ModelOutput], Field(min_length=1)]
    """The tags the model publishes: scores, classes, and alarms on scores."""

    _card: ModelCard | None = PrivateAttr(default=None)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)
    _unfit_card_normalization: str = PrivateAttr(default="")

    @model_validator(mode="wrap")
    @classmethod
    def _complete_from_card(
        cls, data: Any, handler: Callable[[Any], ModelConfig], info: ValidationInfo
    ) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        card = _card_beside(data, info)
        if card is None:
            model = handler(data)
            model._origins = {key: "config" if key in data else "default" for key in CARD_KEYS}
            return model
        from_card = {
            key: _without_notes(key, card.content[key])
            for key in CARD_KEYS
            if key not in data and card.content.get(key) is not None
        }
        unfit = _unfit_normalization(data, from_card)
        if unfit:
            del from_card["normalize"]
        try:
            model = handler({**data, **from_card})
        except ValidationError as exc:
            raise _blaming_the_card(exc, from_card, card.path) from None
        model._card = card
        model._unfit_card_normalization = unfit
        model._origins = {
            key: "config" if key in data else "model card" if key in from_card else "default"
            for key in CARD_KEYS
        }
        return model

    @field_validator("sha256")
    @classmethod
    def _sha256_form(cls, digest: str | None) -> str | None:
        if digest is None or _SHA256.fullmatch(digest):
            return digest
        raise invalid(
            "sha256", f"must be 64 lowercase hex digits, as sha256sum prints them (got {shown(digest)})"
        )

    @field_validator("name")
    @classmethod
    def _room_for_statistics(cls, name: str) -> str:
        room = _NAME_LENGTH - _LONGEST_STATISTIC
        if len(name) > room:
            raise invalid(
                "identifier",
                f"must be at most {room} characters long: its statistics tags add up to "
                f"{_LONGEST_STATISTIC} (got {len(name)})",
            )
        return name

    @model_validator(mode="after")
    def _one_normalization_per_input(self) -> ModelConfig:
        if self.normalize is None:
            return self
        count = len(self.input_tags)
        for key in type(self.normalize).model_fields:
            values = getattr(self.normalize, key)
            if len(values) != count:
                where = "inputs.tags lists" if isinstance(self.inputs, ModelInputs) else "the inputs list"
                raise config_error(
                    f"has {len(values)} values but {where} {count} tags; give one per tag",
                    ("normalize", key),
                )
        return self

    @property
    def input_groups(self) -> list[ModelInputs]:
        """One entry per input tensor, in tensor order."""
        return [self.inputs] if isinstance(self.inputs, ModelInputs) else list(self.inputs)

    @property
    def input_tags(self) -> list[str]:
        """Every input tag in the order the model gets them: through the input tensors in turn."""
        return [tag for group in self.input_groups for tag in group.tags]

    def input_tag_paths(self) -> list[tuple[str, ConfigPath]]:
        """Every input tag with the path of the key naming it, relative to the model."""
        if isinstance(self.inputs, ModelInputs):
            return [(tag, ("inputs", "tags", index)) for index, tag in enumerate(self.inputs.tags)]
        return [
            (tag, ("inputs", group, "tags", index))
            for group, inputs in enumerate(self.inputs)
            for index, tag in enumerate(inputs.tags)
        ]

    @property
    def scores(self) -> list[ScoreOutput]:
        return [output for output in self.outputs if isinstance(output, ScoreOutput)]

    @property
    def classifiers(self) -> list[ClassifierOutput]:
        return [output for output in self.outputs if isinstance(output, ClassifierOutput)]

    @property
    def alarms(self) -> list[AlarmOutput]:
        return [output for output in self.outputs if isinstance(output, AlarmOutput)]

    @property
    def card(self) -> ModelCard | None:
        """The model card the entry was completed from; None when the model file has none."""
        return self._card

    @property
    def unfit_card_normalization(self) -> str:
        """Why the card's `normalize` was left out, when it was: it is for other inputs than the config's."""
        return self._unfit_card_normalization

    @property
    def origins(self) -> dict[str, str]:
        """For each key a card may give: 'config', 'model card' or 'default'."""
        return dict(self._origins)

    def statistics_tags(self) -> list[str]:
        return [f"{self.name}_{suffix}" for suffix, *_ in STATISTICS]

    def declared_tags(self) -> list[DeclaredTag]:
        """Every tag the model publishes, with the path of the key that names it (relative to the model)."""
        declared = []
        for index, output in enumerate(self.outputs):
            path = ("outputs", index, "name")
            description = f"output of model {self.name}"
            if isinstance(output, AlarmOutput):
                declared.append(
                    DeclaredTag(TagInfo(output.name, self.name, "bool", description=description), path)
                )
            elif isinstance(output, ClassifierOutput):
                labels = ", ".join(output.classes)
                declared.append(
                    DeclaredTag(
                        TagInfo(
                            output.name, self.name, "string", description=f"{description}: one of {labels}"
                        ),
                        path,
                    )
                )
                probability = output.name + PROBABILITY_SUFFIX
                declared.append(
                    DeclaredTag(
                        TagInfo(probability, self.name, "float", description=f"probability of {output.name}"),
                        path,
                        note=f"the probability of classifier '{output.name}'",
                    )
                )
            else:
                declared.append(
                    DeclaredTag(TagInfo(output.name, self.name, "float", description=description), path)
                )
        for suffix, data_type, unit, description in STATISTICS:
            declared.append(
                DeclaredTag(
                    TagInfo(
                        f"{self.name}_{suffix}", self.name, data_type, unit=unit, description=description
                    ),
                    ("name",),
                    note=f"a statistic of model '{self.name}'",
                )
            )
        return declared

    def tag_infos(self) -> list[TagInfo]:
        """The tags the model publishes: its outputs (classifiers give two each) and its statistics."""
        return [declared.info for declared in self.declared_tags()]

    def issues(self) -> Iterator[ConfigIssue]:
        scores = [output.name for output in self.scores]
        others = {output.name for output in self.outputs if not isinstance(output, ScoreOutput)}
        for index, output in enumerate(self.outputs):
            if not isinstance(output, AlarmOutput) or output.from_ in scores:
                continue
            if output.from_ in others:
                message = f"'{output.from_}' is not a score; an alarm follows a score output of this model"
            else:
                message = f"this model has no score output '{output.from_}'"
                close = difflib.get_close_matches(output.from_, scores, n=1)
                message += (
                    f"; did you mean '{close[0]}'?"
                    if close
                    else f" (its scores: {', '.join(scores) or 'none'})"
                )
            yield ConfigIssue(("outputs", index, "from"), message)
        seen: dict[str, DeclaredTag] = {}
        for declared in self.declared_tags():
            name = declared.info.name
            if name in seen:
                what = f"tag '{name}'" + (f" ({declared.note})" if declared.note else "")
                yield ConfigIssue(declared.path, f"{what} is already defined", first=seen[name].path)
            else:
                seen[name] = declared


def _card_beside(data: dict[str, Any], info: ValidationInfo) -> ModelCard | None:
    """The card beside the file the entry names; None when there is none (or no such file yet)."""
    from .model_files import resolve_model_file  # it imports this module

    file, name = data.get("file"), data.get("name")
    if not isinstance(file, str) or not file:
        return None
    config_dir = Path((info.context or {}).get("config_dir") or Path.cwd())
    try:
        # It reads only `name` and `file`; the entry is not a ModelConfig yet.
        model_file = resolve_model_file(_FileReference(str(name), file), config_dir)  # type: ignore[arg-type]
    except FileNotFoundError:
        return None  # reported as a problem of `file`, where the config is checked as a whole
    path = card_path(model_file)
    try:
        content = load_card(model_file)
    except Exception as exc:
        raise config_error(f"its model card {path} cannot be read: {exc}", ("file",)) from None
    return ModelCard(path, content) if content else None


@dataclass(frozen=True)
class _FileReference:
    name: str
    file: str


def _unfit_normalization(data: dict[str, Any], from_card: dict[str, Any]) -> str:
    """Why the card's normalisation does not go with the config's own inputs; '' when it does.

    The card's `normalize` holds one value per input tag of the card. A config that lists its own inputs
    (its plant's names for the same signals) may use it as long as it lists as many tags.
    """
    normalize, inputs = from_card.get("normalize"), data.get("inputs")
    if not isinstance(normalize, dict) or inputs is None:
        return ""
    groups = inputs if isinstance(inputs, list) else [inputs]
    try:
        given = sum(len(group["tags"]) for group in groups)
        values = max(len(v) for v in normalize.values())
    except (KeyError, TypeError, ValueError):
        return ""  # malformed: reported where it is
    if given == values:
        return ""
    return f"the model card's normalize has {values} values per key, the config's inputs list {given} tags"


def _without_notes(key: str, value: Any) -> Any:
    notes = _CARD_NOTES.get(key, ())
    if key == "inputs" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in notes}
    if isinstance(value, list):
        return [
            {k: v for k, v in item.items() if k not in notes} if isinstance(item, dict) else item
            for item in value
        ]
    return value


def _blaming_the_card(exc: ValidationError, from_card: dict[str, Any], card: Path) -> ValidationError:
    """The errors, with those in values that came from the card told as the card's, at `file`."""

    def placed(error: Any) -> tuple[Any, ...]:
        return (*error["loc"], *(error.get("ctx") or {}).get("at", ()))

    if not any(placed(error)[:1] and placed(error)[0] in from_card for error in exc.errors()):
        return exc
    rebuilt: list[InitErrorDetails] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        ctx = error.get("ctx")
        where = placed(error)
        if where and where[0] in from_card:
            placed = explain(error, {})
            where = _dotted(tuple(part for part in placed.loc if part not in _VARIANTS))
            message = f"its model card {card.name} says {where}: {placed.message}"
            rebuilt.append(
                InitErrorDetails(
                    type=PydanticCustomError("config", "{detail}", {"detail": message, "at": ("file",)}),
                    loc=(),
                    input=error["input"],
                )
            )
            continue
        kind: str | PydanticCustomError = error["type"]
        if ctx and "detail" in ctx:  # the project's own errors (invalid, config_error)
            kind = PydanticCustomError(error["type"], "{detail}", ctx)
        details = InitErrorDetails(type=kind, loc=loc, input=error["input"])
        if ctx:
            details["ctx"] = ctx
        rebuilt.append(details)
    return ValidationError.from_exception_data(exc.title, rebuilt)


def _dotted(path: ConfigPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
