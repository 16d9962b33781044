"""Which client applications the server trusts: the PKI directory store, read live.

A client certificate is accepted when it is valid now, names the client's application URI, has the
key usages OPC UA asks for, chains to a certificate in trusted/certs (through CAs in issuers/certs if
need be) and is not revoked by a CRL in trusted/crl or issuers/crl. A refused certificate is copied to
rejected/ so an administrator can review it and move it to trusted/certs; the trust list is re-read
whenever those directories change, so that takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from pathlib import Path

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..identity import PkiLayout, certificate_thumbprint, write_atomically
from ..identity.layout import PUBLIC_FILE_MODE

log = logging.getLogger(__name__)

MAX_REJECTED = 100
_SUFFIXES = (".der", ".pem", ".crt", ".cer", ".crl")


class DirectoryTrustStore(TrustStore):
    """asyncua's TrustStore over the OPC UA directory store.

    Only trusted/certs holds trust anchors; issuers/certs only helps build a chain to one, as Part 12
    defines. A CRL revokes a certificate only if the CRL's issuer is the certificate's issuer.
    Unreadable files are skipped with a warning rather than making every client untrusted.
    """

    def __init__(self, layout: PkiLayout) -> None:
        super().__init__([layout.trusted_certs], [layout.trusted_crl, layout.issuer_crl])
        self._issuer_locations = [layout.issuer_certs]
        self._anchor_count = 0
        self._intermediates: list[x509.Certificate] = []
        self._crls: list[x509.CertificateRevocationList] = []

    async def load_trust(self) -> None:
        anchors = await asyncio.to_thread(_read_certificates, self.trust_locations)
        self._intermediates = await asyncio.to_thread(_read_certificates, self._issuer_locations)
        self._anchor_count = len(anchors)
        # cryptography refuses an empty store; no anchor simply means nobody is trusted.
        self._trust_store = x509.verification.Store(anchors) if anchors else None

    async def load_crl(self) -> None:
        self._crls = await asyncio.to_thread(_read_crls, self.crl_locations)

    @property
    def counts(self) -> tuple[int, int, int]:
        """(trusted certificates, issuer certificates, CRLs) as last loaded."""
        return self._anchor_count, len(self._intermediates), len(self._crls)

    def is_trusted(self, certificate: x509.Certificate) -> bool:
        if self._trust_store is None:
            return False
        verifier = self.policy_builder.store(self._trust_store).build_client_verifier()
        try:
            verifier.verify(certificate, self._intermediates)
        except x509.verification.VerificationError as exc:
            log.debug("no trusted chain for %s: %s", certificate.subject.rfc4514_string(), exc)
            return False
        return True

    def is_revoked(self, certificate: x509.Certificate) -> bool:
        for crl in self._crls:
            if crl.issuer != certificate.issuer:
                continue
            if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
                log.warning("certificate %s is revoked", certificate.subject.rfc4514_string())
                return True
        return False


class RejectedCertificates:
    """rejected/: the last MAX_REJECTED refused certificates, one DER file each, oldest removed first."""

    def __init__(self, directory: Path, limit: int = MAX_REJECTED) -> None:
        self._directory = directory
        self._limit = limit

    def keep(self, certificate: x509.Certificate) -> Path:
        path = self._directory / f"{_file_stem(certificate)}.der"
        write_atomically(path, certificate.public_bytes(serialization.Encoding.DER), PUBLIC_FILE_MODE)
        # File systems stamp files with a coarse clock; a fine one keeps "oldest first" exact.
        now = time.time_ns()
        os.utime(path, ns=(now, now))
        self._prune()
        return path

    def _prune(self) -> None:
        entries = [
            entry for entry in os.scandir(self._directory) if entry.is_file() and entry.name.endswith(".der")
        ]
        excess = len(entries) - self._limit
        if excess <= 0:
            return
        entries.sort(key=lambda entry: entry.stat().st_mtime_ns)
        for entry in entries[:excess]:
            Path(entry.path).unlink(missing_ok=True)


class TrustListValidator:
    """Validates client application certificates at CreateSession (asyncua's certificate_validator)."""

    def __init__(self, layout: PkiLayout, *, max_rejected: int = MAX_REJECTED) -> None:
        self._layout = layout
        self._store = DirectoryTrustStore(layout)
        self._validator = CertificateValidator(
            CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT,
            self._store,
        )
        self._rejected = RejectedCertificates(layout.rejected, max_rejected)
        self._loaded_state: object = None
        self._lock = asyncio.Lock()

    async def __call__(self, certificate: x509.Certificate, application: ua.ApplicationDescription) -> None:
        await self.reload_if_changed()
        try:
            await self._validator.validate(certificate, application)
        except ServiceError as exc:
            status = ua.StatusCode(exc.code)
            path = await asyncio.to_thread(self._rejected.keep, certificate)
            log.warning(
                "refused client %s (%s, thumbprint %s): %s. A copy is in %s; move it to %s to trust it",
                application.ApplicationUri,
                certificate.subject.rfc4514_string(),
                certificate_thumbprint(certificate),
                status.name,
                path,
                self._layout.trusted_certs,
            )
            raise

    async def reload_if_changed(self) -> None:
        async with self._lock:
            state = await asyncio.to_thread(_directory_state, self._layout.trust_list_dirs)
            if state == self._loaded_state:
                return
            await self._store.load()
            self._loaded_state = state
            trusted, issuers, crls = self._store.counts
            log.info("trust list loaded: %d trusted, %d issuer certificates, %d CRLs", trusted, issuers, crls)


def _directory_state(directories: tuple[Path, ...]) -> object:
    """What the trust list directories hold now, cheap to compare: names, sizes, modification times."""
    state = []
    for directory in directories:
        try:
            entries = sorted(
                (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
                for entry in os.scandir(directory)
            )
        except FileNotFoundError:
            entries = []
        state.append((str(directory), tuple(entries)))
    return tuple(state)


def _files(locations: list[Path]) -> list[Path]:
    found = []
    for location in locations:
        try:
            found.extend(
                sorted(p for p in location.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES)
            )
        except FileNotFoundError:
            continue
    return found


def _read_certificates(locations: list[Path]) -> list[x509.Certificate]:
    certificates: list[x509.Certificate] = []
    for path in _files(locations):
        data = path.read_bytes()
        try:
            if data.lstrip().startswith(b"-----BEGIN"):
                certificates.extend(x509.load_pem_x509_certificates(data))
            else:
                certificates.append(x509.load_der_x509_certificate(data))
        except ValueError as exc:
            log.warning("ignoring %s: not a certificate (%s)", path, exc)
    return certificates


def _read_crls(locations: list[Path]) -> list[x509.CertificateRevocationList]:
    crls: list[x509.CertificateRevocationList] = []
    for path in _files(locations):
        data = path.read_bytes()
        try:
            if data.lstrip().startswith(b"-----BEGIN"):
                crls.append(x509.load_pem_x509_crl(data))
            else:
                crls.append(x509.load_der_x509_crl(data))
        except ValueError as exc:
            log.warning("ignoring %s: not a CRL (%s)", path, exc)
    return crls


def _file_stem(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else "certificate"
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", common_name).strip("._") or "certificate"
    return f"{safe[:64]}_{certificate_thumbprint(certificate)}"
