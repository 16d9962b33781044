"""The `history:` section: where tag readings are recorded, and how much of them is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from .opcua import _relative_to_config
from .sizes import ByteSize, size_between
from .vocabulary import ConfigModel, Duration, Identifier, at_least


class HistoryConfig(ConfigModel):
    """A bounded on-disk history of tag readings, served to OPC UA clients by HistoryRead."""

    database: Path = Path("/var/lib/edge-agent/history.sqlite")
    """The SQLite file of the history; a relative path is taken from the config file's directory."""
    retain: Annotated[Duration, at_least("1m")] = Field(default="7d", validate_default=True)
    """How long a reading is kept: older ones are deleted."""
    max_size: Annotated[ByteSize, size_between("1MB", "1000GB")] = Field(
        default="200MB", validate_default=True
    )
    """The most disk space the history takes (database and its write-ahead log); the oldest readings
    make room for new ones."""
    tags: list[Identifier] | None = None
    """The tags recorded; left out: every tag."""
    flush_interval: Annotated[Duration, at_least("10ms")] = Field(default="1s", validate_default=True)
    """How often queued readings are written to disk in one transaction; what a crash can lose."""

    @field_validator("database")
    @classmethod
    def _resolve(cls, path: Path, info: ValidationInfo) -> Path:
        return _relative_to_config(path, info)
