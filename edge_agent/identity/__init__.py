"""The device's identity: its PKI directory store and its application instance certificate."""

from .layout import PkiLayout, write_atomically
from .self_signed import (
    ApplicationIdentity,
    CertificateMismatchError,
    IdentityError,
    build_self_signed_certificate,
    certificate_thumbprint,
    ensure_application_certificate,
    san_uris,
)

__all__ = [
    "ApplicationIdentity",
    "CertificateMismatchError",
    "IdentityError",
    "PkiLayout",
    "build_self_signed_certificate",
    "certificate_thumbprint",
    "ensure_application_certificate",
    "san_uris",
    "write_atomically",
]
