"""What can be known of the configured models without running them: file digest, card version."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from edge_agent.agent_config import AgentConfig
from edge_agent.config.model_files import load_card, resolve_model_file

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_models(config: AgentConfig) -> dict[str, dict[str, Any]]:
    """Per model name: ``sha256`` of its file and ``version``/``description`` from its card, as found.

    The result is the ``model_info`` of ``build_environment``; a model whose file is missing or whose
    card cannot be read is described by what remains.
    """
    described: dict[str, dict[str, Any]] = {}
    for model in config.models:
        info: dict[str, Any] = {}
        try:
            path = resolve_model_file(model, config.config_dir)
            info["sha256"] = file_sha256(path)
            card = load_card(path)
        except (OSError, ValueError):
            card = {}
        for key in ("version", "description"):
            if card.get(key) is not None:
                info[key] = str(card[key]).strip()
        described[model.name] = info
    return described


class RunningModel(Protocol):
    """What a running model tells of itself (an inference pipeline)."""

    @property
    def name(self) -> str: ...

    def statistics(self) -> dict[str, Any]: ...


def model_info(config: AgentConfig, running: Iterable[RunningModel]) -> dict[str, dict[str, Any]]:
    """What the shell's Condition Monitoring submodel says of each model: card facts and run statistics."""
    described = describe_models(config)
    for model in running:
        statistics = model.statistics()
        info = described.setdefault(model.name, {})
        if statistics.get("sha256"):
            info["sha256"] = statistics["sha256"]
        info["inferences"] = statistics["invocations"]
        if "latency_ms" in statistics:
            info["latency_ms"] = statistics["latency_ms"]
    return described
