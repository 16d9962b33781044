"""Finding a model's files from what the config says: its .tflite file and the card beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml import YAML

import models

BUNDLED_MODELS = Path(models.__file__).parent


class ModelFileReference(Protocol):
    """What of a model entry names its file: a ModelConfig, or an entry not validated yet."""

    @property
    def name(self) -> str: ...

    @property
    def file(self) -> str: ...


def resolve_model_file(cfg: ModelFileReference, config_dir: Path) -> Path:
    """The file a model entry names.

    A name with a '/' is a path, relative to the config file's directory unless absolute. A bare name is
    looked for next to the config file first, then among the models bundled with the agent; if it is in
    neither, FileNotFoundError names both places.
    """
    if "/" in cfg.file:
        path = Path(cfg.file)
        return path if path.is_absolute() else config_dir / path
    candidates = [config_dir / cfg.file, BUNDLED_MODELS / cfg.file]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"model file '{cfg.file}' of model '{cfg.name}' is neither in {config_dir} nor in {BUNDLED_MODELS}"
    )


def card_path(model_file: Path) -> Path:
    """Where the model card of ``model_file`` is: ``<stem>.card.yaml`` beside it."""
    return model_file.with_name(model_file.stem + ".card.yaml")


def load_card(model_file: Path) -> dict[str, Any]:
    """The card's content, or an empty dict when the model has none."""
    path = card_path(model_file)
    if not path.is_file():
        return {}
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("a model card must be a mapping of keys to values")
    return data
