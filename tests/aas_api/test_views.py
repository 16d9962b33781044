"""The serialization forms of every element type, and the parts that parse what clients send."""

from __future__ import annotations

import math

import pytest
from aas_core3 import types as aas

from edge_agent.aas.elements import external_reference
from edge_agent.aas_api.ids import decode_id, encode_id, format_path, parse_path
from edge_agent.aas_api.paging import paged
from edge_agent.aas_api.results import ApiError
from edge_agent.aas_api.values import new_value
from edge_agent.aas_api.views import Extent, Level, Shape, element_value, metadata, value_only, whole

XSD = aas.DataTypeDefXSD
DEEP = Shape()
WITH_BLOB = Shape(extent=Extent.WITH_BLOB_VALUE)
REF = external_reference("urn:x")
REF_JSON = {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": "urn:x"}]}


def prop(id_short: str, value: str | None, value_type: aas.DataTypeDefXSD = XSD.INT) -> aas.Property:
    return aas.Property(value_type, id_short=id_short, value=value)


def test_ids_round_trip_with_and_without_padding() -> None:
    for identifier in ("urn:example:aas:pump-17", "https://ä.example/x?y=1", "a"):
        encoded = encode_id(identifier)
        assert "=" not in encoded
        assert decode_id(encoded) == identifier
        assert decode_id(encoded + "=" * (-len(encoded) % 4)) == identifier
    for bad in ("invalid-base64url=====", "a", "!!!!", ""):
        with pytest.raises(ApiError) as refused:
            decode_id(bad)
        assert refused.value.status == 400


def test_id_short_paths() -> None:
    assert parse_path("a.b[2][0].c") == ["a", "b", 2, 0, "c"]
    assert format_path(["a", "b", 2, 0, "c"]) == "a.b[2][0].c"
    for bad in ("", "a..b", "[0]", "a.[0]", "a b", "a[x]"):
        with pytest.raises(ApiError):
            parse_path(bad)


def test_paging_is_a_round_trip() -> None:
    first = paged(list(range(5)), {"limit": "2"}, 10)
    assert first["result"] == [0, 1]
    second = paged(list(range(5)), {"limit": "2", "cursor": first["paging_metadata"]["cursor"]}, 10)
    assert second["result"] == [2, 3]
    assert paged(list(range(5)), {}, 3)["result"] == [0, 1, 2]
    assert paged([], {}, 3) == {"paging_metadata": {}, "result": []}


def test_value_only_of_every_type() -> None:
    blob = aas.Blob("application/octet-stream", id_short="B", value=b"\x00\x01\x02")
    assert value_only(prop("P", "42"), DEEP, 0) == 42
    assert value_only(prop("P", "true", XSD.BOOLEAN), DEEP, 0) is True
    assert value_only(prop("P", "INF", XSD.DOUBLE), DEEP, 0) == "INF"
    assert value_only(prop("P", None), DEEP, 0) is None
    mlp = aas.MultiLanguageProperty(id_short="M", value=[aas.LangStringTextType("en", "hi")])
    assert value_only(mlp, DEEP, 0) == [{"en": "hi"}]
    assert value_only(aas.Range(XSD.DOUBLE, id_short="R", min="1.5"), DEEP, 0) == {"min": 1.5}
    assert value_only(blob, DEEP, 0) == {"contentType": "application/octet-stream"}
    assert value_only(blob, WITH_BLOB, 0) == {"contentType": "application/octet-stream", "value": "AAEC"}
    assert value_only(aas.File("text/plain", id_short="F", value="/a.txt"), DEEP, 0) == {
        "contentType": "text/plain",
        "value": "/a.txt",
    }
    assert value_only(aas.ReferenceElement(id_short="E", value=REF), DEEP, 0) == REF_JSON
    relation = aas.AnnotatedRelationshipElement(REF, REF, id_short="A", annotations=[prop("N", "1")])
    assert value_only(relation, DEEP, 0) == {"first": REF_JSON, "second": REF_JSON, "annotations": [{"N": 1}]}
    entity = aas.Entity(
        aas.EntityType.SELF_MANAGED_ENTITY, id_short="E", global_asset_id="urn:a", statements=[prop("S", "2")]
    )
    assert value_only(entity, DEEP, 0) == {
        "statements": {"S": 2},
        "entityType": "SelfManagedEntity",
        "globalAssetId": "urn:a",
    }
    event = aas.BasicEventElement(REF, aas.Direction.OUTPUT, aas.StateOfEvent.OFF, id_short="V")
    assert value_only(event, DEEP, 0) == {"observed": REF_JSON}
    listing = aas.SubmodelElementList(aas.AASSubmodelElements.PROPERTY, id_short="L", value=[prop(None, "7")])  # type: ignore[arg-type]
    collection = aas.SubmodelElementCollection(
        id_short="C", value=[listing, aas.Capability(id_short="Cap"), aas.Operation(id_short="Op")]
    )
    assert element_value(collection, DEEP) == {"C": {"L": [7]}}
    assert element_value(collection, Shape(level=Level.CORE)) == {"C": {"L": []}}
    for nothing in (aas.Capability(id_short="Cap"), aas.Operation(id_short="Op")):
        with pytest.raises(ApiError):
            element_value(nothing, DEEP)


def test_extent_and_metadata() -> None:
    blob = aas.Blob("application/octet-stream", id_short="B", value=b"\x00")
    assert "value" not in whole(blob, DEEP)
    assert whole(blob, WITH_BLOB)["value"] == "AA=="
    relation = aas.RelationshipElement(REF, REF, id_short="R")
    assert metadata(relation)["first"] == REF_JSON
    assert "min" not in metadata(aas.Range(XSD.INT, id_short="R", min="1"))


@pytest.mark.parametrize(
    ("value_type", "body", "expected"),
    [
        (XSD.BOOLEAN, True, True),
        (XSD.BOOLEAN, "false", False),
        (XSD.UNSIGNED_SHORT, 65535, 65535),
        (XSD.LONG, "-12", -12),
        (XSD.DOUBLE, 1, 1.0),
        (XSD.DOUBLE, "2.5", 2.5),
        (XSD.STRING, "on", "on"),
    ],
)
def test_new_values(value_type: aas.DataTypeDefXSD, body: object, expected: object) -> None:
    value = new_value({"P": body}, prop("P", None, value_type))
    assert value == expected and type(value) is type(expected)


def test_new_value_infinity() -> None:
    assert math.isinf(new_value("INF", prop("P", None, XSD.DOUBLE)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value_type", "body"),
    [
        (XSD.BOOLEAN, "yes"),
        (XSD.UNSIGNED_SHORT, 65536),
        (XSD.INT, True),
        (XSD.INT, 1.5),
        (XSD.DOUBLE, "inf"),
        (XSD.DOUBLE, "1e999"),
        (XSD.STRING, 3),
        (XSD.DATE_TIME, "2025-01-01T00:00:00Z"),
    ],
)
def test_refused_values(value_type: aas.DataTypeDefXSD, body: object) -> None:
    with pytest.raises(ApiError) as refused:
        new_value(body, prop("P", None, value_type))
    assert refused.value.status == 400
