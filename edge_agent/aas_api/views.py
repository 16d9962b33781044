"""The forms the API serves a submodel or an element in: whole (level, extent), $metadata, $value,
$reference and $path, as IDTA-01002-3-0 defines them. Everything but ValueOnly is aas-core3.0's JSON."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aas_core3 import jsonization
from aas_core3 import types as aas

from .ids import PathPart, children, format_path, step_of
from .results import bad_request

Json = Any
"""A JSON value as json.dumps takes it."""


class Level(StrEnum):
    CORE = "core"
    DEEP = "deep"


class Extent(StrEnum):
    WITH_BLOB_VALUE = "withBlobValue"
    WITHOUT_BLOB_VALUE = "withoutBlobValue"


@dataclass(frozen=True)
class Shape:
    """How deep and how complete an answer is: ``level`` core is the resource and its direct children,
    ``extent`` withoutBlobValue leaves out a Blob's bytes."""

    level: Level = Level.DEEP
    extent: Extent = Extent.WITHOUT_BLOB_VALUE


def shape_of(query: Mapping[str, str]) -> Shape:
    """The level and extent a query asks for; 400 for a value the spec does not name."""
    try:
        return Shape(
            Level(query.get("level", Level.DEEP)), Extent(query.get("extent", Extent.WITHOUT_BLOB_VALUE))
        )
    except ValueError:
        raise bad_request(
            f"level must be core or deep and extent withBlobValue or withoutBlobValue, not "
            f"{query.get('level')!r} and {query.get('extent')!r}"
        ) from None


_CHILD_KEYS = {
    "Submodel": "submodelElements",
    "SubmodelElementCollection": "value",
    "SubmodelElementList": "value",
    "Entity": "statements",
    "AnnotatedRelationshipElement": "annotations",
}
"""Where each kind of node keeps the children that level=core leaves out below the first generation."""


def whole(thing: aas.Submodel | aas.SubmodelElement, shape: Shape, *, depth: int = 0) -> Json:
    """``thing`` in the normal serialization; ``depth`` is its generation below the resource asked for
    (1 for each element of a submodel's element list)."""
    return _shaped(jsonization.to_jsonable(thing), shape, depth)


_ELEMENT_HOLDERS = frozenset(
    {*_CHILD_KEYS.values(), "inputVariables", "outputVariables", "inoutputVariables"}
)
"""The keys under which elements (and so Blobs) can be found, an operation variable's "value" among them;
every other key holds none."""


def _shaped(node: Json, shape: Shape, depth: int) -> Json:
    if isinstance(node, list):
        return [_shaped(item, shape, depth) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("modelType")
    if kind == "Blob" and shape.extent is Extent.WITHOUT_BLOB_VALUE:
        node.pop("value", None)
    child_key = _CHILD_KEYS.get(kind) if isinstance(kind, str) else None
    if child_key is not None and shape.level is Level.CORE and depth >= 1:
        node.pop(child_key, None)
    # Only where elements live: a submodel's references, qualifiers and data specifications hold none,
    # and walking them cost more than the rest of the answer.
    for key in _ELEMENT_HOLDERS.intersection(node):
        node[key] = _shaped(node[key], shape, depth + 1 if key == child_key else depth)
    return node


_VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "Submodel": ("submodelElements",),
    "SubmodelElementCollection": ("value",),
    "SubmodelElementList": ("value",),
    "Property": ("value", "valueId"),
    "MultiLanguageProperty": ("value", "valueId"),
    "Range": ("min", "max"),
    "Blob": ("value",),
    "File": ("value",),
    "ReferenceElement": ("value",),
    "Entity": ("statements",),
    "AnnotatedRelationshipElement": ("annotations",),
    "Operation": ("inputVariables", "outputVariables", "inoutputVariables"),
}
"""What $metadata leaves out of each kind. Attributes the metamodel requires (a relationship's first and
second, an event's observed) stay, so that the metadata is still a valid instance of its class."""

NO_VALUE = (aas.Capability, aas.Operation)
"""The elements that have no ValueOnly form nor a $metadata of their own (IDTA-01002-3-0, 11.4)."""


def metadata(thing: aas.Submodel | aas.SubmodelElement) -> Json:
    """``thing`` without its value attributes."""
    node = jsonization.to_jsonable(thing)
    if not isinstance(node, MutableMapping):
        raise TypeError(f"{type(thing).__name__} did not serialize as a JSON object")
    for key in _VALUE_KEYS.get(node["modelType"], ()):
        node.pop(key, None)
    return node


def element_metadata(element: aas.SubmodelElement) -> Json:
    """The $metadata of one element asked for by path: 400 for those the spec gives none."""
    if isinstance(element, NO_VALUE):
        raise bad_request(f"a {type(element).__name__} has no metadata serialization")
    return metadata(element)


def element_value(element: aas.SubmodelElement, shape: Shape) -> Json:
    """An element's ValueOnly form as $value answers it: ``{idShort: value}`` (a list's item, which has
    no idShort, as its bare value); 400 for a Capability or an Operation, which have none."""
    if isinstance(element, NO_VALUE):
        raise bad_request(f"a {type(element).__name__} has no value-only serialization")
    value = value_only(element, shape, 0)
    return value if element.id_short is None else {element.id_short: value}


def submodel_value(submodel: aas.Submodel, shape: Shape) -> Json:
    return _named_values(children(submodel), shape, 1)


def _named_values(elements: Sequence[aas.SubmodelElement], shape: Shape, depth: int) -> dict[str, Json]:
    return {
        element.id_short: value_only(element, shape, depth)
        for element in elements
        if element.id_short is not None and not isinstance(element, NO_VALUE)
    }


def value_only(element: aas.SubmodelElement, shape: Shape, depth: int) -> Json:
    """The ValueOnly serialization of one element (IDTA-01002-3-0, 11.4.3); ``depth`` as in ``whole``."""
    deeper = shape.level is Level.DEEP or depth < 1
    if isinstance(element, aas.Property):
        return typed(element.value, element.value_type)
    if isinstance(element, aas.MultiLanguageProperty):
        return [{text.language: text.text} for text in element.value or ()]
    if isinstance(element, aas.Range):
        bounds = {"min": element.min, "max": element.max}
        return {key: typed(bound, element.value_type) for key, bound in bounds.items() if bound is not None}
    if isinstance(element, aas.Blob):
        blob: dict[str, Json] = {"contentType": element.content_type}
        if element.value is not None and shape.extent is Extent.WITH_BLOB_VALUE:
            blob["value"] = base64.b64encode(element.value).decode()
        return blob
    if isinstance(element, aas.File):
        return _present({"contentType": element.content_type, "value": element.value})
    if isinstance(element, aas.ReferenceElement):
        return _reference(element.value)
    if isinstance(element, aas.AnnotatedRelationshipElement):
        annotations = [
            {item.id_short: value_only(item, shape, depth + 1)} for item in element.annotations or ()
        ]
        related = {"first": _reference(element.first), "second": _reference(element.second)}
        return related | ({"annotations": annotations} if annotations and deeper else {})
    if isinstance(element, aas.RelationshipElement):
        return {"first": _reference(element.first), "second": _reference(element.second)}
    if isinstance(element, aas.SubmodelElementCollection):
        return _named_values(element.value or (), shape, depth + 1) if deeper else {}
    if isinstance(element, aas.SubmodelElementList):
        items = [item for item in element.value or () if not isinstance(item, NO_VALUE)]
        return [value_only(item, shape, depth + 1) for item in items] if deeper else []
    if isinstance(element, aas.Entity):
        statements = _named_values(element.statements or (), shape, depth + 1) if deeper else {}
        assets = [jsonization.to_jsonable(asset) for asset in element.specific_asset_ids or ()]
        return _present(
            {
                "statements": statements or None,
                "entityType": element.entity_type.value,
                "globalAssetId": element.global_asset_id,
                "specificAssetIds": assets or None,
            }
        )
    if isinstance(element, aas.BasicEventElement):
        return {"observed": _reference(element.observed)}
    raise bad_request(f"a {type(element).__name__} has no value-only serialization")


def _present(fields: dict[str, Json]) -> dict[str, Json]:
    return {key: value for key, value in fields.items() if value is not None}


def _reference(reference: aas.Reference | None) -> Json:
    return None if reference is None else jsonization.to_jsonable(reference)


_BOOLEAN = {aas.DataTypeDefXSD.BOOLEAN}
_INTEGERS = {
    aas.DataTypeDefXSD.INTEGER,
    aas.DataTypeDefXSD.LONG,
    aas.DataTypeDefXSD.INT,
    aas.DataTypeDefXSD.SHORT,
    aas.DataTypeDefXSD.BYTE,
    aas.DataTypeDefXSD.NON_NEGATIVE_INTEGER,
    aas.DataTypeDefXSD.POSITIVE_INTEGER,
    aas.DataTypeDefXSD.NON_POSITIVE_INTEGER,
    aas.DataTypeDefXSD.NEGATIVE_INTEGER,
    aas.DataTypeDefXSD.UNSIGNED_LONG,
    aas.DataTypeDefXSD.UNSIGNED_INT,
    aas.DataTypeDefXSD.UNSIGNED_SHORT,
    aas.DataTypeDefXSD.UNSIGNED_BYTE,
}
_DECIMALS = {aas.DataTypeDefXSD.DOUBLE, aas.DataTypeDefXSD.FLOAT, aas.DataTypeDefXSD.DECIMAL}


def typed(text: str | None, value_type: aas.DataTypeDefXSD) -> Json:
    """A lexical XSD value as the JSON type ValueOnly gives it: booleans and numbers as such, the rest
    (and a number JSON cannot say, like INF) as its string."""
    if text is None:
        return None
    try:
        if value_type in _BOOLEAN:
            return text.strip() in ("true", "1")
        if value_type in _INTEGERS:
            return int(text)
        if value_type in _DECIMALS:
            number = float(text)
            return number if math.isfinite(number) else text
    except ValueError:
        return text
    return text


def reference(submodel: aas.Submodel, steps: Sequence[tuple[PathPart, aas.SubmodelElement]] = ()) -> Json:
    """The ModelReference to the submodel, or to the element ``steps`` lead to within it."""
    keys = [aas.Key(aas.KeyTypes.SUBMODEL, submodel.id)]
    for part, element in steps:
        # Each element class is named as its key type (Property, SubmodelElementList ...).
        keys.append(aas.Key(aas.KeyTypes(type(element).__name__), str(part)))
    return jsonization.to_jsonable(aas.Reference(aas.ReferenceTypes.MODEL_REFERENCE, keys))


def shell_reference(shell: aas.AssetAdministrationShell) -> Json:
    key = aas.Key(aas.KeyTypes.ASSET_ADMINISTRATION_SHELL, shell.id)
    return jsonization.to_jsonable(aas.Reference(aas.ReferenceTypes.MODEL_REFERENCE, [key]))


_CONTAINERS = (aas.SubmodelElementCollection, aas.SubmodelElementList, aas.Entity)


def paths(parent: aas.Class, prefix: Sequence[PathPart], shape: Shape) -> list[str]:
    """The idShort paths of ``parent``'s descendants (its children only, for level core)."""
    found: list[str] = []
    for index, child in enumerate(children(parent)):
        path = [*prefix, step_of(parent, index, child)]
        found.append(format_path(path))
        if shape.level is Level.DEEP:
            found.extend(paths(child, path, shape))
    return found


def element_paths(element: aas.SubmodelElement, path: Sequence[PathPart], shape: Shape) -> list[str]:
    """$path of one element: its own path and its descendants'; 400 for an element that holds none
    (the spec gives $path to collections, lists and entities only)."""
    if not isinstance(element, _CONTAINERS):
        raise bad_request(f"a {type(element).__name__} has no $path serialization")
    return [format_path(list(path)), *paths(element, path, shape)]
