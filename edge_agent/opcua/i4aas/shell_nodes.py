"""The shell as OPC 30270 (I4AAS) nodes, drawn from the in-memory AAS V3 environment.

Layout (BrowseNames of instances in ``urn:edge-agent:aas``, those the nodeset defines in its namespace)::

    Objects/<shell idShort>                AASAssetAdministrationShellType
      Identification, Administration, Category, Asset (AASAssetType), ConceptDictionary
      <submodel idShort>                   AASSubmodelType: Identification, Administration, ModelingKind, ...
        <element idShort>                  AASPropertyType, AASMultiLanguagePropertyType,
                                           AASSubmodelElementCollectionType, AASRangeType ...
          Category, ModelingKind, IdShort, ValueType, Value

A semantic ID becomes a HasDictionaryEntry reference to a concept description in the shell's
ConceptDictionary (supplemental semantic IDs too). A live property's Value is the tag's own value: the
same DataValue as the tag variable (see TagNodes.alias), so it carries the tag's status code and source
timestamp, takes writes if the tag is writable, and notifies subscribers. Node ids are readable paths:
``ns=<urn:edge-agent:aas>;s=<shell>.<submodel>.<element>`` for referables, ``...#<child>`` for the
children the nodeset defines (so an idShort can never clash with them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from aas_core3 import types as aas
from asyncua import Server, ua

from ...aas.live import live_tag_name
from ...tags import TagInfo
from ..asyncua_seam import AttributeSharer, NodeShape, direct_nodes
from ..node_items import NodeShapes
from ..tag_values import data_type_id, variant_type
from .mapping import (
    AssetKind,
    ModelingKind,
    ValueType,
    identifier_type,
    keys,
    to_variant,
    value_type,
)
from .nodeset import DataTypeId, I4aasNamespace, TypeId, load_i4aas

log = logging.getLogger(__name__)

SHELL_NAMESPACE_URI = "urn:edge-agent:aas"
CONCEPT_DICTIONARY = "ConceptDictionary"
_HAS_DICTIONARY_ENTRY = ua.NodeId(ua.ObjectIds.HasDictionaryEntry)

TagLookup = Callable[[str], TagInfo | None]


class ShellNodes:
    """Builds the shell's nodes; ``live`` maps the value node of each live property to its tag."""

    def __init__(self, server: Server, tags: TagLookup) -> None:
        self._server = server
        self._tags = tags
        self.live: dict[ua.NodeId, TagInfo] = {}
        self.shells: list[ua.NodeId] = []
        self.namespace_index: int | None = None
        self._constants: set[ua.NodeId] = set()

    async def build(self, environment: aas.Environment, sharer: AttributeSharer | None = None) -> None:
        """Add the nodes of ``environment``; it is not kept (a refresh is handed the environment of then)."""
        types = await load_i4aas(self._server)
        index = await self._server.register_namespace(SHELL_NAMESPACE_URI)
        self.namespace_index = index
        submodels = {submodel.id: submodel for submodel in environment.submodels or ()}
        items = _ShellItems(NodeShapes(direct_nodes(self._server, sharer)), types, index, self._tags)
        for shell in environment.asset_administration_shells or ():
            self.shells.append(items.shell(shell, submodels))
        self.live = items.live
        self._constants = items.constants

    async def refresh(self, environment: aas.Environment) -> int:
        """Bring the values of the properties that are not live up to ``environment``; how many changed.

        What the shell says of itself changes slowly (a model's inference count, days to a certificate's
        expiry); its structure is the config's and stays. Subscribers to such a value are notified.
        """
        assert self.namespace_index is not None
        changed = 0
        for nodeid, variant in _constant_values(environment, self.namespace_index):
            if nodeid not in self._constants:
                continue
            current = self._server.read_attribute_value(nodeid)
            if current is not None and current.Value == variant:
                continue
            await self._server.write_attribute_value(nodeid, ua.DataValue(variant))
            changed += 1
        return changed


class _ShellItems:
    """The nodes and references of one environment, added in one walk (each parent before its children).

    Nodes alike (every element's Category, every ModelingKind ...) are made from one NodeShape each: the
    AddNodes item of a shape is made once, not once per node.
    """

    def __init__(self, shapes: NodeShapes, types: I4aasNamespace, index: int, tags: TagLookup) -> None:
        self.shapes = shapes
        self.nodes = shapes.nodes
        self.types = types
        self.index = index
        self.tags = tags
        self._object_shapes: dict[tuple[TypeId | int, int], NodeShape] = {}
        self.live: dict[ua.NodeId, TagInfo] = {}
        self._concepts: dict[str, ua.NodeId] = {}
        self.constants: set[ua.NodeId] = set()
        """The Values of the properties that are not live: a refresh may update them."""
        self._dictionary: ua.NodeId | None = None
        self._dictionary_path = ""

    # Node makers

    def _id(self, path: str) -> ua.NodeId:
        return ua.NodeId(path, self.index)

    def _object(
        self,
        path: str,
        name: ua.QualifiedName,
        parent: ua.NodeId,
        type_id: TypeId | int,
        *,
        description: str | None = None,
        reference_type: int = ua.ObjectIds.HasComponent,
    ) -> ua.NodeId:
        key = (type_id, reference_type)
        shape = self._object_shapes.get(key)
        if shape is None:
            type_node = self.types.type_id(type_id) if isinstance(type_id, TypeId) else ua.NodeId(type_id)
            shape = self._object_shapes[key] = self.shapes.object(type_node, reference_type=reference_type)
        nodeid = self._id(path)
        self.nodes.add_shaped(nodeid, shape, parent, name, description=description)
        return nodeid

    def _property(
        self,
        path: str,
        name: str,
        parent: ua.NodeId,
        value: ua.Variant,
        data_type: int | ua.NodeId,
        *,
        array: bool = False,
        changing: bool = False,
    ) -> ua.NodeId:
        """A property; a ``changing`` one keeps a Value object of its own (a refresh writes it)."""
        nodeid = self._id(path)
        rank = ua.ValueRank.OneDimension if array else ua.ValueRank.Scalar
        self.nodes.add_shaped(
            nodeid,
            self.shapes.variable(data_type, value_rank=rank),
            parent,
            self.types.name(name),
            value=value,
            own_value=changing,
        )
        return nodeid

    def _enum(self, path: str, name: str, parent: ua.NodeId, value: int, data_type: DataTypeId) -> None:
        variant = ua.Variant(int(value), ua.VariantType.Int32)
        self._property(path, name, parent, variant, self.types.data_type(data_type))

    def _string(self, path: str, name: str, parent: ua.NodeId, value: str) -> None:
        self._property(path, name, parent, ua.Variant(value, ua.VariantType.String), ua.ObjectIds.String)

    # The metamodel's common parts

    def _referable(self, path: str, node: ua.NodeId, referable: aas.Referable) -> None:
        self._string(f"{path}#Category", "Category", node, referable.category or "")

    def _identifiable(self, path: str, node: ua.NodeId, identifier: str, admin: object | None) -> None:
        identification = self._object(
            f"{path}#Identification", self.types.name("Identification"), node, TypeId.IDENTIFIER
        )
        self._string(f"{path}#Identification#Id", "Id", identification, identifier)
        self._enum(
            f"{path}#Identification#IdType",
            "IdType",
            identification,
            identifier_type(identifier),
            DataTypeId.IDENTIFIER_TYPE,
        )
        administration = self._object(
            f"{path}#Administration",
            self.types.name("Administration"),
            node,
            TypeId.ADMINISTRATIVE_INFORMATION,
        )
        if isinstance(admin, aas.AdministrativeInformation):
            for name, value in (("Version", admin.version), ("Revision", admin.revision)):
                if value is not None:
                    self._string(f"{path}#Administration#{name}", name, administration, value)

    def _semantics(self, node: ua.NodeId, has_semantics: aas.HasSemantics) -> None:
        references = [has_semantics.semantic_id, *(has_semantics.supplemental_semantic_ids or ())]
        for reference in references:
            if reference is None or not reference.keys:
                continue
            concept = self._concept(reference.keys[-1].value)
            self.nodes.reference(node, _HAS_DICTIONARY_ENTRY, concept)

    def _concept(self, identifier: str) -> ua.NodeId:
        found = self._concepts.get(identifier)
        if found is not None:
            return found
        assert self._dictionary is not None
        concept_type = {
            "IRDI": TypeId.IRDI_CONCEPT_DESCRIPTION,
            "IRI": TypeId.IRI_CONCEPT_DESCRIPTION,
        }.get(identifier_type(identifier).name, TypeId.CUSTOM_CONCEPT_DESCRIPTION)
        path = f"{self._dictionary_path}#{identifier}"
        node = self._object(
            path,
            ua.QualifiedName(identifier, self.index),
            self._dictionary,
            concept_type,
            reference_type=ua.ObjectIds.HasComponent,
        )
        self._identifiable(path, node, identifier, None)
        self._concepts[identifier] = node
        return node

    # The shell and its parts

    def shell(self, shell: aas.AssetAdministrationShell, submodels: dict[str, aas.Submodel]) -> ua.NodeId:
        path = shell.id_short or "AssetAdministrationShell"
        node = self._object(
            path,
            ua.QualifiedName(path, self.index),
            ua.NodeId(ua.ObjectIds.ObjectsFolder),
            TypeId.AAS,
            description=_text(shell.description),
            reference_type=ua.ObjectIds.Organizes,
        )
        self._identifiable(path, node, shell.id, shell.administration)
        self._referable(path, node, shell)
        self._dictionary_path = f"{path}#{CONCEPT_DICTIONARY}"
        self._dictionary = self._object(
            self._dictionary_path,
            ua.QualifiedName(CONCEPT_DICTIONARY, self.index),
            node,
            TypeId.CONCEPT_DICTIONARY,
            description="The concepts the shell's semantic IDs name",
        )
        self._asset(path, node, shell.asset_information)
        for reference in shell.submodels or ():
            submodel = submodels.get(reference.keys[-1].value)
            if submodel is not None:
                self._submodel(f"{path}.{submodel.id_short}", node, submodel)
        return node

    def _asset(self, shell_path: str, shell_node: ua.NodeId, info: aas.AssetInformation) -> None:
        path = f"{shell_path}#Asset"
        node = self._object(path, self.types.name("Asset"), shell_node, TypeId.ASSET)
        kind = AssetKind.Type if info.asset_kind is aas.AssetKind.TYPE else AssetKind.Instance
        self._enum(f"{path}#AssetKind", "AssetKind", node, kind, DataTypeId.ASSET_KIND)
        self._identifiable(path, node, info.global_asset_id or "", None)
        self._string(f"{path}#Category", "Category", node, "")

    def _submodel(self, path: str, parent: ua.NodeId, submodel: aas.Submodel) -> None:
        node = self._object(
            path,
            ua.QualifiedName(submodel.id_short or "Submodel", self.index),
            parent,
            TypeId.SUBMODEL,
            description=_text(submodel.description),
        )
        self._identifiable(path, node, submodel.id, submodel.administration)
        self._referable(path, node, submodel)
        self._enum(
            f"{path}#ModelingKind",
            "ModelingKind",
            node,
            _modeling_kind(submodel.kind),
            DataTypeId.MODELING_KIND,
        )
        self._semantics(node, submodel)
        self._qualifiers(path, node, submodel.qualifiers)
        self._elements(path, node, submodel.submodel_elements or ())

    def _elements(self, path: str, parent: ua.NodeId, elements: Iterable[aas.SubmodelElement]) -> None:
        for element in elements:
            self._element(f"{path}.{element.id_short}", element.id_short or "", parent, element)

    def _element(self, path: str, name: str, parent: ua.NodeId, element: aas.SubmodelElement) -> None:
        type_id = _ELEMENT_TYPES.get(type(element))
        if type_id is None:
            log.debug("%s: a %s has no I4AAS counterpart here; not projected", path, type(element).__name__)
            return
        node = self._object(
            path, ua.QualifiedName(name, self.index), parent, type_id, description=_text(element.description)
        )
        self._referable(path, node, element)
        self._enum(
            f"{path}#ModelingKind", "ModelingKind", node, ModelingKind.Instance, DataTypeId.MODELING_KIND
        )
        self._string(f"{path}#IdShort", "IdShort", node, element.id_short or name)
        self._semantics(node, element)
        tag = self.tags(name) if live_tag_name(element) else None
        if tag is None:
            self._qualifiers(path, node, element.qualifiers)
        match element:
            case aas.Property() if tag is not None:
                self._live_value(path, node, tag)
            case aas.Property():
                _, aas_type = value_type(element.value_type)
                self._enum(f"{path}#ValueType", "ValueType", node, aas_type, DataTypeId.VALUE_TYPE)
                variant = to_variant(element.value, element.value_type)
                self.constants.add(
                    self._property(
                        f"{path}#Value", "Value", node, variant, _data_type(variant), changing=True
                    )
                )
            case aas.MultiLanguageProperty():
                texts = [ua.LocalizedText(text.text, text.language) for text in element.value or ()]
                self._property(
                    f"{path}#Value",
                    "Value",
                    node,
                    ua.Variant(texts, ua.VariantType.LocalizedText),
                    ua.ObjectIds.LocalizedText,
                    array=True,
                )
            case aas.Range():
                _, aas_type = value_type(element.value_type)
                self._enum(f"{path}#ValueType", "ValueType", node, aas_type, DataTypeId.VALUE_TYPE)
                for bound, lexical in (("Min", element.min), ("Max", element.max)):
                    if lexical is not None:
                        variant = to_variant(lexical, element.value_type)
                        self._property(f"{path}#{bound}", bound, node, variant, _data_type(variant))
            case aas.SubmodelElementCollection():
                self._elements(path, node, element.value or ())
            case aas.SubmodelElementList():
                for position, item in enumerate(element.value or ()):
                    self._element(f"{path}[{position}]", f"[{position}]", node, item)

    def _live_value(self, path: str, node: ua.NodeId, tag: TagInfo) -> None:
        """The Value of a live property: the tag's value, with EngineeringUnits and EURange if it has them.

        The nodeset declares Value a Property; Properties cannot have Properties, so a Value with a unit or
        range is a DataVariable (AnalogItemType with a range, BaseAnalogType without) as OPC UA Part 8
        gives analog values. Its BrowseName stays Value, so a browse path to it is the same.
        """
        # AASValueTypeDataType names the built-in types as OPC UA does: the Value's own type, by name.
        aas_type = ValueType[variant_type(tag).name]
        self._enum(f"{path}#ValueType", "ValueType", node, aas_type, DataTypeId.VALUE_TYPE)
        analog = tag.data_type in ("float", "int") and (tag.unit or tag.range is not None)
        if analog:
            reference, type_definition = (
                ua.ObjectIds.HasComponent,
                ua.ObjectIds.AnalogItemType if tag.range is not None else ua.ObjectIds.BaseAnalogType,
            )
        else:
            reference, type_definition = ua.ObjectIds.HasProperty, ua.ObjectIds.PropertyType
        value_path = f"{path}#Value"
        value_node = self._id(value_path)
        shape = self.shapes.variable(
            data_type_id(tag),
            reference_type=reference,
            type_definition=type_definition,
            writable=tag.writable,
        )
        self.nodes.add_shaped(
            value_node,
            shape,
            node,
            self.types.name("Value"),
            description=tag.description or None,
            value=ua.Variant(None, ua.VariantType.Null),
            own_value=True,
        )
        self.live[value_node] = tag
        if analog:
            self.shapes.add_analog_properties(
                lambda name: self._id(f"{value_path}#{name}"), value_node, tag.unit, tag.range
            )

    def _qualifiers(self, path: str, node: ua.NodeId, qualifiers: Iterable[aas.Qualifier] | None) -> None:
        for position, qualifier in enumerate(qualifiers or ()):
            qualifier_path = f"{path}#Qualifier{position}"
            qualifier_node = self._object(
                qualifier_path, ua.QualifiedName(qualifier.type, self.index), node, TypeId.QUALIFIER
            )
            self._string(f"{qualifier_path}#Type", "Type", qualifier_node, qualifier.type)
            _, aas_type = value_type(qualifier.value_type)
            self._enum(
                f"{qualifier_path}#ValueType", "ValueType", qualifier_node, aas_type, DataTypeId.VALUE_TYPE
            )
            variant = to_variant(qualifier.value, qualifier.value_type)
            self._property(f"{qualifier_path}#Value", "Value", qualifier_node, variant, _data_type(variant))
            if qualifier.value_id is not None:
                reference = self._object(
                    f"{qualifier_path}#ValueId", self.types.name("ValueId"), qualifier_node, TypeId.REFERENCE
                )
                self._property(
                    f"{qualifier_path}#ValueId#Keys",
                    "Keys",
                    reference,
                    ua.Variant(keys(qualifier.value_id), ua.VariantType.ExtensionObject),
                    self.types.data_type(DataTypeId.KEY),
                    array=True,
                )


def _constant_values(environment: aas.Environment, index: int) -> Iterator[tuple[ua.NodeId, ua.Variant]]:
    """The Value node id and value of every Property of ``environment``, by the node id scheme above."""
    submodels = {submodel.id: submodel for submodel in environment.submodels or ()}

    def walk(
        path: str, elements: Iterable[aas.SubmodelElement], in_list: bool
    ) -> Iterator[tuple[str, aas.SubmodelElement]]:
        for position, element in enumerate(elements):
            element_path = f"{path}[{position}]" if in_list else f"{path}.{element.id_short}"
            yield element_path, element
            if isinstance(element, aas.SubmodelElementCollection):
                yield from walk(element_path, element.value or (), False)
            elif isinstance(element, aas.SubmodelElementList):
                yield from walk(element_path, element.value or (), True)

    for shell in environment.asset_administration_shells or ():
        shell_path = shell.id_short or "AssetAdministrationShell"
        for reference in shell.submodels or ():
            submodel = submodels.get(reference.keys[-1].value)
            if submodel is None:
                continue
            for path, element in walk(
                f"{shell_path}.{submodel.id_short}", submodel.submodel_elements or (), False
            ):
                if isinstance(element, aas.Property) and not live_tag_name(element):
                    yield ua.NodeId(f"{path}#Value", index), to_variant(element.value, element.value_type)


_ELEMENT_TYPES: dict[type, TypeId] = {
    aas.Property: TypeId.PROPERTY,
    aas.MultiLanguageProperty: TypeId.MULTI_LANGUAGE_PROPERTY,
    aas.Range: TypeId.RANGE,
    aas.SubmodelElementCollection: TypeId.SUBMODEL_ELEMENT_COLLECTION,
    aas.SubmodelElementList: TypeId.ORDERED_SUBMODEL_ELEMENT_COLLECTION,
}

_BUILTIN_DATA_TYPES = {
    ua.VariantType.Null: ua.ObjectIds.BaseDataType,
    ua.VariantType.DateTime: ua.ObjectIds.UtcTime,
}


def _data_type(variant: ua.Variant) -> int:
    found: int | None = _BUILTIN_DATA_TYPES.get(variant.VariantType)
    if found is not None:
        return found
    builtin: int = variant.VariantType.value  # a built-in type's variant type is its DataType's id
    return builtin


def _modeling_kind(kind: aas.ModellingKind | None) -> ModelingKind:
    return ModelingKind.Template if kind is aas.ModellingKind.TEMPLATE else ModelingKind.Instance


def _text(texts: Iterable[aas.LangStringTextType] | None) -> str | None:
    for text in texts or ():
        return text.text
    return None
