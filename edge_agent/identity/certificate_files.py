"""Certificates from files for a TLS context: the trust anchors of a file or directory, PEM or DER, and the
agent's own certificate chain handed to OpenSSL.

Every TLS face of the agent (MQTT to a broker, the HTTP API, its registration) reads its certificates so.
"""

from __future__ import annotations

import logging
import ssl
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

log = logging.getLogger(__name__)

CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")
"""The files of a directory that are read as certificates; others (CRLs, notes) are passed over."""


class CertificateFileError(ValueError):
    """A certificate file that cannot be read; the message is the reason, without the file's name."""


def read_certificates(path: Path) -> list[x509.Certificate]:
    """The certificates of one file, PEM (one or more) or DER (one); CertificateFileError if it has none."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CertificateFileError(exc.strerror or str(exc)) from None
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise CertificateFileError("not a PEM or DER certificate") from None


def certificates_in(paths: Iterable[Path], what: str, *, required: bool = True) -> list[x509.Certificate]:
    """The certificates in ``paths``: files, or directories whose certificate files are read.

    A file named in ``paths`` that cannot be read raises CertificateFileError ("``what`` PATH: reason"),
    unless it does not exist and ``required`` is false; an unreadable file inside a directory is skipped
    with a warning, as the OPC UA trust list does.
    """
    found: list[x509.Certificate] = []
    for path in paths:
        if path.is_dir():
            for entry in sorted(path.iterdir()):
                if entry.suffix.lower() not in CERTIFICATE_SUFFIXES or not entry.is_file():
                    continue
                try:
                    found += read_certificates(entry)
                except CertificateFileError as exc:
                    log.warning("skipped: %s %s: %s", what, entry, exc)
        elif path.exists() or required:
            try:
                found += read_certificates(path)
            except CertificateFileError as exc:
                raise CertificateFileError(f"{what} {path}: {exc}") from None
    return found


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def load_chain(context: ssl.SSLContext, chain: Sequence[x509.Certificate], private_key: Path) -> None:
    """Give ``context`` the certificate ``chain`` (own certificate first) and its key.

    Raises ssl.SSLError (a key that does not fit, or is encrypted) or OSError (the key file) as OpenSSL
    does; the caller says which file.
    """
    # OpenSSL reads a certificate chain from a PEM file only; the PKI store keeps its certificate as DER.
    with tempfile.NamedTemporaryFile(suffix=".pem") as pem_file:
        pem_file.write(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        pem_file.flush()
        context.load_cert_chain(pem_file.name, str(private_key))
