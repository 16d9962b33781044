"""The OPC 30270 (I4AAS) information model: its nodeset, namespace, and the type NodeIds the agent uses.

``Opc.Ua.I4AAS.NodeSet2.xml`` is the OPC Foundation's nodeset of OPC 30270 1.00 (MIT licence, the notice
is in the file), as published in the npm package ``node-opcua-nodesets``; a test checks the copy here is
byte for byte that file. It is shipped inside the package so that a gateway needs no npm at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from asyncua import Server, ua

NODESET_FILE = Path(__file__).with_name("Opc.Ua.I4AAS.NodeSet2.xml")
NAMESPACE_URI = "http://opcfoundation.org/UA/I4AAS/"


class TypeId(IntEnum):
    """Numeric ids of the I4AAS types in the nodeset's namespace."""

    AAS = 1002  # AASAssetAdministrationShellType
    REFERENCE = 1004  # AASReferenceType
    ASSET = 1005  # AASAssetType
    SUBMODEL = 1006  # AASSubmodelType
    CONCEPT_DICTIONARY = 1007  # AASConceptDictionaryType
    SUBMODEL_ELEMENT_COLLECTION = 1010  # AASSubmodelElementCollectionType
    ORDERED_SUBMODEL_ELEMENT_COLLECTION = 1011  # AASOrderedSubmodelElementCollectionType
    MULTI_LANGUAGE_PROPERTY = 1012  # AASMultiLanguagePropertyType
    PROPERTY = 1013  # AASPropertyType
    RANGE = 1023  # AASRangeType
    IRDI_CONCEPT_DESCRIPTION = 1024  # AASIrdiConceptDescriptionType
    IRI_CONCEPT_DESCRIPTION = 1025  # AASIriConceptDescriptionType
    CUSTOM_CONCEPT_DESCRIPTION = 1026  # AASCustomConceptDescriptionType
    IDENTIFIER = 1029  # AASIdentifierType
    ADMINISTRATIVE_INFORMATION = 1030  # AASAdministrativeInformationType
    QUALIFIER = 1032  # AASQualifierType


class DataTypeId(IntEnum):
    """Numeric ids of the I4AAS data types the agent writes."""

    ASSET_KIND = 3003  # AASAssetKindDataType
    VALUE_TYPE = 3004  # AASValueTypeDataType
    IDENTIFIER_TYPE = 3010  # AASIdentifierTypeDataType
    KEY = 3011  # AASKeyDataType (a structure)
    MODELING_KIND = 3015  # AASModelingKindDataType


@dataclass(frozen=True, slots=True)
class I4aasNamespace:
    """The I4AAS namespace as loaded into one server: its index, and NodeIds and names in it."""

    index: int

    def type_id(self, type_id: TypeId) -> ua.NodeId:
        return ua.NodeId(int(type_id), self.index)

    def data_type(self, data_type: DataTypeId) -> ua.NodeId:
        return ua.NodeId(int(data_type), self.index)

    def name(self, browse_name: str) -> ua.QualifiedName:
        """A BrowseName the nodeset defines, like Identification, Id, ModelingKind or Value."""
        return ua.QualifiedName(browse_name, self.index)


async def load_i4aas(server: Server) -> I4aasNamespace:
    """Import the I4AAS nodeset into ``server`` (once) and return its namespace.

    Importing also defines the nodeset's structures and enumerations in ``asyncua.ua`` (AASKeyDataType …).
    """
    namespaces = await server.get_namespace_array()
    if NAMESPACE_URI not in namespaces:
        await server.import_xml(NODESET_FILE)
        namespaces = await server.get_namespace_array()
    return I4aasNamespace(namespaces.index(NAMESPACE_URI))
