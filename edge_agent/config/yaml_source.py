"""YAML text to plain data, remembering where in the text every key and list item was written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from .errors import ConfigError, ConfigProblem
from .vocabulary import ConfigPath


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the text as editors count: line and column from 1."""

    line: int
    column: int


START = Position(1, 1)


class _ConfigConstructor(RoundTripConstructor):
    """Round-trip construction, except that dates stay text: no key of the config is a date, and
    `2024-13-01` would otherwise fail deep in the YAML library without a place in the file."""


def _timestamp_as_text(constructor: RoundTripConstructor, node: Any) -> Any:
    return constructor.construct_scalar(node)


_ConfigConstructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


@dataclass
class YamlDocument:
    """The plain data of a YAML document (dicts with str keys, lists, scalars) and its positions."""

    data: Any
    root: Position = START
    _key_positions: dict[ConfigPath, Position] = field(default_factory=dict)

    def note(self, path: ConfigPath, position: Position) -> None:
        self._key_positions[path] = position

    def position_of(self, path: ConfigPath) -> Position:
        """Where the key (or list item) at ``path`` is written, or its nearest written ancestor."""
        while path:
            if path in self._key_positions:
                return self._key_positions[path]
            path = path[:-1]
        return self.root


def parse_yaml(text: str, filename: str) -> YamlDocument:
    """The document in ``text``; a ConfigError placed at the problem if it is not valid YAML."""
    yaml = YAML(typ="rt", pure=True)
    yaml.Constructor = _ConfigConstructor
    try:
        loaded = yaml.load(text)
    except MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(exc, filename)]) from None
    except ReaderError as exc:
        raise ConfigError([_unreadable_character(exc, text, filename)]) from None
    except YAMLError as exc:
        reason = " ".join(str(exc).split())  # one line, as every problem is
        raise ConfigError([ConfigProblem(filename, 1, 1, "", f"not valid YAML: {reason}")]) from None
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        # ruamel's constructors raise plain Python errors on some malformed scalars ("._" as a float,
        # found by fuzzing): still a file that is not valid YAML, not a crash of the agent.
        reason = " ".join(str(exc).split())
        raise ConfigError([ConfigProblem(filename, 1, 1, "", f"not valid YAML: {reason}")]) from None
    document = YamlDocument(None)
    if isinstance(loaded, CommentedMap | CommentedSeq):
        document.root = Position(loaded.lc.line + 1, loaded.lc.col + 1)
    document.data = _Converter(document, filename).plain(loaded, ())
    return document


def _unreadable_character(exc: ReaderError, text: str, filename: str) -> ConfigProblem:
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return ConfigProblem(
        filename, line, column, "", f"the character U+{ord(character):04X} is not allowed in a YAML file"
    )


_DUPLICATE_KEY = re.compile(r'found duplicate key "(.*?)" with value')


def _syntax_problem(exc: MarkedYAMLError, filename: str) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    position = Position(mark.line + 1, mark.column + 1) if mark is not None else START
    problem = (exc.problem or exc.context or "not valid YAML").strip()
    duplicate = _DUPLICATE_KEY.match(problem)
    if duplicate:
        message = f"key '{duplicate.group(1)}' appears twice in the same mapping"
    else:
        message = f"YAML syntax: {problem}"
        context_mark = exc.context_mark
        if exc.context and context_mark is not None and context_mark.line != (mark.line if mark else -1):
            message += f" ({exc.context.strip()} at line {context_mark.line + 1})"
    return ConfigProblem(filename, position.line, position.column, "", message)


class _Converter:
    def __init__(self, document: YamlDocument, filename: str) -> None:
        self.document = document
        self.filename = filename
        self._open: set[int] = set()  # ids of the collections being converted, to catch self-reference

    def plain(self, node: Any, path: ConfigPath) -> Any:
        if isinstance(node, dict | list):
            if id(node) in self._open:
                position = self.document.position_of(path)
                raise ConfigError(
                    [
                        ConfigProblem(
                            self.filename, position.line, position.column, "", "an alias refers to itself"
                        )
                    ]
                )
            self._open.add(id(node))
            try:
                return self._mapping(node, path) if isinstance(node, dict) else self._sequence(node, path)
            finally:
                self._open.discard(id(node))
        return _scalar(node)

    def _mapping(self, node: dict[Any, Any], path: ConfigPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in node.items():
            text = _key_text(key)
            child = (*path, text)
            position = _lc_position(node, "key", key)
            if position is not None:
                self.document.note(child, position)
            result[text] = self.plain(value, child)
        return result

    def _sequence(self, node: list[Any], path: ConfigPath) -> list[Any]:
        result = []
        for index, value in enumerate(node):
            child = (*path, index)
            position = _lc_position(node, "item", index)
            if position is not None:
                self.document.note(child, position)
            result.append(self.plain(value, child))
        return result


def _lc_position(node: Any, kind: str, key: Any) -> Position | None:
    # Keys brought in by a merge (`<<: *defaults`) have no position of their own.
    try:
        line, column = getattr(node.lc, kind)(key)
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return Position(line + 1, column + 1)


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    return _shown_key(_scalar(key))


def _shown_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _scalar(node: Any) -> Any:
    """ruamel's formatting-preserving scalars as the plain Python values they stand for."""
    if node is None:
        return None
    if isinstance(node, ScalarBoolean | bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, TaggedScalar):
        return str(node.value)
    return str(node)
