"""The CA's record of what it issued and revoked: index.json in the CA directory.

The CRL is built from it, so every certificate the CA signs is recorded before the certificate is
handed out. The file is rewritten atomically; callers hold the CA directory's lock while they change it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .errors import InputError
from .files import read_input, write_public
from .opcua_profile import alt_names, application_uris
from .serials import format_serial

INDEX_VERSION = 1


@dataclass(slots=True)
class IssuedRecord:
    """One issued certificate, and its revocation once it is revoked."""

    serial: str
    subject: str
    application_uri: str | None
    not_before: str
    not_after: str
    sha256: str
    revoked_at: str | None = None
    reason: str | None = None

    @classmethod
    def of(cls, certificate: x509.Certificate) -> IssuedRecord:
        uris = application_uris(alt_names(certificate.extensions))
        return cls(
            serial=format_serial(certificate.serial_number),
            subject=certificate.subject.rfc4514_string(),
            application_uri=uris[0] if uris else None,
            not_before=certificate.not_valid_before_utc.isoformat(),
            not_after=certificate.not_valid_after_utc.isoformat(),
            sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        )

    @property
    def serial_number(self) -> int:
        return int(self.serial, 16)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def revoke(self, when: datetime, reason: str) -> None:
        self.revoked_at = when.isoformat()
        self.reason = reason


@dataclass(slots=True)
class CaIndex:
    certificates: list[IssuedRecord] = field(default_factory=list)
    crl_number: int = 0

    @classmethod
    def load(cls, path: Path) -> CaIndex:
        text = read_input(path, "CA index")
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(
                [IssuedRecord(**entry) for entry in data["certificates"]],
                int(data["crl_number"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path} is not a CA index written by edge-provision: {exc}") from None

    def save(self, path: Path) -> None:
        data = {
            "version": INDEX_VERSION,
            "crl_number": self.crl_number,
            "certificates": [asdict(record) for record in self.certificates],
        }
        write_public(path, (json.dumps(data, indent=2) + "\n").encode())

    def find(self, serial: int) -> IssuedRecord | None:
        return next((record for record in self.certificates if record.serial_number == serial), None)
