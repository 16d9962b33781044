"""How long a certificate is still valid, and what to tell an administrator about it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509


class CertificateStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not yet valid"


def status(certificate: x509.Certificate, now: datetime | None = None) -> CertificateStatus:
    at = now or datetime.now(UTC)
    if at < certificate.not_valid_before_utc:
        return CertificateStatus.NOT_YET_VALID
    if at >= certificate.not_valid_after_utc:
        return CertificateStatus.EXPIRED
    return CertificateStatus.VALID


def days_to_expiry(certificate: x509.Certificate, now: datetime | None = None) -> int:
    """Whole days left (rounded down); negative once it has expired."""
    return (certificate.not_valid_after_utc - (now or datetime.now(UTC))).days


def expires_within(certificate: x509.Certificate, window: timedelta, now: datetime | None = None) -> bool:
    """Whether the certificate ends within ``window`` from ``now`` (or has ended already)."""
    return certificate.not_valid_after_utc - (now or datetime.now(UTC)) <= window


def renew_command(pki: Path) -> str:
    """The command that gets this device a new certificate, as a technician would start to type it."""
    return f"edge-provision renew --pki {pki} --server URL --user NAME --password-file FILE"


def expiry_warning(
    certificate: x509.Certificate,
    *,
    path: Path,
    pki: Path,
    window: timedelta,
    made_here: bool,
    now: datetime | None = None,
) -> str | None:
    """What to log when the certificate in ``path`` ends within ``window``; None when it does not."""
    if not expires_within(certificate, window, now):
        return None
    days = days_to_expiry(certificate, now)
    when = certificate.not_valid_after_utc.isoformat()
    left = "less than a day" if days < 1 else f"{days} day{'s' if days != 1 else ''}"
    if made_here:
        # The agent makes itself a new one once it has expired; peers that trusted the old one by its
        # thumbprint must then be told to trust the new one.
        return (
            f"the self-signed application certificate {path} expires on {when} (in {left}); edge-agent "
            "will make a new one, which every client that trusts this one will have to trust anew"
        )
    return (
        f"the application certificate {path} expires on {when} (in {left}); OPC UA clients will refuse "
        f"it after that. Renew it now: {renew_command(pki)} (or --cert-auth instead of the user)"
    )
