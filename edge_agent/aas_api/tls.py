"""The HTTPS face's TLS context: the application certificate; client certificates from the trust list."""

from __future__ import annotations

import logging
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..identity import PkiLayout

log = logging.getLogger(__name__)

_CERTIFICATE_SUFFIXES = {".der", ".crt", ".cer", ".pem"}


class TlsSetupError(RuntimeError):
    """The PKI store cannot make a TLS context; the message names the file."""


def server_tls_context(pki: PkiLayout) -> ssl.SSLContext:
    """TLS 1.2 or newer with the application certificate and key of ``pki``.

    A client may show a certificate (one issued by a CA of trusted/certs, or itself in it): the users file
    maps it to a user. Without one, HTTP Basic credentials identify the user.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_own_certificate(context, pki)
    anchors = _trusted(pki.trusted_certs)
    if anchors:
        # As in the OPC UA trust list, whatever is in trusted/certs is trusted, a CA or a client itself.
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        context.load_verify_locations(cadata=b"".join(anchors))
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def _load_own_certificate(context: ssl.SSLContext, pki: PkiLayout) -> None:
    try:
        data = pki.own_certificate.read_bytes()
        certificate = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except (OSError, ValueError) as exc:
        raise TlsSetupError(f"application certificate {pki.own_certificate}: {exc}") from None
    # OpenSSL reads a certificate from a PEM file only; the PKI store keeps it as DER.
    with tempfile.NamedTemporaryFile(suffix=".pem") as pem_file:
        pem_file.write(certificate.public_bytes(serialization.Encoding.PEM))
        pem_file.flush()
        try:
            context.load_cert_chain(pem_file.name, str(pki.private_key))
        except (ssl.SSLError, OSError) as exc:
            raise TlsSetupError(
                f"private key {pki.private_key} cannot be used with the certificate: {exc}"
            ) from None


def _trusted(directory: Path) -> list[bytes]:
    """The DER of each certificate in ``directory``; unreadable files are skipped with a warning."""
    found: list[bytes] = []
    if not directory.is_dir():
        return found
    for entry in sorted(directory.iterdir()):
        if entry.suffix.lower() not in _CERTIFICATE_SUFFIXES or not entry.is_file():
            continue
        try:
            data = entry.read_bytes()
            certificates = (
                x509.load_pem_x509_certificates(data)
                if b"-----BEGIN" in data
                else [x509.load_der_x509_certificate(data)]
            )
        except (OSError, ValueError) as exc:
            log.warning("skipped %s of the trust list: %s", entry, exc)
            continue
        found += [certificate.public_bytes(serialization.Encoding.DER) for certificate in certificates]
    return found
