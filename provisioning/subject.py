"""The subject a device asks for: who made the machine and which one it is, from its nameplate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    # Loading the config schema takes longer than any command without --config runs.
    from edge_agent.config.asset import Nameplate

# X.520 upper bounds; cryptography refuses a longer common name.
COMMON_NAME_MAX = 64
ORGANIZATION_MAX = 64
_PRINTABLE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


def device_subject(nameplate: Nameplate | None, hostname: str) -> x509.Name:
    """O=manufacturer, CN=product designation and serial, serialNumber=serial; CN=edge-agent@host without one.

    The common name keeps the serial whole and shortens the designation, as the serial is what tells
    two machines of one product apart. X.520 serialNumber is a PrintableString: a serial with other
    characters is left in the common name only.
    """
    if nameplate is None:
        return x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, f"edge-agent@{hostname}"[:COMMON_NAME_MAX])]
        )
    serial = nameplate.serial_number.strip()
    room = COMMON_NAME_MAX - len(serial) - 1
    designation = nameplate.product_designation.strip()[: max(room, 0)].rstrip()
    common_name = f"{designation} {serial}" if designation else serial[:COMMON_NAME_MAX]
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, nameplate.manufacturer_name.strip()[:ORGANIZATION_MAX]),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if set(serial) <= _PRINTABLE:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attributes)
