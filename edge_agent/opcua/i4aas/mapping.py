"""How AAS V3 content is said in OPC 30270's terms, which follow the V2 metamodel.

Enumeration values are those of the nodeset's data types (a test compares them with the nodeset itself).
Where V3 has something V2 lacks, the nearest V2 term is used; the README's mapping table lists each case.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import IntEnum

from aas_core3 import types as aas
from asyncua import ua


class ValueType(IntEnum):
    """AASValueTypeDataType."""

    Boolean = 0
    SByte = 1
    Byte = 2
    Int16 = 3
    UInt16 = 4
    Int32 = 5
    UInt32 = 6
    Int64 = 7
    UInt64 = 8
    Float = 9
    Double = 10
    String = 11
    DateTime = 12
    ByteString = 13
    LocalizedText = 14
    UtcTime = 15


class IdentifierType(IntEnum):
    """AASIdentifierTypeDataType, also the IRDI/IRI/Custom part of AASKeyTypeDataType."""

    IRDI = 0
    IRI = 1
    Custom = 2


class KeyType(IntEnum):
    """AASKeyTypeDataType."""

    IdShort = 0
    FragmentId = 1
    Custom = 2
    IRDI = 3
    IRI = 4


class KeyElements(IntEnum):
    """AASKeyElementsDataType."""

    AccessPermissionRule = 0
    AnnotatedRelationshipElement = 1
    Asset = 2
    AssetAdministrationShell = 3
    Blob = 4
    Capability = 5
    ConceptDescription = 6
    ConceptDictionary = 7
    DataElement = 8
    Entity = 9
    Event = 10
    File = 11
    FragmentReference = 12
    GlobalReference = 13
    MultiLanguageProperty = 14
    Operation = 15
    Property = 16
    Range = 17
    ReferenceElement = 18
    RelationshipElement = 19
    Submodel = 20
    SubmodelElement = 21
    SubmodelElementCollection = 22
    View = 23


class AssetKind(IntEnum):
    """AASAssetKindDataType."""

    Type = 0
    Instance = 1


class ModelingKind(IntEnum):
    """AASModelingKindDataType."""

    Template = 0
    Instance = 1


# (OPC UA built-in type, AAS value type) of each XSD type with an exact OPC UA counterpart; the rest
# (dates, durations, URIs, decimals, xs:integer beyond Int64 ...) travel as their lexical String.
_XSD: dict[aas.DataTypeDefXSD, tuple[ua.VariantType, ValueType]] = {
    aas.DataTypeDefXSD.BOOLEAN: (ua.VariantType.Boolean, ValueType.Boolean),
    aas.DataTypeDefXSD.BYTE: (ua.VariantType.SByte, ValueType.SByte),
    aas.DataTypeDefXSD.UNSIGNED_BYTE: (ua.VariantType.Byte, ValueType.Byte),
    aas.DataTypeDefXSD.SHORT: (ua.VariantType.Int16, ValueType.Int16),
    aas.DataTypeDefXSD.UNSIGNED_SHORT: (ua.VariantType.UInt16, ValueType.UInt16),
    aas.DataTypeDefXSD.INT: (ua.VariantType.Int32, ValueType.Int32),
    aas.DataTypeDefXSD.UNSIGNED_INT: (ua.VariantType.UInt32, ValueType.UInt32),
    aas.DataTypeDefXSD.LONG: (ua.VariantType.Int64, ValueType.Int64),
    aas.DataTypeDefXSD.UNSIGNED_LONG: (ua.VariantType.UInt64, ValueType.UInt64),
    aas.DataTypeDefXSD.FLOAT: (ua.VariantType.Float, ValueType.Float),
    aas.DataTypeDefXSD.DOUBLE: (ua.VariantType.Double, ValueType.Double),
    aas.DataTypeDefXSD.DATE_TIME: (ua.VariantType.DateTime, ValueType.DateTime),
}
_INTEGERS = {
    ua.VariantType.SByte,
    ua.VariantType.Byte,
    ua.VariantType.Int16,
    ua.VariantType.UInt16,
    ua.VariantType.Int32,
    ua.VariantType.UInt32,
    ua.VariantType.Int64,
    ua.VariantType.UInt64,
}


def value_type(xsd: aas.DataTypeDefXSD) -> tuple[ua.VariantType, ValueType]:
    """The OPC UA type a value of this XSD type is served as, and the AASValueTypeDataType saying so."""
    return _XSD.get(xsd, (ua.VariantType.String, ValueType.String))


def to_variant(lexical: str | None, xsd: aas.DataTypeDefXSD) -> ua.Variant:
    """An AAS value (its XSD lexical form) as an OPC UA Variant; one that does not parse stays a String."""
    variant_type, _ = value_type(xsd)
    if lexical is None:
        return ua.Variant(None, ua.VariantType.Null)
    try:
        if variant_type is ua.VariantType.Boolean:
            return ua.Variant(lexical.strip() in ("true", "1"), variant_type)
        if variant_type in _INTEGERS:
            return ua.Variant(int(lexical), variant_type)
        if variant_type in (ua.VariantType.Float, ua.VariantType.Double):
            return ua.Variant(float(lexical), variant_type)  # float() reads INF, -INF and NaN too
        if variant_type is ua.VariantType.DateTime:
            return ua.Variant(datetime.fromisoformat(lexical.replace("Z", "+00:00")), variant_type)
    except ValueError:
        return ua.Variant(lexical, ua.VariantType.String)
    return ua.Variant(lexical, ua.VariantType.String)


# IRDIs as ISO 29002-5 writes them: ECLASS 0173-1#02-AAO677#004, IEC CDD 0112/2///61987#ABA565#009.
_IRDI = re.compile(r"^\d{4}[-/][^#\s]*#[^#\s]+#\d+")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def identifier_type(identifier: str) -> IdentifierType:
    """Whether an identifier is an IRDI, an IRI (a URL or URN) or something else."""
    if _IRDI.match(identifier):
        return IdentifierType.IRDI
    if _IRI.match(identifier):
        return IdentifierType.IRI
    return IdentifierType.Custom


_KEY_ELEMENTS_V3_ONLY = {
    aas.KeyTypes.BASIC_EVENT_ELEMENT: KeyElements.Event,
    aas.KeyTypes.EVENT_ELEMENT: KeyElements.Event,
    aas.KeyTypes.SUBMODEL_ELEMENT_LIST: KeyElements.SubmodelElementCollection,
    aas.KeyTypes.IDENTIFIABLE: KeyElements.GlobalReference,
    aas.KeyTypes.REFERABLE: KeyElements.SubmodelElement,
}
_IDENTIFIABLES = {
    aas.KeyTypes.ASSET_ADMINISTRATION_SHELL,
    aas.KeyTypes.SUBMODEL,
    aas.KeyTypes.CONCEPT_DESCRIPTION,
    aas.KeyTypes.GLOBAL_REFERENCE,
    aas.KeyTypes.IDENTIFIABLE,
}


def key_elements(key_type: aas.KeyTypes) -> KeyElements:
    return _KEY_ELEMENTS_V3_ONLY.get(key_type) or KeyElements[key_type.value]


def key_type(key: aas.Key) -> KeyType:
    """IdShort for keys into a submodel, IRDI/IRI/Custom for identifiables and global references."""
    if key.type not in _IDENTIFIABLES:
        return KeyType.IdShort
    return KeyType[identifier_type(key.value).name]


def keys(reference: aas.Reference) -> list[object]:
    """A reference's keys as AASKeyDataType values (the structure the nodeset import defines in ``ua``)."""
    key_class = ua.AASKeyDataType
    local = reference.type is aas.ReferenceTypes.MODEL_REFERENCE
    return [
        key_class(
            Type=ua.AASKeyElementsDataType(key_elements(key.type)),
            Local=local,
            Value=key.value,
            IdType=ua.AASKeyTypeDataType(key_type(key)),
        )
        for key in reference.keys
    ]
