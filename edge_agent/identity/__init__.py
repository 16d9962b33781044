"""The device's identity: its PKI directory store and its application instance certificate."""

from .expiry import CertificateStatus, days_to_expiry, expires_within, expiry_warning, status
from .layout import PkiLayout, write_atomically
from .self_signed import (
    ApplicationIdentity,
    CertificateMismatchError,
    CertificateValidityError,
    IdentityError,
    build_self_signed_certificate,
    certificate_thumbprint,
    ensure_application_certificate,
    san_uris,
)
from .users import AgentUser, Role, UserAccount, UserFile, UserFileError, UserStore

__all__ = [
    "AgentUser",
    "ApplicationIdentity",
    "CertificateMismatchError",
    "CertificateStatus",
    "CertificateValidityError",
    "IdentityError",
    "PkiLayout",
    "Role",
    "UserAccount",
    "UserFile",
    "UserFileError",
    "UserStore",
    "build_self_signed_certificate",
    "certificate_thumbprint",
    "days_to_expiry",
    "ensure_application_certificate",
    "expires_within",
    "expiry_warning",
    "san_uris",
    "status",
    "write_atomically",
]
