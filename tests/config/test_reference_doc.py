"""docs/config-reference.md documents every key the loader accepts, each under the section it belongs to."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
from pydantic import BaseModel, Tag
from pydantic.fields import FieldInfo

from edge_agent.agent_config import AgentConfig

REFERENCE = Path(__file__).parents[2] / "docs" / "config-reference.md"

Section = tuple[str, tuple[str, ...], type[BaseModel]]


def sections(annotation: Any, path: str = "", labels: tuple[str, ...] = ()) -> Iterator[Section]:
    """Every model in the config with its key path (``sources[].points[]``) and the variant labels that
    tell it from its siblings (``driver: gpio``, ``kind: counter``, ``alarm``)."""
    yield from _sections(annotation, path, labels, None)


def _sections(
    annotation: Any, path: str, labels: tuple[str, ...], discriminator: str | None
) -> Iterator[Section]:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        for item in metadata:
            if isinstance(item, FieldInfo) and isinstance(item.discriminator, str):
                discriminator = item.discriminator
            if isinstance(item, Tag):
                labels = (*labels, item.tag)
        yield from _sections(base, path, labels, discriminator)
    elif origin in (list, tuple):
        for item in get_args(annotation):
            yield from _sections(item, f"{path}[]", labels, discriminator)
    elif origin in (typing.Union, types.UnionType):
        for member in get_args(annotation):
            member_labels = labels
            if discriminator and isinstance(member, type) and issubclass(member, BaseModel):
                value = get_args(member.model_fields[discriminator].annotation)[0]
                member_labels = (*labels, f"{discriminator}: {value}")
            yield from _sections(member, path, member_labels, None)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield path, labels, annotation
        for name, field in annotation.model_fields.items():
            key = field.alias or name
            yield from _sections(field.annotation, f"{path}.{key}" if path else key, labels, None)


def section_text(heading_words: list[str]) -> str:
    """The text from the first heading holding all ``heading_words`` to the next heading."""
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    for start, line in enumerate(lines):
        if line.startswith("#") and all(word in line for word in heading_words):
            end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
            return "\n".join(lines[start:end])
    return ""


def heading_words(path: str, labels: tuple[str, ...]) -> list[str]:
    return (["Top level"] if not path else [f"`{path}`"]) + [f"`{label}`" for label in labels]


ALL_SECTIONS = list(dict.fromkeys(sections(AgentConfig)))


@pytest.mark.parametrize(
    ("path", "labels", "model"),
    ALL_SECTIONS,
    ids=[" ".join([path or "top level", *labels]) for path, labels, _ in ALL_SECTIONS],
)
def test_every_key_is_in_its_section_of_the_reference(
    path: str, labels: tuple[str, ...], model: type[BaseModel]
) -> None:
    text = section_text(heading_words(path, labels))
    keys = [field.alias or name for name, field in model.model_fields.items()]
    assert [key for key in keys if f"| `{key}` |" not in text] == []


def test_the_walk_finds_every_driver_and_output_variant() -> None:
    found = {(path, labels) for path, labels, _ in ALL_SECTIONS}
    assert {
        ("sources[]", ("driver: modbus",)),
        ("sources[].points[]", ("driver: gpio", "kind: counter")),
        ("models[].outputs[]", ("alarm",)),
    } <= found
