"""The I4AAS mapping agrees with the OPC Foundation's nodeset it claims to follow."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from enum import IntEnum

import pytest
from aas_core3 import types as aas
from asyncua import ua

from edge_agent.opcua.i4aas.mapping import (
    AssetKind,
    IdentifierType,
    KeyElements,
    KeyType,
    ModelingKind,
    ValueType,
    identifier_type,
    key_elements,
    to_variant,
)
from edge_agent.opcua.i4aas.nodeset import NAMESPACE_URI, NODESET_FILE, DataTypeId, TypeId

_UA = "{http://opcfoundation.org/UA/2011/03/UANodeSet.xsd}"


def _nodeset() -> dict[str, ET.Element]:
    root = ET.parse(NODESET_FILE).getroot()
    return {node.get("NodeId", ""): node for node in root if node.get("NodeId")}


def _enumeration(browse_name: str) -> dict[str, int]:
    (node,) = [n for n in _nodeset().values() if n.get("BrowseName") == f"1:{browse_name}"]
    definition = node.find(f"{_UA}Definition")
    assert definition is not None
    return {field.get("Name", ""): int(field.get("Value", "-1")) for field in definition}


@pytest.mark.parametrize(
    ("enumeration", "browse_name"),
    [
        (ValueType, "AASValueTypeDataType"),
        (IdentifierType, "AASIdentifierTypeDataType"),
        (KeyType, "AASKeyTypeDataType"),
        (KeyElements, "AASKeyElementsDataType"),
        (AssetKind, "AASAssetKindDataType"),
        (ModelingKind, "AASModelingKindDataType"),
    ],
)
def test_enumerations_have_the_nodesets_names_and_values(
    enumeration: type[IntEnum], browse_name: str
) -> None:
    assert {member.name: member.value for member in enumeration} == _enumeration(browse_name)


def test_type_ids_name_the_nodesets_types() -> None:
    nodes = _nodeset()
    expected = {
        TypeId.AAS: "AASAssetAdministrationShellType",
        TypeId.SUBMODEL: "AASSubmodelType",
        TypeId.PROPERTY: "AASPropertyType",
        TypeId.SUBMODEL_ELEMENT_COLLECTION: "AASSubmodelElementCollectionType",
        TypeId.REFERENCE: "AASReferenceType",
        TypeId.IRDI_CONCEPT_DESCRIPTION: "AASIrdiConceptDescriptionType",
    }
    for type_id in TypeId:
        node = nodes[f"ns=1;i={int(type_id)}"]
        assert node.tag == f"{_UA}UAObjectType"
        if type_id in expected:
            assert node.get("BrowseName") == f"1:{expected[type_id]}"
    for data_type in DataTypeId:
        assert nodes[f"ns=1;i={int(data_type)}"].tag == f"{_UA}UADataType"


def test_the_nodeset_is_the_i4aas_one() -> None:
    root = ET.parse(NODESET_FILE).getroot()
    uris = [uri.text for uri in root.iter(f"{_UA}Uri")]
    assert uris == [NAMESPACE_URI]
    assert "OPC Foundation MIT License" in NODESET_FILE.read_text(encoding="utf-8")[:2000]


@pytest.mark.parametrize(
    ("identifier", "kind"),
    [
        ("0173-1#02-AAO677#004", IdentifierType.IRDI),
        ("0112/2///61987#ABA565#009", IdentifierType.IRDI),
        ("0173-1#02-ABK161#002/0173-1#01-AHX838#002", IdentifierType.IRDI),
        ("https://admin-shell.io/idta/nameplate/3/0/Nameplate", IdentifierType.IRI),
        ("urn:example:aas:pump-17", IdentifierType.IRI),
        ("pump 17", IdentifierType.Custom),
    ],
)
def test_identifiers_are_told_apart(identifier: str, kind: IdentifierType) -> None:
    assert identifier_type(identifier) is kind


def test_v3_only_key_types_map_to_their_nearest_v2_kind() -> None:
    assert key_elements(aas.KeyTypes.SUBMODEL) is KeyElements.Submodel
    assert key_elements(aas.KeyTypes.SUBMODEL_ELEMENT_LIST) is KeyElements.SubmodelElementCollection
    assert key_elements(aas.KeyTypes.BASIC_EVENT_ELEMENT) is KeyElements.Event
    for key_type in aas.KeyTypes:
        key_elements(key_type)  # every V3 key type has one


@pytest.mark.parametrize(
    ("lexical", "xsd", "expected"),
    [
        ("true", aas.DataTypeDefXSD.BOOLEAN, ua.Variant(True, ua.VariantType.Boolean)),
        ("2024", aas.DataTypeDefXSD.INT, ua.Variant(2024, ua.VariantType.Int32)),
        ("7.5", aas.DataTypeDefXSD.DOUBLE, ua.Variant(7.5, ua.VariantType.Double)),
        ("-INF", aas.DataTypeDefXSD.DOUBLE, ua.Variant(float("-inf"), ua.VariantType.Double)),
        ("PT0.25S", aas.DataTypeDefXSD.DURATION, ua.Variant("PT0.25S", ua.VariantType.String)),
        ("seven", aas.DataTypeDefXSD.INT, ua.Variant("seven", ua.VariantType.String)),
        (None, aas.DataTypeDefXSD.STRING, ua.Variant(None, ua.VariantType.Null)),
    ],
)
def test_values_become_variants_of_their_xsd_type(
    lexical: str | None, xsd: aas.DataTypeDefXSD, expected: ua.Variant
) -> None:
    assert to_variant(lexical, xsd) == expected
