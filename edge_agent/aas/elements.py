"""Small constructors for AAS V3 elements, so the submodel builders read like the templates they follow."""

from __future__ import annotations

import math
from collections.abc import Sequence

from aas_core3 import types as aas

from .ids import IEC61360_DATA_SPECIFICATION, Concept

LANGUAGE = "en"
"""The language of every text the shell carries: the config's texts have none, and English is the
language the IEC 61360 data specification asks a preferred name to have at least."""

_XS_LONG = (-(2**63), 2**63 - 1)

Scalar = bool | int | float | str


def external_reference(value: str) -> aas.Reference:
    """A reference to something outside the environment, like an IEC CDD or ECLASS concept."""
    return aas.Reference(
        aas.ReferenceTypes.EXTERNAL_REFERENCE, [aas.Key(aas.KeyTypes.GLOBAL_REFERENCE, value)]
    )


def submodel_reference(submodel_id: str) -> aas.Reference:
    """The reference a shell holds to one of its submodels."""
    return aas.Reference(aas.ReferenceTypes.MODEL_REFERENCE, [aas.Key(aas.KeyTypes.SUBMODEL, submodel_id)])


def texts(text: str) -> list[aas.LangStringTextType]:
    return [aas.LangStringTextType(LANGUAGE, text)]


def _semantics(concept: Concept | None) -> tuple[aas.Reference | None, list[aas.Reference] | None]:
    if concept is None:
        return None, None
    supplemental = [external_reference(value) for value in concept.supplemental] or None
    return external_reference(concept.semantic_id), supplemental


def value_type_of(value: Scalar) -> aas.DataTypeDefXSD:
    """The XSD type of a config value: bool before int, as a bool is an int in Python."""
    if isinstance(value, bool):
        return aas.DataTypeDefXSD.BOOLEAN
    if isinstance(value, int):
        low, high = _XS_LONG
        return aas.DataTypeDefXSD.LONG if low <= value <= high else aas.DataTypeDefXSD.INTEGER
    if isinstance(value, float):
        return aas.DataTypeDefXSD.DOUBLE
    return aas.DataTypeDefXSD.STRING


def lexical(value: Scalar) -> str:
    """A value written as its XSD type spells it (true, 7.5, INF), not as Python would (True, inf)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
    return str(value)


def iec61360(
    name: str,
    *,
    unit: str | None = None,
    data_type: aas.DataTypeIEC61360 | None = None,
    definition: str | None = None,
) -> aas.EmbeddedDataSpecification:
    """An IEC 61360 data specification embedded in an element: its name, unit and definition."""
    content = aas.DataSpecificationIEC61360(
        preferred_name=[aas.LangStringPreferredNameTypeIEC61360(LANGUAGE, name)],
        unit=unit or None,
        data_type=data_type,
        definition=[aas.LangStringDefinitionTypeIEC61360(LANGUAGE, definition)] if definition else None,
    )
    return aas.EmbeddedDataSpecification(external_reference(IEC61360_DATA_SPECIFICATION), content)


def qualifier(
    kind: aas.QualifierKind, type_: str, value: Scalar, value_type: aas.DataTypeDefXSD | None = None
) -> aas.Qualifier:
    return aas.Qualifier(type_, value_type or value_type_of(value), kind=kind, value=lexical(value))


def prop(
    id_short: str,
    value: Scalar | None,
    *,
    value_type: aas.DataTypeDefXSD | None = None,
    concept: Concept | None = None,
    description: str | None = None,
    qualifiers: Sequence[aas.Qualifier] = (),
    data_specification: aas.EmbeddedDataSpecification | None = None,
    category: str | None = None,
) -> aas.Property:
    """A Property; its XSD type follows the value unless given (it must be, when the value is None)."""
    if value_type is None:
        if value is None:
            raise ValueError(f"property {id_short} has no value, so its value type must be given")
        value_type = value_type_of(value)
    semantic_id, supplemental = _semantics(concept)
    return aas.Property(
        value_type,
        id_short=id_short,
        category=category,
        description=texts(description) if description else None,
        semantic_id=semantic_id,
        supplemental_semantic_ids=supplemental,
        qualifiers=list(qualifiers) or None,
        embedded_data_specifications=[data_specification] if data_specification else None,
        value=None if value is None else lexical(value),
    )


def text_property(id_short: str, text: str, concept: Concept) -> aas.MultiLanguageProperty:
    """A MultiLanguageProperty with one text, as the nameplate template asks of names and addresses."""
    semantic_id, supplemental = _semantics(concept)
    return aas.MultiLanguageProperty(
        id_short=id_short,
        semantic_id=semantic_id,
        supplemental_semantic_ids=supplemental,
        value=texts(text),
    )


def collection(
    id_short: str | None,
    elements: Sequence[aas.SubmodelElement],
    *,
    concept: Concept | None = None,
    description: str | None = None,
) -> aas.SubmodelElementCollection:
    """A SubmodelElementCollection; ``id_short`` is None only for an item of a SubmodelElementList."""
    semantic_id, supplemental = _semantics(concept)
    return aas.SubmodelElementCollection(
        id_short=id_short,
        description=texts(description) if description else None,
        semantic_id=semantic_id,
        supplemental_semantic_ids=supplemental,
        value=list(elements) or None,
    )


def submodel(
    submodel_id: str,
    id_short: str,
    semantic_id: str,
    elements: Sequence[aas.SubmodelElement],
    *,
    template_id: str | None = None,
    description: str | None = None,
) -> aas.Submodel:
    """An instance submodel; ``template_id`` names the IDTA template it follows, if any."""
    return aas.Submodel(
        submodel_id,
        id_short=id_short,
        description=texts(description) if description else None,
        administration=aas.AdministrativeInformation(template_id=template_id) if template_id else None,
        kind=aas.ModellingKind.INSTANCE,
        semantic_id=external_reference(semantic_id),
        submodel_elements=list(elements) or None,
    )
