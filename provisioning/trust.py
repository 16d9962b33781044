"""Whom the agent trusts: the certificates of its PKI directory store, and the CRLs of its CAs.

Each place is a directory of the store: trusted/certs (OPC UA clients, and CAs whose clients are
trusted), issuers/certs (CAs that only help build a chain) and signers/ (CAs and signers trusted to sign
configs and models). `add` keeps a certificate as DER, one a file, named by its common name and
thumbprint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from edge_agent.identity import PkiLayout, certificate_thumbprint
from edge_agent.identity.certificates import is_ca

from .errors import InputError
from .files import is_pem, write_public
from .opcua_profile import alt_names, application_uris

_SUFFIXES = (".der", ".pem", ".crt", ".cer")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}")


def places(layout: PkiLayout) -> dict[str, Path]:
    """Where trusted certificates live, by the word `trust list` shows for each."""
    return {"trusted": layout.trusted_certs, "issuer": layout.issuer_certs, "signer": layout.signers}


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of a trust directory, and the certificate in it (None if it holds none)."""

    place: str
    path: Path
    certificate: x509.Certificate | None
    problem: str = ""

    @property
    def thumbprint(self) -> str:
        return certificate_thumbprint(self.certificate) if self.certificate is not None else ""

    def facts(self, now: datetime) -> dict[str, Any]:
        if self.certificate is None:
            return {"where": self.place, "file": str(self.path), "problem": self.problem}
        certificate = self.certificate
        uris = application_uris(alt_names(certificate.extensions))
        return {
            "where": self.place,
            "subject": certificate.subject.rfc4514_string(),
            "thumbprint": self.thumbprint,
            "not_after": certificate.not_valid_after_utc.isoformat(),
            "expired": certificate.not_valid_after_utc < now,
            "ca": is_ca(certificate),
            "application_uri": uris[0] if uris else None,
            "file": str(self.path),
        }


def entries(directory: Path, place: str) -> list[Entry]:
    try:
        paths = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES)
    except FileNotFoundError:
        return []
    found = []
    for path in paths:
        try:
            data = path.read_bytes()
            certificate = (
                x509.load_pem_x509_certificates(data)[0]
                if is_pem(data)
                else x509.load_der_x509_certificate(data)
            )
        except (OSError, ValueError) as exc:
            found.append(Entry(place, path, None, f"not a certificate: {exc}"))
            continue
        found.append(Entry(place, path, certificate))
    return found


@dataclass(frozen=True, slots=True)
class Added:
    path: Path
    already: bool
    unrejected: list[Path]
    """Copies of the same certificate that were in rejected/ and are gone now."""


def add(layout: PkiLayout, certificate: x509.Certificate, place: str = "trusted") -> Added:
    """Copy ``certificate`` as DER into the directory of ``place``; nothing is written if it is there."""
    problem = _unfit(certificate, place)
    if problem:
        raise InputError(problem)
    directory = places(layout)[place]
    layout.ensure()
    directory.mkdir(mode=0o755, exist_ok=True)
    thumbprint = certificate_thumbprint(certificate)
    existing = [entry.path for entry in entries(directory, place) if entry.thumbprint == thumbprint]
    if existing:
        path, already = existing[0], True
    else:
        path, already = directory / f"{_file_stem(certificate)}.der", False
        write_public(path, certificate.public_bytes(serialization.Encoding.DER))
    unrejected = []
    if place == "trusted":
        for entry in entries(layout.rejected, "rejected"):
            if entry.thumbprint == thumbprint:
                entry.path.unlink(missing_ok=True)
                unrejected.append(entry.path)
    return Added(path, already, unrejected)


def remove(layout: PkiLayout, thumbprint: str) -> list[Entry]:
    """Remove the certificate with ``thumbprint`` from every trust directory; the entries removed."""
    removed = [
        entry
        for place, directory in places(layout).items()
        for entry in entries(directory, place)
        if entry.thumbprint == thumbprint
    ]
    for entry in removed:
        entry.path.unlink(missing_ok=True)
    return removed


def find(layout: PkiLayout, thumbprint: str) -> list[Entry]:
    return [
        entry
        for place, directory in places(layout).items()
        for entry in entries(directory, place)
        if entry.thumbprint == thumbprint
    ]


def add_crl(layout: PkiLayout, crl: x509.CertificateRevocationList, *, issuer: bool = False) -> Path:
    """Put ``crl`` (DER) in trusted/crl, or issuers/crl; it replaces the CRL of the same CA kept there."""
    directory = layout.issuer_crl if issuer else layout.trusted_crl
    layout.ensure()
    directory.mkdir(mode=0o755, exist_ok=True)
    name = crl.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name[0].value) if name else "ca").strip("_") or "ca"
    path = directory / f"{stem}.crl"
    write_public(path, crl.public_bytes(serialization.Encoding.DER))
    return path


def parse_thumbprint(text: str) -> str:
    digits = text.strip().replace(":", "").replace(" ", "").upper()
    if not _THUMBPRINT.fullmatch(digits):
        raise InputError(
            f"{text!r} is neither a certificate file nor a thumbprint (40 hex digits, as `trust list` shows)"
        )
    return digits


def _unfit(certificate: x509.Certificate, place: str) -> str | None:
    subject = certificate.subject.rfc4514_string()
    if place == "issuer" and not is_ca(certificate):
        return f"{subject} is not a CA (no basicConstraints cA=TRUE); an issuer must be one"
    if place == "signer" and not (is_ca(certificate) or _signs_code(certificate)):
        return (
            f"{subject} is neither a CA nor a signing certificate (extendedKeyUsage codeSigning): "
            "no signature could chain up to it"
        )
    return None


def _signs_code(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CODE_SIGNING in usage


def _file_stem(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else "certificate"
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", common_name).strip("._") or "certificate"
    return f"{safe[:64]}_{certificate_thumbprint(certificate)}"
