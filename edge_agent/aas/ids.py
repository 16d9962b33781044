"""Every identifier the shell uses: the IDTA templates' semantic IDs, the project's own, and submodel ids.

The template IDs are copied from the IDTA templates themselves (IDTA 02006-3-0 Digital Nameplate for
Industrial Equipment, IDTA 02002 Contact Information for the address drop-in, IDTA 02003 Technical Data
2.0). Each element carries the template's IEC CDD semantic ID and, as the template does, the matching ECLASS
IRDI as supplemental semantic ID. Submodels the IDTA has no template for (operational data, condition
monitoring, device identity) use the project's own URNs below, which must stay as they are: clients key on
them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Concept:
    """The semantic ID of one element, with its supplemental IDs (ECLASS beside IEC CDD)."""

    semantic_id: str
    supplemental: tuple[str, ...] = ()


# The IEC 61360 data specification template (AAS Part 3a), for units and definitions embedded in elements.
IEC61360_DATA_SPECIFICATION = (
    "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIEC61360/3/0"
)

# IDTA 02006-3-0: Digital Nameplate for Industrial Equipment.
NAMEPLATE_TEMPLATE_ID = "https://admin-shell.io/idta-02006-3-0"
NAMEPLATE_SUBMODEL = "https://admin-shell.io/idta/nameplate/3/0/Nameplate"
URI_OF_THE_PRODUCT = Concept("0112/2///61987#ABN590#002", ("0173-1#02-ABH173#003",))
MANUFACTURER_NAME = Concept("0112/2///61987#ABA565#009", ("0173-1#02-AAO677#004",))
MANUFACTURER_PRODUCT_DESIGNATION = Concept("0112/2///61987#ABA567#009", ("0173-1#02-AAW338#003",))
ORDER_CODE_OF_MANUFACTURER = Concept("0112/2///61987#ABA950#008", ("0173-1#02-AAO227#004",))
SERIAL_NUMBER = Concept("0112/2///61987#ABA951#009", ("0173-1#02-AAM556#004",))
YEAR_OF_CONSTRUCTION = Concept("0112/2///61987#ABP000#002", ("0173-1#02-AAP906#003",))
ADDRESS_INFORMATION = Concept(
    "https://admin-shell.io/zvei/nameplate/1/0/ContactInformations/AddressInformation",
    (
        "https://admin-shell.io/smt-dropin/smt-dropin-use/1/0",
        "0112/2///61360_7#AAS002#001",
        "0173-1#02-AAQ837#008/0173-1#01-ADR448#008",
    ),
)

# The "Address Information" drop-in (IDTA 02002 Contact Information); 02006-3-0 makes these four mandatory.
STREET = Concept("0173-1#02-AAO128#002")
ZIPCODE = Concept("0173-1#02-AAO129#002")
CITY_TOWN = Concept("0173-1#02-AAO132#002")
NATIONAL_CODE = Concept("0173-1#02-AAO134#002")

# IDTA 02003 2.0: Technical Data (ECLASS IRDIs throughout).
TECHNICAL_DATA_TEMPLATE_ID = "https://admin-shell.io/idta-02003-2-0"
TECHNICAL_DATA_SUBMODEL = "0173-1#01-AHX837#002"
GENERAL_INFORMATION = Concept("0173-1#02-ABK161#002/0173-1#01-AHX838#002")
TD_MANUFACTURER_NAME = Concept("0173-1#02-AAO677#004")
TD_MANUFACTURER_PRODUCT_DESIGNATION = Concept("0173-1#02-AAW338#003")
TD_MANUFACTURER_ARTICLE_NUMBER = Concept("0173-1#02-AAO676#005")
TD_MANUFACTURER_ORDER_CODE = Concept("0173-1#02-AAO227#004")
TECHNICAL_PROPERTY_AREAS = Concept("0173-1#02-ABK163#002")
TECHNICAL_PROPERTY_AREA = Concept("0173-1#02-ABL358#002/0173-1#01-AHX773#002")

# The project's own concepts, for the submodels no IDTA template covers.
_OWN = "urn:edge-agent:aas"
OPERATIONAL_DATA_SUBMODEL = f"{_OWN}:OperationalData:1:0"
CONDITION_MONITORING_SUBMODEL = f"{_OWN}:ConditionMonitoring:1:0"
MODEL_RESULT = Concept(f"{_OWN}:ConditionMonitoring:Model:1:0")
IDENTITY_SUBMODEL = f"{_OWN}:DeviceIdentity:1:0"

# Qualifiers on live properties: their range (the OPC UA EURange) and whether clients may write them.
RANGE_LOW_QUALIFIER = "EURange.Low"
RANGE_HIGH_QUALIFIER = "EURange.High"
ACCESS_MODE_QUALIFIER = "AccessMode"
READ_ONLY = "ReadOnly"
READ_WRITE = "ReadWrite"


@dataclass(frozen=True, slots=True)
class SubmodelIds:
    """The ids of one shell's submodels: derived from the shell id, so every build names them alike."""

    shell_id: str

    def _under(self, name: str) -> str:
        return f"{self.shell_id}/submodels/{name}"

    @property
    def nameplate(self) -> str:
        return self._under("nameplate")

    @property
    def technical_data(self) -> str:
        return self._under("technical-data")

    @property
    def operational_data(self) -> str:
        return self._under("operational-data")

    @property
    def condition_monitoring(self) -> str:
        return self._under("condition-monitoring")

    @property
    def identity(self) -> str:
        return self._under("identity")
