"""How the API names things in URLs: identifiers as base64url, elements as idShort paths (a.b[2].c)."""

from __future__ import annotations

import base64
import binascii
import re

from aas_core3 import types as aas

from .results import bad_request, not_found

PathPart = str | int
"""One step of an idShort path: a child's idShort, or the index of an item of a SubmodelElementList."""

_STEP = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)?((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


def encode_id(identifier: str) -> str:
    """An identifier as a path segment: base64url of its UTF-8, without padding."""
    return base64.urlsafe_b64encode(identifier.encode()).decode().rstrip("=")


def decode_id(segment: str) -> str:
    """The identifier a base64url path segment names; padding is optional. 400 when it names none."""
    stripped = segment.rstrip("=")
    # More than two '=' (or padding that does not fit) is no base64url any client would write.
    if len(segment) - len(stripped) > 2 or len(stripped) % 4 == 1:
        raise bad_request(f"not a base64url-encoded identifier: {segment!r}")
    try:
        raw = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True)
        identifier = raw.decode()
    except (binascii.Error, ValueError):
        raise bad_request(f"not a base64url-encoded identifier: {segment!r}") from None
    if not identifier:
        raise bad_request("an identifier cannot be empty")
    return identifier


def parse_path(path: str) -> list[PathPart]:
    """``a.b[2].c`` as ``["a", "b", 2, "c"]``; 400 for anything else."""
    parts: list[PathPart] = []
    for step in path.split("."):
        match = _STEP.fullmatch(step)
        if match is None or match.group(1) is None:
            raise bad_request(f"not an idShort path: {path!r}")
        parts.append(match.group(1))
        parts.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return parts


def format_path(parts: list[PathPart]) -> str:
    """The inverse of ``parse_path``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def children(element: aas.Class) -> list[aas.SubmodelElement]:
    """The elements an idShort path can step into from ``element``: a submodel's elements, a collection's
    or list's items, an entity's statements, an annotated relationship's annotations."""
    if isinstance(element, aas.Submodel):
        return list(element.submodel_elements or ())
    if isinstance(element, aas.SubmodelElementCollection | aas.SubmodelElementList):
        return list(element.value or ())
    if isinstance(element, aas.Entity):
        return list(element.statements or ())
    if isinstance(element, aas.AnnotatedRelationshipElement):
        return list(element.annotations or ())
    return []


def resolve(submodel: aas.Submodel, path: str) -> list[tuple[PathPart, aas.SubmodelElement]]:
    """The elements from the submodel down to the one ``path`` names, each with the step that reached it;
    404 when there is none."""
    chain: list[tuple[PathPart, aas.SubmodelElement]] = []
    parent: aas.Class = submodel
    for part in parse_path(path):
        found = _child(parent, part)
        if found is None:
            raise not_found(f"no element {path!r} in submodel {submodel.id}")
        chain.append((part, found))
        parent = found
    return chain


def _child(parent: aas.Class, part: PathPart) -> aas.SubmodelElement | None:
    items = children(parent)
    if isinstance(parent, aas.SubmodelElementList):
        # A list's items have no idShort (AASd-120): they are reached by index only.
        return items[part] if isinstance(part, int) and part < len(items) else None
    if isinstance(part, int):
        return None
    return next((item for item in items if item.id_short == part), None)


def step_of(parent: aas.Class, index: int, element: aas.SubmodelElement) -> PathPart:
    """How a path names ``element``, the ``index``th child of ``parent``."""
    if isinstance(parent, aas.SubmodelElementList) or element.id_short is None:
        return index
    return element.id_short
