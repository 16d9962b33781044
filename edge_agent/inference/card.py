"""The model card that travels beside a .tflite file: `<stem>.card.yaml`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def card_path(model_file: Path) -> Path:
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
