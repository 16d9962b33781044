"""`ca revoke` and `ca crl`: withdrawing a certificate, and the list that tells peers so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from .ca_index import IssuedRecord
from .ca_store import SiteCa
from .errors import InputError, ProvisioningError
from .serials import format_serial
from .validity import utc_now

DEFAULT_NEXT_UPDATE_DAYS = 30
# The reasons that fit an application certificate of a site CA (RFC 5280 5.3.1); certificateHold is
# left out on purpose: a held certificate cannot be told apart from a revoked one by most OPC UA stacks.
REASONS = {
    flag.value: flag
    for flag in (
        x509.ReasonFlags.unspecified,
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.privilege_withdrawn,
    )
}


@dataclass(frozen=True, slots=True)
class Revocation:
    record: IssuedRecord
    already: bool
    """True when the certificate was revoked before; its first revocation stands."""


def revoke(
    ca: SiteCa,
    target: int | x509.Certificate,
    *,
    reason: str = x509.ReasonFlags.unspecified.value,
    now: datetime | None = None,
) -> Revocation:
    """Mark a certificate of this CA revoked, by serial (it must be in the index) or by the certificate.

    A certificate the CA demonstrably signed is revoked even if the index has lost it.
    """
    if reason not in REASONS:
        raise InputError(f"--reason must be one of {', '.join(REASONS)} (got {reason!r})")
    with ca.directory.locked():
        index = ca.directory.load_index()
        serial = target if isinstance(target, int) else target.serial_number
        record = index.find(serial)
        if record is None and isinstance(target, x509.Certificate):
            _check_issued_by(ca, target)
            record = IssuedRecord.of(target)
            index.certificates.append(record)
        if record is None:
            raise ProvisioningError(
                f"this CA has issued no certificate with serial {format_serial(serial)} "
                f"(see {ca.directory.index}); give the certificate file to revoke one missing from it"
            )
        if record.revoked:
            return Revocation(record, already=True)
        record.revoke(utc_now(now), reason)
        index.save(ca.directory.index)
    return Revocation(record, already=False)


def _check_issued_by(ca: SiteCa, certificate: x509.Certificate) -> None:
    try:
        certificate.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise ProvisioningError(f"the certificate was not issued by this CA: {exc}") from None


def build_crl(
    ca: SiteCa, *, next_update_days: int = DEFAULT_NEXT_UPDATE_DAYS, now: datetime | None = None
) -> x509.CertificateRevocationList:
    """A CRL with every certificate the CA revoked, numbered one higher than the last one."""
    if next_update_days < 1:
        raise InputError(f"--next-update-days must be at least 1 (got {next_update_days})")
    this_update = utc_now(now)
    with ca.directory.locked():
        index = ca.directory.load_index()
        index.crl_number += 1
        ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.certificate.subject)
            .last_update(this_update)
            .next_update(this_update + timedelta(days=next_update_days))
            .add_extension(x509.CRLNumber(index.crl_number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
        )
        for record in index.certificates:
            if record.revoked_at is not None:
                builder = builder.add_revoked_certificate(_entry(record, record.revoked_at))
        crl = builder.sign(ca.key, hashes.SHA256())
        index.save(ca.directory.index)
    return crl


def _entry(record: IssuedRecord, revoked_at: str) -> x509.RevokedCertificate:
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(record.serial_number)
        .revocation_date(datetime.fromisoformat(revoked_at))
    )
    reason = REASONS.get(record.reason or "", x509.ReasonFlags.unspecified)
    # RFC 5280 5.3.1: the reason code is left out rather than given as unspecified.
    if reason is not x509.ReasonFlags.unspecified:
        entry = entry.add_extension(x509.CRLReason(reason), critical=False)
    return entry.build()
