"""The agent's config: the config language's sections, with sources of the drivers the agent has.

Here the config language (``edge_agent.config``, which knows a source only as ``SourceConfigBase``)
meets the drivers (``drivers.registry``, whose source schemas build on that language).
"""

from __future__ import annotations

import functools
import operator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from pydantic import Field

from drivers.registry import SOURCE_CONFIGS, driver_names
from edge_agent.config.loader import load_file, load_text
from edge_agent.config.schema import AgentConfigBase
from edge_agent.config.vocabulary import SourceConfigBase

if TYPE_CHECKING:
    # The union is built from the registry when the module runs, which a type checker cannot follow: to
    # it a source is the base every driver's schema extends (isinstance reaches a driver's own keys).
    SourceConfig: TypeAlias = SourceConfigBase
else:
    SourceConfig = Annotated[functools.reduce(operator.or_, SOURCE_CONFIGS), Field(discriminator="driver")]
"""One entry of `sources:`, picked among the registered drivers' schemas by its `driver` key."""

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class AgentConfig(AgentConfigBase[SourceConfig]):
    """An edge agent's config: the asset, the OPC UA server, the sources and the models."""


def application_uri(config: AgentConfig) -> str:
    """The configured ApplicationUri, else one derived from the asset id (which is often a URN itself)."""
    return config.opcua.application_uri or f"urn:edge-agent:{config.asset.id.removeprefix('urn:')}"


def load_config(path: Path) -> AgentConfig:
    """The config in the file at ``path``; ConfigError names every problem with file, line and key."""
    return load_file(path, AgentConfig, {"driver": driver_names()})


def load_config_text(text: str, filename: str = "<string>", base_dir: Path | None = None) -> AgentConfig:
    """The config in ``text``; relative paths in it resolve against ``base_dir`` (default: the cwd)."""
    return load_text(text, AgentConfig, {"driver": driver_names()}, filename, base_dir)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a config file, for editors to complete and check keys."""
    schema = AgentConfig.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}
