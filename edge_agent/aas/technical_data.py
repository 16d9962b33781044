"""The Technical Data submodel (IDTA 02003 2.0) from the nameplate and the config's `asset.technical_data`."""

from __future__ import annotations

from aas_core3 import types as aas

from edge_agent.config.asset import AssetConfig, Nameplate, TechnicalProperty

from . import ids
from .elements import collection, external_reference, iec61360, prop, submodel, text_property


def _measure_type(value: bool | int | float | str) -> aas.DataTypeIEC61360:
    if isinstance(value, bool):
        return aas.DataTypeIEC61360.BOOLEAN
    if isinstance(value, int):
        return aas.DataTypeIEC61360.INTEGER_MEASURE
    if isinstance(value, float):
        return aas.DataTypeIEC61360.REAL_MEASURE
    return aas.DataTypeIEC61360.STRING


def technical_property(entry: TechnicalProperty) -> aas.Property:
    """One datum; its unit travels in an embedded IEC 61360 data specification, as in the templates."""
    spec = iec61360(entry.name, unit=entry.unit, data_type=_measure_type(entry.value)) if entry.unit else None
    return prop(
        entry.name,
        entry.value,
        concept=ids.Concept(entry.semantic_id) if entry.semantic_id else None,
        data_specification=spec,
    )


def _general_information(plate: Nameplate) -> aas.SubmodelElementCollection:
    elements: list[aas.SubmodelElement] = [
        prop("ManufacturerName", plate.manufacturer_name, concept=ids.TD_MANUFACTURER_NAME),
        text_property(
            "ManufacturerProductDesignation",
            plate.product_designation,
            ids.TD_MANUFACTURER_PRODUCT_DESIGNATION,
        ),
    ]
    number = plate.article_number
    if number:
        elements.append(prop("ManufacturerArticleNumber", number, concept=ids.TD_MANUFACTURER_ARTICLE_NUMBER))
    code = plate.order_code
    if code:
        elements.append(prop("ManufacturerOrderCode", code, concept=ids.TD_MANUFACTURER_ORDER_CODE))
    return collection("GeneralInformation", elements, concept=ids.GENERAL_INFORMATION)


def _property_areas(entries: list[TechnicalProperty]) -> aas.SubmodelElementList:
    # One area holds every datum: the config does not group them.
    area = collection(
        None, [technical_property(entry) for entry in entries], concept=ids.TECHNICAL_PROPERTY_AREA
    )
    return aas.SubmodelElementList(
        aas.AASSubmodelElements.SUBMODEL_ELEMENT_COLLECTION,
        id_short="TechnicalPropertyAreas",
        semantic_id=external_reference(ids.TECHNICAL_PROPERTY_AREAS.semantic_id),
        semantic_id_list_element=external_reference(ids.TECHNICAL_PROPERTY_AREA.semantic_id),
        value=[area],
    )


def build_technical_data(asset: AssetConfig, submodel_id: str) -> aas.Submodel | None:
    """The technical data submodel; None when the config has neither a nameplate nor technical data."""
    if asset.nameplate is None and not asset.technical_data:
        return None
    elements: list[aas.SubmodelElement] = []
    if asset.nameplate is not None:
        elements.append(_general_information(asset.nameplate))
    if asset.technical_data:
        elements.append(_property_areas(asset.technical_data))
    return submodel(
        submodel_id,
        "TechnicalData",
        ids.TECHNICAL_DATA_SUBMODEL,
        elements,
        template_id=ids.TECHNICAL_DATA_TEMPLATE_ID,
        description="Technical data of the asset: rated values from its data sheet",
    )
