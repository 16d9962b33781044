"""Reading a config file: YAML in, a validated config out, or every problem with its place.

The caller (``edge_agent.agent_config``) gives the config's model, which holds the drivers' sources, and
the values its ``driver`` key accepts, which the messages list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from ruamel.yaml import YAML

from edge_agent.identity.layout import PkiLayout
from edge_agent.identity.signatures import PKI_ENVIRONMENT, SignatureError, SignedFilePolicy

from .errors import ConfigError, ConfigProblem
from .messages import PlacedMessage, explain
from .schema import AgentConfigBase, collect_issues
from .vocabulary import ConfigIssue, ConfigPath
from .yaml_source import YamlDocument, parse_yaml

SECTIONS = "asset, opcua, sources, models, history, sparkplug, aas_api"

Config = TypeVar("Config", bound=AgentConfigBase[Any])


def load_file(path: Path, model: type[Config], choices: Mapping[str, Sequence[str]]) -> Config:
    """The config in the file at ``path``; ConfigError names every problem with file, line and key.

    ``choices`` names the values a discriminator key of ``model`` accepts (``driver``).
    """
    path = Path(path)
    name = str(path)
    if path.is_dir():
        raise ConfigError([ConfigProblem(name, None, None, "", "is a directory, not a config file")])
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(name, None, None, "", "file not found")]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(name, None, None, "", f"cannot be read: {exc.strerror}")]) from None
    signatures = SignedFilePolicy.provisioned()
    try:
        # The very bytes that are parsed, before any of them is.
        signatures.check(path, data)
    except SignatureError as exc:
        raise ConfigError([ConfigProblem(name, None, None, "", str(exc))]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigProblem(name, None, None, "", f"is not UTF-8 text (byte {exc.start} cannot be decoded)")]
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # the universal newlines of a text read
    config = load_text(text, model, choices, filename=name, base_dir=path.absolute().parent)
    _check_signed_parts(signatures, name, config)
    return config


def _check_signed_parts(signatures: SignedFilePolicy, filename: str, config: AgentConfigBase[Any]) -> None:
    """Signatures on the model cards the config was completed from; and no marker in another PKI that
    would not count because the agent reads its policy elsewhere (see edge_agent.identity.signatures)."""
    if not signatures.required:
        named = PkiLayout(config.opcua.pki)
        if named.root.absolute() != signatures.layout.root.absolute() and SignedFilePolicy.of(named).required:
            raise ConfigError(
                [
                    ConfigProblem(
                        filename,
                        None,
                        None,
                        "opcua.pki",
                        f"{named.require_signed_marker} requires signed files, but the agent reads that "
                        f"policy from {signatures.layout.root}: set {PKI_ENVIRONMENT}={named.root} for it",
                    )
                ]
            )
        return
    problems = []
    for index, model in enumerate(config.models):
        card = model.card
        if card is None:
            continue
        try:
            data = card.path.read_bytes()
            signatures.check(card.path, data)
            # The card was read while the config was validated; it must be the card that is signed.
            if YAML(typ="safe").load(data.decode("utf-8")) != card.content:
                raise SignatureError("it changed while the config was read; reload again")
        except (OSError, UnicodeDecodeError, SignatureError) as exc:
            problems.append(
                ConfigProblem(filename, None, None, f"models[{index}]", f"model card {card.path}: {exc}")
            )
    if problems:
        raise ConfigError(problems)


def load_text(
    text: str,
    model: type[Config],
    choices: Mapping[str, Sequence[str]],
    filename: str = "<string>",
    base_dir: Path | None = None,
) -> Config:
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
        config = model.model_validate(document.data, context={"config_dir": config_dir})
    except ValidationError as exc:
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
