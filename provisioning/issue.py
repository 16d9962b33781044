"""`ca sign`: a device's CSR in, its OPC UA application instance certificate out.

The CA takes the subject, the public key and the subjectAltName URI, DNS names and IP addresses from
the request; everything else is the CA's decision. Whatever the request asks, the certificate gets
exactly the key usages and extended key usages OPC UA needs (see opcua_profile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .ca_index import IssuedRecord
from .ca_store import SiteCa
from .errors import InputError, ProvisioningError
from .opcua_profile import EXTENDED_KEY_USAGE, KEY_USAGE, alt_names, application_uris, key_problem
from .validity import BACKDATE, utc_now

DEFAULT_VALID_DAYS = 730
_COPIED_NAMES = (x509.UniformResourceIdentifier, x509.DNSName, x509.IPAddress)


class RequestRefused(ProvisioningError):
    """The CA will not sign this request; the message says every reason."""


@dataclass(frozen=True, slots=True)
class Issued:
    certificate: x509.Certificate
    notes: list[str] = field(default_factory=list)
    """What the technician should know about the certificate: names left out, a shortened validity."""


def sign_request(
    ca: SiteCa,
    request: x509.CertificateSigningRequest,
    *,
    valid_days: int = DEFAULT_VALID_DAYS,
    now: datetime | None = None,
) -> Issued:
    """Check ``request`` against the CA's policy, sign it, and record it in the CA's index."""
    if valid_days < 1:
        raise InputError(f"--valid-days must be at least 1 (got {valid_days})")
    start = utc_now(now)
    if ca.certificate.not_valid_after_utc <= start:
        raise ProvisioningError(
            f"the CA certificate {ca.directory.certificate} expired on "
            f"{ca.certificate.not_valid_after_utc.isoformat()}; make a new CA"
        )
    names, notes = _checked_names(ca, request)
    not_after = start + timedelta(days=valid_days)
    if not_after > ca.certificate.not_valid_after_utc:
        not_after = ca.certificate.not_valid_after_utc
        notes.append(f"valid until {not_after.isoformat()} only, when the CA certificate ends")
    not_before = max(start - BACKDATE, ca.certificate.not_valid_before_utc)
    certificate = _build(ca, request, names, not_before, not_after)
    with ca.directory.locked():
        index = ca.directory.load_index()
        index.certificates.append(IssuedRecord.of(certificate))
        index.save(ca.directory.index)
    return Issued(certificate, notes)


def _checked_names(
    ca: SiteCa, request: x509.CertificateSigningRequest
) -> tuple[list[x509.GeneralName], list[str]]:
    """The subjectAltNames to certify and notes about the rest; RequestRefused with every reason not to."""
    if not request.is_signature_valid:
        raise RequestRefused(
            "the request's signature does not verify: it was altered or is not signed by its key"
        )
    try:
        requested = alt_names(request.extensions)
    except ValueError as exc:
        raise InputError(f"the request's extensions cannot be read: {exc}") from None
    reasons = []
    problem = key_problem(request.public_key())
    if problem:
        reasons.append(problem)
    uris = application_uris(requested)
    if not uris:
        reasons.append("it has no subjectAltName URI; OPC UA needs the application URI there")
    elif len(uris) > 1:
        reasons.append(f"it has {len(uris)} subjectAltName URIs ({', '.join(uris)}); an application has one")
    reasons += [
        f"DNS name {name.value!r} is a wildcard; an application certificate names its host"
        for name in requested
        if isinstance(name, x509.DNSName) and "*" in name.value
    ]
    reasons += ca.permitted.violations(requested)
    if reasons:
        raise RequestRefused("the CA refuses the request: " + "; ".join(reasons))
    names: list[x509.GeneralName] = [name for name in requested if isinstance(name, _COPIED_NAMES)]
    notes = [
        f"left out the subjectAltName {name}" for name in requested if not isinstance(name, _COPIED_NAMES)
    ]
    return names, notes


def _build(
    ca: SiteCa,
    request: x509.CertificateSigningRequest,
    names: list[x509.GeneralName],
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(request.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(KEY_USAGE, critical=True)
        .add_extension(EXTENDED_KEY_USAGE, critical=False)
        # RFC 5280 4.2.1.6: with an empty subject the names are all there is, so they are critical.
        .add_extension(x509.SubjectAlternativeName(names), critical=len(request.subject) == 0)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(request.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
