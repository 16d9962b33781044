"""The `asset:` section: what the machine is, for its Asset Administration Shell."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from .vocabulary import ConfigIssue, ConfigModel, Identifier, invalid, shown

NonEmpty = Annotated[str, Field(min_length=1)]
_COUNTRY = re.compile(r"[A-Z]{2}")


class Address(ConfigModel):
    """The manufacturer's address on the nameplate."""

    street: str | None = None
    """Street and number."""
    zip: str | None = None
    """Postal code; quote it when it starts with 0, as YAML would read it as a number."""
    city: str | None = None
    """City or town."""
    country: str | None = None
    """ISO 3166-1 alpha-2 country code, in capitals: DE, US, FR."""

    @field_validator("country")
    @classmethod
    def _iso_country(cls, country: str | None) -> str | None:
        if country is None or _COUNTRY.fullmatch(country):
            return country
        hint = f"; did you mean '{country.upper()}'?" if _COUNTRY.fullmatch(country.upper()) else ""
        raise invalid(
            "country",
            f"must be a two-letter country code in capitals, like DE or US (got {shown(country)}){hint}",
        )


class Nameplate(ConfigModel):
    """The digital nameplate (IDTA 02006): who made the machine and which one it is."""

    manufacturer_name: NonEmpty
    """The manufacturer's legal name."""
    product_designation: NonEmpty
    """What the product is, as the manufacturer names it."""
    serial_number: NonEmpty
    """The machine's serial number; quote it when it looks like a number."""
    order_code: NonEmpty | None = None
    """The manufacturer's order code (IDTA 02006 OrderCodeOfManufacturer, which the template requires)."""
    article_number: NonEmpty | None = None
    """The manufacturer's article number (IDTA 02003 ManufacturerArticleNumber)."""
    year_of_construction: Annotated[int, Field(ge=1900, le=2100)] | None = None
    """The year the machine was built."""
    address: Address | None = None
    """The manufacturer's address."""


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        raise invalid("scalar", f"must be a number, text, or true/false (got {shown(value)})")
    return value


class TechnicalProperty(ConfigModel):
    """One technical datum (IDTA 02003): a named value with its unit and semantic id."""

    name: Identifier
    """The property's idShort in the Technical Data submodel."""
    value: Annotated[bool | int | float | str, BeforeValidator(_scalar)]
    """The value: a number, text, or true/false."""
    unit: str | None = None
    """The value's unit, e.g. kW."""
    semantic_id: str | None = None
    """What the property means, as an ECLASS or IEC CDD IRDI, e.g. 0173-1#02-AAK235#006."""


class AssetConfig(ConfigModel):
    """The machine the agent represents."""

    id: NonEmpty
    """The shell's id: an IRI or URN, unique in the plant (urn:example:aas:pump-17)."""
    global_asset_id: NonEmpty
    """The physical machine's id, an IRI or URN (urn:example:asset:pump-17)."""
    nameplate: Nameplate | None = None
    """The digital nameplate; without it the shell has no Nameplate submodel."""
    technical_data: list[TechnicalProperty] = []
    """Rated values and other fixed data of the machine."""

    def issues(self) -> Iterator[ConfigIssue]:
        seen: dict[str, int] = {}
        for index, datum in enumerate(self.technical_data):
            if datum.name in seen:
                yield ConfigIssue(
                    ("technical_data", index, "name"),
                    f"technical datum '{datum.name}' is already defined",
                    first=("technical_data", seen[datum.name], "name"),
                )
            else:
                seen[datum.name] = index
