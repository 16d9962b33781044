"""The `models:` section: which TFLite models run over which tags, and the tags they give back.

What a config leaves out of a model's entry may come from the model card beside the model file
(`<stem>.card.yaml`): its keys mirror the config's (`sha256`, `every`, `num_threads`, `inputs`,
`normalize`, `outputs`). Where both say something, the config wins. The card is read when the config is,
so that its outputs are declared tags like any other and its mistakes are reported with the config's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from edge_agent.tags import DataType, TagInfo

from .messages import closest
from .model_card import (
    CARD_KEYS,
    ModelCard,
    blaming_the_card,
    card_beside,
    unfit_normalization,
    without_notes,
)
from .model_inputs import (
    InputsSpec,
    MinMaxNormalization,
    ModelInputs,
    Normalization,
    NormalizationSpec,
    TensorType,
)
from .model_outputs import (
    PROBABILITY_SUFFIX,
    AlarmOutput,
    ClassifierOutput,
    ModelOutput,
    ScoreOutput,
    with_room_for,
)
from .vocabulary import (
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

__all__ = [
    "CARD_KEYS",
    "PROBABILITY_SUFFIX",
    "STATISTICS",
    "AlarmOutput",
    "ClassifierOutput",
    "InputsSpec",
    "MinMaxNormalization",
    "ModelCard",
    "ModelConfig",
    "ModelInputs",
    "ModelOutput",
    "Normalization",
    "NormalizationSpec",
    "ScoreOutput",
    "TensorType",
]

_SHA256 = re.compile(r"[0-9a-f]{64}")

STATISTICS: tuple[tuple[str, DataType, str | None, str], ...] = (
    ("invocations", "int", None, "invocations of the model since it was loaded"),
    ("latency_mean_ms", "float", "ms", "mean time from a full window to its outputs, last 1000 invocations"),
    ("latency_p99_ms", "float", "ms", "99th percentile of that time, last 1000 invocations"),
    ("overruns", "int", None, "cycles skipped because the model was still busy with the previous one"),
)
"""The statistics tags of every model, ``<model>_<suffix>``: (suffix, data type, unit, description)."""

_LONGEST_STATISTIC = max(len(suffix) + 1 for suffix, *_ in STATISTICS)


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
        card = card_beside(data, info)
        if card is None:
            model = handler(data)
            model._origins = {key: "config" if key in data else "default" for key in CARD_KEYS}
            return model
        from_card = {
            key: without_notes(key, card.content[key])
            for key in CARD_KEYS
            if key not in data and card.content.get(key) is not None
        }
        unfit = unfit_normalization(data, from_card)
        if unfit:
            del from_card["normalize"]
        try:
            model = handler({**data, **from_card})
        except ValidationError as exc:
            raise blaming_the_card(exc, from_card, card.path) from None
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
        return with_room_for(name, _LONGEST_STATISTIC, f"its statistics tags add up to {_LONGEST_STATISTIC}")

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
                close = closest(output.from_, scores)
                message += (
                    f"; did you mean '{close}'?" if close else f" (its scores: {', '.join(scores) or 'none'})"
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
