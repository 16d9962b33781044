"""The whole config, whichever drivers its sources are of: its sections and the checks across them.

The drivers' schemas build on this package, so the config with their sources,
``edge_agent.agent_config.AgentConfig``, is made outside it, from ``AgentConfigBase``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Generic, Self, TypeVar

from pydantic import BaseModel, Field, PrivateAttr, ValidationInfo, model_validator

from edge_agent.tags import TagInfo

from .aas_api import AasApiConfig
from .asset import AssetConfig
from .history import HistoryConfig
from .inference import ModelConfig
from .messages import closest
from .model_files import resolve_model_file
from .opcua import OpcUaConfig
from .sparkplug import SparkplugConfig
from .vocabulary import ConfigIssue, ConfigModel, ConfigPath, SourceConfigBase

SourceEntry = TypeVar("SourceEntry", bound=SourceConfigBase)


class AgentConfigBase(ConfigModel, Generic[SourceEntry]):
    """The sections of an agent's config and the checks across them, with ``SourceEntry`` the schema of
    one `sources:` entry."""

    asset: AssetConfig
    """The machine the agent represents."""
    opcua: OpcUaConfig = Field(default_factory=OpcUaConfig)
    """The OPC UA server."""
    sources: list[SourceEntry] = []
    """Where readings come from: one entry per device or bus."""
    models: list[ModelConfig] = []
    """TFLite models run over the tags."""
    history: HistoryConfig | None = None
    """Where readings are recorded for OPC UA HistoryRead; no history without it."""
    sparkplug: SparkplugConfig | None = None
    """The agent as a Sparkplug B edge node on MQTT brokers; no MQTT without it."""
    aas_api: AasApiConfig | None = None
    """The shell over HTTP (AAS Part 2 API); nothing listens for HTTP without it."""

    _config_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _remember_config_dir(self, info: ValidationInfo) -> Self:
        config_dir = (info.context or {}).get("config_dir")
        if config_dir is not None:
            self._config_dir = Path(config_dir)
        return self

    @property
    def config_dir(self) -> Path:
        """The directory relative paths in the config were resolved against."""
        return self._config_dir

    def tag_infos(self) -> list[TagInfo]:
        """Every tag: the sources' and the models' outputs."""
        infos = [info for source in self.sources for info in source.tag_infos()]
        return infos + [info for model in self.models for info in model.tag_infos()]

    def issues(self) -> Iterator[ConfigIssue]:
        yield from _names_once(
            "source", [(source.name, ("sources", i, "name")) for i, source in enumerate(self.sources)]
        )
        yield from _names_once(
            "model", [(model.name, ("models", i, "name")) for i, model in enumerate(self.models)]
        )
        yield from self._tags_once()
        yield from self._inputs_exist()
        yield from self._model_files_exist()
        yield from self._history_tags_exist()

    def _history_tags_exist(self) -> Iterator[ConfigIssue]:
        if self.history is None or self.history.tags is None:
            return
        known = sorted(info.name for info in self.tag_infos())
        for index, tag in enumerate(self.history.tags):
            if tag not in known:
                close = closest(tag, known)
                hint = f"; did you mean '{close}'?" if close else ""
                yield ConfigIssue(("history", "tags", index), f"no source or model defines tag '{tag}'{hint}")

    def _model_files_exist(self) -> Iterator[ConfigIssue]:
        for index, model in enumerate(self.models):
            try:
                path = resolve_model_file(model, self.config_dir)
            except FileNotFoundError as exc:
                yield ConfigIssue(("models", index, "file"), str(exc))
                continue
            if not path.is_file():
                yield ConfigIssue(("models", index, "file"), f"model file {path} does not exist")

    def _tags_once(self) -> Iterator[ConfigIssue]:
        defined: dict[str, ConfigPath] = {}
        for index, source in enumerate(self.sources):
            for declared in source.declared_tags():
                path: ConfigPath = ("sources", index, *declared.path)
                if declared.info.name in defined:
                    what = f"tag '{declared.info.name}'" + (f" ({declared.note})" if declared.note else "")
                    yield ConfigIssue(path, f"{what} is already defined", first=defined[declared.info.name])
                else:
                    defined[declared.info.name] = path
        for index, model in enumerate(self.models):
            for declared in model.declared_tags():
                path = ("models", index, *declared.path)
                name = declared.info.name
                if name in defined:
                    what = f"tag '{name}'" + (f" ({declared.note})" if declared.note else "")
                    yield ConfigIssue(path, f"{what} is already defined", first=defined[name])
                else:
                    defined[name] = path

    def _inputs_exist(self) -> Iterator[ConfigIssue]:
        known = {info.name for source in self.sources for info in source.tag_infos()}
        producer = {info.name: model.name for model in self.models for info in model.tag_infos()}
        for index, model in enumerate(self.models):
            for tag, relative in model.input_tag_paths():
                if tag in known:
                    continue
                path: ConfigPath = ("models", index, *relative)
                if producer.get(tag) == model.name:
                    yield ConfigIssue(
                        path, f"tag '{tag}' is an output of this very model; it cannot be its input"
                    )
                elif tag in producer:
                    yield ConfigIssue(
                        path,
                        f"tag '{tag}' is an output of model '{producer[tag]}', which comes later; "
                        f"list '{producer[tag]}' before '{model.name}'",
                    )
                else:
                    close = closest(tag, sorted(known))
                    hint = f"; did you mean '{close}'?" if close else ""
                    yield ConfigIssue(path, f"no source or earlier model defines tag '{tag}'{hint}")
            known.update(info.name for info in model.tag_infos())


def _names_once(what: str, names: list[tuple[str, ConfigPath]]) -> Iterator[ConfigIssue]:
    first: dict[str, ConfigPath] = {}
    for name, path in names:
        if name in first:
            yield ConfigIssue(path, f"{what} '{name}' is already defined", first=first[name])
        else:
            first[name] = path


def collect_issues(model: BaseModel, prefix: ConfigPath = ()) -> list[ConfigIssue]:
    """The issues of a model and of every model inside it, with paths from the top of the config."""
    found = [issue.under(prefix) for issue in model.issues()] if isinstance(model, ConfigModel) else []
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            found += collect_issues(value, (*prefix, key))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += collect_issues(item, (*prefix, key, index))
    return found
