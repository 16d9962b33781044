"""Pydantic's validation errors, told in the words of the person who wrote the config."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import ErrorDetails

from .vocabulary import ConfigPath, UnknownKey, shown

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


@dataclass(frozen=True, slots=True)
class PlacedMessage:
    """A message and the path it is about; ``missing`` when the key at the path is not written."""

    loc: ConfigPath
    message: str
    missing: bool = False
    meant: str | None = None
    """For an unknown key: the known key it is close to, which then need not be reported missing."""


def closest(word: str, candidates: Sequence[str]) -> str | None:
    # Imported here: difflib is only needed to explain a config mistake, not by an agent that serves.
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """'; did you mean 'poll'?' when a candidate is close to ``word``, else ''."""
    close = closest(word, candidates)
    return f"; did you mean '{close}'?" if close else ""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def explain(error: ErrorDetails, choices: Mapping[str, Sequence[str]]) -> PlacedMessage:
    """One pydantic error as a plain message, placed at the key it is about.

    ``choices`` names the values a discriminator key accepts when pydantic does not say (``driver``).
    """
    kind = error["type"]
    loc: ConfigPath = tuple(error["loc"])
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    got = f"(got {shown(value)})"

    if kind == "missing":
        return PlacedMessage(loc, "required key is missing", missing=True)
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        known = list(value.known) if isinstance(value, UnknownKey) else []
        meant = closest(key, known)
        hint = ""
        if meant:
            hint = f"; did you mean '{meant}'?"
        elif known:
            hint = f"; known keys here: {', '.join(known)}"
        return PlacedMessage(loc, f"unknown key '{key}'{hint}", meant=meant)
    if kind == "union_tag_invalid":
        key = _unquote(ctx.get("discriminator", ""))
        tag = str(ctx.get("tag", ""))
        written = shown(value[key]) if isinstance(value, dict) and key in value else f"'{tag}'"
        expected = sorted(_QUOTED.findall(str(ctx.get("expected_tags", ""))))
        return PlacedMessage(
            (*loc, key), f"unknown {key} {written}; known: {', '.join(expected)}{did_you_mean(tag, expected)}"
        )
    if kind == "union_tag_not_found":
        key = _unquote(ctx.get("discriminator", ""))
        accepted = choices.get(key)
        suffix = f"; say which {key}: {', '.join(accepted)}" if accepted else ""
        return PlacedMessage((*loc, key), f"required key is missing{suffix}", missing=True)
    if kind == "literal_error":
        expected = _QUOTED.findall(str(ctx.get("expected", "")))
        hint = did_you_mean(value, expected) if isinstance(value, str) else ""
        return PlacedMessage(loc, f"must be one of {', '.join(expected)} {got}{hint}")
    if kind == "config":
        return PlacedMessage((*loc, *ctx.get("at", ())), str(ctx.get("detail", error["msg"])))
    return PlacedMessage(loc, _plain(kind, ctx, got, error["msg"], value))


def _plain(kind: str, ctx: dict[str, Any], got: str, pydantic_message: str, value: Any) -> str:
    if "detail" in ctx:
        return str(ctx["detail"])
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return f"must be a whole number {got}"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number {got}"
    if kind == "finite_number":
        return f"must be a finite number {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false {got}"
    if kind in ("string_type", "string_unicode"):
        return f"must be text {got}"
    if kind == "string_too_short":
        minimum = int(ctx.get("min_length", 1))
        return (
            "must not be empty" if minimum == 1 else f"must be at least {_plural(minimum, 'character')} long"
        )
    if kind == "string_too_long":
        return f"must be at most {_plural(int(ctx.get('max_length', 0)), 'character')} long"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')} {got}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": ("at least", "ge"),
            "greater_than": ("more than", "gt"),
            "less_than_equal": ("at most", "le"),
            "less_than": ("less than", "lt"),
        }
        phrase, key = words[kind]
        return f"must be {phrase} {ctx.get(key)} {got}"
    if kind == "too_short":
        minimum = int(ctx.get("min_length", 1))
        if minimum == 1:
            return "must not be empty; give at least one entry"
        return f"must have at least {_entries(minimum)} (got {ctx.get('actual_length')})"
    if kind == "too_long":
        return f"must have at most {_entries(int(ctx.get('max_length', 0)))} (got {ctx.get('actual_length')})"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"must be a list {got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values {got}"
    if kind == "path_type":
        return f"must be a file or directory path {got}"
    if kind in ("value_error", "assertion_error"):
        return pydantic_message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    # Anything rarer keeps pydantic's words, in the same lower-case style as the rest.
    return pydantic_message[:1].lower() + pydantic_message[1:] + (f" {got}" if value is not None else "")


def _unquote(text: Any) -> str:
    return str(text).strip("'\"")
