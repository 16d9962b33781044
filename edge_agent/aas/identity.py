"""The Identity submodel: who the device is on the network, read from its application certificate."""

from __future__ import annotations

from datetime import UTC, datetime

from aas_core3 import types as aas
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from edge_agent.identity import certificate_thumbprint

from . import ids
from .elements import Scalar, prop, qualifier, submodel

NO_CERTIFICATE = "no certificate yet"
UNREADABLE = "unreadable certificate"
VALID = "valid"
EXPIRED = "expired"
NOT_YET_VALID = "not yet valid"


def xs_date_time(moment: datetime) -> str:
    """A UTC moment as an xs:dateTime: 2025-03-01T12:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_only(id_short: str, value: Scalar, value_type: aas.DataTypeDefXSD | None = None) -> aas.Property:
    access = qualifier(aas.QualifierKind.VALUE_QUALIFIER, ids.ACCESS_MODE_QUALIFIER, ids.READ_ONLY)
    return prop(id_short, value, value_type=value_type, qualifiers=[access])


def _status(certificate: x509.Certificate, now: datetime) -> str:
    if now < certificate.not_valid_before_utc:
        return NOT_YET_VALID
    if now >= certificate.not_valid_after_utc:
        return EXPIRED
    return VALID


def certificate_elements(certificate: x509.Certificate, now: datetime) -> list[aas.SubmodelElement]:
    """The certificate's facts as read-only properties; days to expiry are counted from ``now``."""
    not_after = certificate.not_valid_after_utc
    date_time = aas.DataTypeDefXSD.DATE_TIME
    return [
        _read_only("Status", _status(certificate, now)),
        _read_only("Subject", certificate.subject.rfc4514_string()),
        _read_only("Issuer", certificate.issuer.rfc4514_string()),
        _read_only("SelfSigned", certificate.issuer == certificate.subject),
        _read_only("FingerprintSha256", certificate.fingerprint(hashes.SHA256()).hex().upper()),
        # The form in which OPC UA tools show a certificate to an administrator.
        _read_only("ThumbprintSha1", certificate_thumbprint(certificate)),
        _read_only("NotBefore", xs_date_time(certificate.not_valid_before_utc), date_time),
        _read_only("NotAfter", xs_date_time(not_after), date_time),
        _read_only("DaysToExpiry", (not_after - now).days),
    ]


def build_identity(
    submodel_id: str, certificate_der: bytes | None, now: datetime | None = None
) -> aas.Submodel:
    """The identity submodel; with no (readable) certificate it holds only a Status saying so."""
    now = now or datetime.now(UTC)
    if certificate_der is None:
        elements: list[aas.SubmodelElement] = [_read_only("Status", NO_CERTIFICATE)]
    else:
        try:
            certificate = x509.load_der_x509_certificate(certificate_der)
        except ValueError:
            elements = [_read_only("Status", UNREADABLE)]
        else:
            elements = certificate_elements(certificate, now)
    return submodel(
        submodel_id,
        "Identity",
        ids.IDENTITY_SUBMODEL,
        elements,
        description="The device's OPC UA application instance certificate",
    )
