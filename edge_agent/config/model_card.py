"""Completing a model's entry from its model card: reading the card, and telling its mistakes as its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError, ValidationInfo
from pydantic_core import InitErrorDetails, PydanticCustomError

from .messages import explain
from .model_files import card_path, load_card, resolve_model_file
from .vocabulary import ConfigPath, config_error

CARD_KEYS = ("sha256", "every", "num_threads", "inputs", "normalize", "outputs")
"""The keys of a model's entry that its model card may give instead of the config."""

# Keys a card may carry for the reader's sake only; the agent does not act on them.
_CARD_NOTES = {"inputs": ("units", "shape", "description"), "outputs": ("shape", "unit", "description")}

# The names of union members, which pydantic puts in error locations though they are not keys.
_VARIANTS = {"one_tensor", "per_tensor", "mean_std", "min_max", "score", "classifier", "alarm"}


@dataclass(frozen=True)
class ModelCard:
    """The card a model entry was completed from: where it is and what it says."""

    path: Path
    content: dict[str, Any]


def card_beside(data: dict[str, Any], info: ValidationInfo) -> ModelCard | None:
    """The card beside the file the entry names; None when there is none (or no such file yet)."""
    file, name = data.get("file"), data.get("name")
    if not isinstance(file, str) or not file:
        return None
    config_dir = Path((info.context or {}).get("config_dir") or Path.cwd())
    try:
        # It reads only `name` and `file`; the entry is not a ModelConfig yet.
        model_file = resolve_model_file(_FileReference(str(name), file), config_dir)
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


def unfit_normalization(data: dict[str, Any], from_card: dict[str, Any]) -> str:
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


def without_notes(key: str, value: Any) -> Any:
    notes = _CARD_NOTES.get(key, ())
    if key == "inputs" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in notes}
    if isinstance(value, list):
        return [
            {k: v for k, v in item.items() if k not in notes} if isinstance(item, dict) else item
            for item in value
        ]
    return value


def blaming_the_card(exc: ValidationError, from_card: dict[str, Any], card: Path) -> ValidationError:
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
            told = explain(error, {})
            key = _dotted(tuple(part for part in told.loc if part not in _VARIANTS))
            message = f"its model card {card.name} says {key}: {told.message}"
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
