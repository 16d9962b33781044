"""Which client applications the server trusts: the PKI directory store, read live.

A client certificate is accepted when it is valid now, names the client's application URI, has the
key usages OPC UA asks for, chains to a certificate in trusted/certs (through CAs in issuers/certs if
need be) and is not revoked by a CRL in trusted/crl or issuers/crl. A CRL counts only if the
certificate of its issuer (in trusted/certs or issuers/certs) verifies its signature; while a CRL of
a certificate's issuer does not verify, that certificate is refused, as nobody can tell whether it
is revoked. A refused certificate is copied to rejected/ (once, and at most
REJECTED_WRITES_PER_MINUTE new files a minute) so an administrator can review it and move it to
trusted/certs; the trust list is re-read whenever those directories change, so that takes effect
without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from asyncua import ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..audit import audit
from ..identity import PkiLayout, certificate_thumbprint, write_atomically
from ..identity.certificates import verifies_crl
from ..identity.layout import PUBLIC_FILE_MODE

log = logging.getLogger(__name__)

MAX_REJECTED = 100
# Anyone who can reach the endpoint can make the server refuse a certificate; each new one costs a
# synced write on the device's storage, so only this many a minute are kept.
REJECTED_WRITES_PER_MINUTE = 10
_MINUTE_S = 60.0
_SUFFIXES = (".der", ".pem", ".crt", ".cer", ".crl")


class DirectoryTrustStore(TrustStore):
    """asyncua's TrustStore over the OPC UA directory store.

    Only trusted/certs holds trust anchors; issuers/certs only helps build a chain to one, as Part 12
    defines. A CRL revokes a certificate only if the CRL's issuer is the certificate's issuer, and
    counts only if a certificate of that issuer verifies its signature. Unreadable files are skipped
    with a warning rather than making every client untrusted.
    """

    def __init__(self, layout: PkiLayout) -> None:
        super().__init__([layout.trusted_certs], [layout.trusted_crl, layout.issuer_crl])
        self._issuer_locations = [layout.issuer_certs]
        self._anchors: list[x509.Certificate] = []
        self._intermediates: list[x509.Certificate] = []
        self._crls: list[x509.CertificateRevocationList] = []
        self._unverified_crl_issuers: dict[x509.Name, Path] = {}

    async def load_trust(self) -> None:
        self._anchors = await asyncio.to_thread(_read_certificates, self.trust_locations)
        self._intermediates = await asyncio.to_thread(_read_certificates, self._issuer_locations)
        # cryptography refuses an empty store; no anchor simply means nobody is trusted.
        self._trust_store = x509.verification.Store(self._anchors) if self._anchors else None

    async def load_crl(self) -> None:
        """Load the CRLs; call after load_trust, whose certificates verify them."""
        crls = await asyncio.to_thread(_read_crls, self.crl_locations)
        issuers = self._anchors + self._intermediates
        self._crls, self._unverified_crl_issuers = [], {}
        for path, crl in crls:
            if _signed_by_its_issuer(crl, issuers):
                self._crls.append(crl)
                continue
            log.warning(
                "CRL %s is not signed by a known certificate of its issuer %s: clients with "
                "certificates of that issuer are refused until it is replaced",
                path,
                crl.issuer.rfc4514_string(),
            )
            self._unverified_crl_issuers.setdefault(crl.issuer, path)

    @property
    def counts(self) -> tuple[int, int, int]:
        """(trusted certificates, issuer certificates, verified CRLs) as last loaded."""
        return len(self._anchors), len(self._intermediates), len(self._crls)

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
        """Whether a verified CRL revokes ``certificate``.

        Raises ServiceError(BadCertificateRevocationUnknown) when a CRL of its issuer does not verify.
        """
        unverified = self._unverified_crl_issuers.get(certificate.issuer)
        if unverified is not None:
            log.warning(
                "cannot tell whether %s is revoked: the CRL %s of its issuer does not verify",
                certificate.subject.rfc4514_string(),
                unverified,
            )
            raise ServiceError(ua.StatusCodes.BadCertificateRevocationUnknown)
        issuer_crls = [crl for crl in self._crls if crl.issuer == certificate.issuer]
        if not issuer_crls and certificate.issuer != certificate.subject:
            # OPC UA Part 4: without its issuer's revocation list nobody can tell whether a certificate is
            # revoked (asyncua takes a missing CRL for "not revoked"). A self-signed one has no issuer.
            log.warning(
                "cannot tell whether %s is revoked: there is no CRL of its issuer %s in trusted/crl or "
                "issuers/crl (the CA publishes one: edge-provision ca crl)",
                certificate.subject.rfc4514_string(),
                certificate.issuer.rfc4514_string(),
            )
            raise ServiceError(ua.StatusCodes.BadCertificateRevocationUnknown)
        for crl in issuer_crls:
            if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
                log.warning("certificate %s is revoked", certificate.subject.rfc4514_string())
                return True
        return False


class RejectedCertificates:
    """rejected/: the last MAX_REJECTED refused certificates, one DER file each, oldest removed first.

    A certificate already there is not written again, and at most ``writes_per_minute`` new files
    are written in any minute; beyond that a refused certificate is not kept.
    """

    def __init__(
        self,
        directory: Path,
        limit: int = MAX_REJECTED,
        *,
        writes_per_minute: int = REJECTED_WRITES_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._limit = limit
        self._writes_per_minute = writes_per_minute
        self._clock = clock
        self._recent_writes: deque[float] = deque()
        self._lock = threading.Lock()

    def keep(self, certificate: x509.Certificate) -> Path | None:
        """The file in rejected/ that holds ``certificate``; None if too many were written this minute."""
        path = self._directory / f"{_file_stem(certificate)}.der"
        with self._lock:
            if path.exists():
                return path
            if not self._may_write():
                return None
            write_atomically(path, certificate.public_bytes(serialization.Encoding.DER), PUBLIC_FILE_MODE)
            # File systems stamp files with a coarse clock; a fine one keeps "oldest first" exact.
            now = time.time_ns()
            os.utime(path, ns=(now, now))
            self._prune()
        return path

    def _may_write(self) -> bool:
        now = self._clock()
        while self._recent_writes and now - self._recent_writes[0] >= _MINUTE_S:
            self._recent_writes.popleft()
        if len(self._recent_writes) >= self._writes_per_minute:
            return False
        self._recent_writes.append(now)
        return True

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
            _check_strength(certificate)
            await self._validator.validate(certificate, application)
        except ServiceError as exc:
            status = ua.StatusCode(exc.code)
            path = await asyncio.to_thread(self._rejected.keep, certificate)
            if path is None:
                kept = f"No copy kept: more than {REJECTED_WRITES_PER_MINUTE} were refused this minute"
            else:
                kept = f"A copy is in {path}; move it to {self._layout.trusted_certs} to trust it"
            log.warning(
                "refused client %s (%s, thumbprint %s): %s. %s",
                application.ApplicationUri,
                certificate.subject.rfc4514_string(),
                certificate_thumbprint(certificate),
                status.name,
                kept,
            )
            audit(
                "certificate",
                application=application.ApplicationUri,
                thumbprint=certificate_thumbprint(certificate),
                result=status.name,
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


# What the security policies the agent offers ask of a certificate (OPC UA Part 7 profiles for
# Basic256Sha256 and the two Aes policies): RSA keys of 2048 to 4096 bits, signed with SHA-256 or better.
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096
_WEAK_HASHES = ("md5", "sha1", "sha224")


def _check_strength(certificate: x509.Certificate) -> None:
    """BadCertificatePolicyCheckFailed for a key or signature weaker than the policies allow.

    asyncua's validator checks neither, and cryptography verifies a chain signed with SHA-1.
    """
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        size = key.key_size if isinstance(key, rsa.RSAPublicKey) else "non-RSA"
        log.warning("certificate %s: a %s-bit key is not allowed", certificate.subject.rfc4514_string(), size)
        raise ServiceError(ua.StatusCodes.BadCertificatePolicyCheckFailed)
    digest = certificate.signature_hash_algorithm
    if digest is None or digest.name in _WEAK_HASHES:
        log.warning(
            "certificate %s: signed with %s, weaker than SHA-256",
            certificate.subject.rfc4514_string(),
            digest.name if digest else "no hash",
        )
        raise ServiceError(ua.StatusCodes.BadCertificatePolicyCheckFailed)


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


def _read_crls(locations: list[Path]) -> list[tuple[Path, x509.CertificateRevocationList]]:
    crls: list[tuple[Path, x509.CertificateRevocationList]] = []
    for path in _files(locations):
        data = path.read_bytes()
        try:
            if data.lstrip().startswith(b"-----BEGIN"):
                crls.append((path, x509.load_pem_x509_crl(data)))
            else:
                crls.append((path, x509.load_der_x509_crl(data)))
        except ValueError as exc:
            log.warning("ignoring %s: not a CRL (%s)", path, exc)
    return crls


def _signed_by_its_issuer(crl: x509.CertificateRevocationList, certificates: list[x509.Certificate]) -> bool:
    for certificate in certificates:
        if certificate.subject != crl.issuer:
            continue
        try:
            if verifies_crl(certificate, crl):
                return True
        except (TypeError, ValueError):
            continue
    return False


def _file_stem(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else "certificate"
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", common_name).strip("._") or "certificate"
    return f"{safe[:64]}_{certificate_thumbprint(certificate)}"
