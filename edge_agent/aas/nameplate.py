"""The Digital Nameplate submodel (IDTA 02006-3-0) from the config's `asset.nameplate`."""

from __future__ import annotations

from aas_core3 import types as aas

from edge_agent.config.asset import Address, AssetConfig

from . import ids
from .elements import collection, prop, submodel, text_property


def _address(address: Address) -> aas.SubmodelElementCollection:
    # The template leaves the drop-in empty and its text names these four as mandatory, in this order.
    parts = [
        ("Street", address.street, ids.STREET),
        ("Zipcode", address.zip, ids.ZIPCODE),
        ("CityTown", address.city, ids.CITY_TOWN),
        ("NationalCode", address.country, ids.NATIONAL_CODE),
    ]
    elements = [text_property(id_short, text, concept) for id_short, text, concept in parts if text]
    return collection("AddressInformation", elements, concept=ids.ADDRESS_INFORMATION)


def build_nameplate(asset: AssetConfig, submodel_id: str) -> aas.Submodel | None:
    """The nameplate submodel, in the template's order of elements; None when the config has none."""
    plate = asset.nameplate
    if plate is None:
        return None
    elements: list[aas.SubmodelElement] = [
        # The global asset id is the asset's own URI: what the template means by the product's URI.
        prop(
            "URIOfTheProduct",
            asset.global_asset_id,
            value_type=aas.DataTypeDefXSD.ANY_URI,
            concept=ids.URI_OF_THE_PRODUCT,
        ),
        text_property("ManufacturerName", plate.manufacturer_name, ids.MANUFACTURER_NAME),
        text_property(
            "ManufacturerProductDesignation", plate.product_designation, ids.MANUFACTURER_PRODUCT_DESIGNATION
        ),
        _address(plate.address or Address()),
    ]
    code = plate.order_code
    if code:
        elements.append(prop("OrderCodeOfManufacturer", code, concept=ids.ORDER_CODE_OF_MANUFACTURER))
    elements.append(prop("SerialNumber", plate.serial_number, concept=ids.SERIAL_NUMBER))
    if plate.year_of_construction is not None:
        # The template types the year as a string.
        elements.append(
            prop(
                "YearOfConstruction",
                str(plate.year_of_construction),
                value_type=aas.DataTypeDefXSD.STRING,
                concept=ids.YEAR_OF_CONSTRUCTION,
            )
        )
    return submodel(
        submodel_id,
        "Nameplate",
        ids.NAMEPLATE_SUBMODEL,
        elements,
        template_id=ids.NAMEPLATE_TEMPLATE_ID,
        description="The nameplate information attached to the product",
    )
