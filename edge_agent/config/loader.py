"""Reading a config file: YAML in, a validated AgentConfig out, or every problem with its place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from drivers.base_config import ConfigIssue, ConfigPath
from drivers.registry import driver_names

from .errors import ConfigError, ConfigProblem
from .messages import PlacedMessage, explain
from .schema import AgentConfig, collect_issues
from .yaml_source import YamlDocument, parse_yaml

SECTIONS = "asset, opcua, sources, models, history"


def load_config(path: Path) -> AgentConfig:
    """The config in the file at ``path``; ConfigError names every problem with file, line and key."""
    path = Path(path)
    name = str(path)
    if path.is_dir():
        raise ConfigError([ConfigProblem(name, None, None, "", "is a directory, not a config file")])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(name, None, None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigProblem(name, None, None, "", f"is not UTF-8 text (byte {exc.start} cannot be decoded)")]
        ) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(name, None, None, "", f"cannot be read: {exc.strerror}")]) from None
    return load_config_text(text, filename=name, base_dir=path.absolute().parent)


def load_config_text(text: str, filename: str = "<string>", base_dir: Path | None = None) -> AgentConfig:
    """The config in ``text``; relative paths in it resolve against ``base_dir`` (default: the cwd)."""
    config_dir = base_dir if base_dir is not None else Path.cwd()
    document = parse_yaml(text, filename)
    if document.data is None:
        raise ConfigError(
            [ConfigProblem(filename, 1, 1, "", f"the file is empty; a config has the sections {SECTIONS}")]
        )
    if not isinstance(document.data, dict):
        raise ConfigError(
            [
                ConfigProblem(
                    filename,
                    document.root.line,
                    document.root.column,
                    "",
                    f"the top level must be a mapping of the sections {SECTIONS}, not {_kind(document.data)}",
                )
            ]
        )
    try:
        config = AgentConfig.model_validate(document.data, context={"config_dir": config_dir})
    except ValidationError as exc:
        choices = {"driver": driver_names()}
        explained = [explain(error, choices) for error in exc.errors(include_url=False)]
        raise ConfigError(
            _placed(filename, document, placed) for placed in _without_echoes(explained)
        ) from None
    issues = collect_issues(config)
    if issues:
        raise ConfigError(_issue_problem(filename, document, issue) for issue in issues)
    return config


def _kind(data: Any) -> str:
    return "a list" if isinstance(data, list) else f"a single value ({data!r})"


def _without_echoes(explained: list[PlacedMessage]) -> list[PlacedMessage]:
    # A misspelt key also leaves the key it was meant to be missing; saying so twice is noise.
    meant = {(*placed.loc[:-1], placed.meant) for placed in explained if placed.meant is not None}
    return [placed for placed in explained if not (placed.missing and placed.loc in meant)]


def _placed(filename: str, document: YamlDocument, placed: PlacedMessage) -> ConfigProblem:
    path, missing = _data_path(placed.loc, document.data)
    # A missing key is reported at the mapping that lacks it, everything else at its own key.
    position = document.position_of(path[:-1] if missing else path)
    return ConfigProblem(filename, position.line, position.column, format_path(path), placed.message)


def _issue_problem(filename: str, document: YamlDocument, issue: ConfigIssue) -> ConfigProblem:
    position = document.position_of(issue.path)
    message = issue.message
    if issue.first is not None:
        message += f" at line {document.position_of(issue.first).line}"
    return ConfigProblem(filename, position.line, position.column, format_path(issue.path), message)


def _data_path(loc: ConfigPath, data: Any) -> tuple[ConfigPath, bool]:
    """The path in the YAML data that a pydantic error location means, and whether its last key is missing.

    Pydantic's locations also hold the names of union members (the tag 'modbus' in
    ``sources.0.modbus.host``); they are not in the data, so they are skipped.
    """
    path: list[str | int] = []
    node = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, dict):
            if part in node:
                path.append(part)
                node = node[part]
            elif last:
                path.append(part)
                return tuple(path), True
        elif isinstance(node, list):
            if isinstance(part, int) and 0 <= part < len(node):
                path.append(part)
                node = node[part]
        else:
            break
    return tuple(path), False


def format_path(path: ConfigPath) -> str:
    """``("sources", 0, "points", 2, "address")`` -> ``sources[0].points[2].address``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
