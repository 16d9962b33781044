"""The HTTPS face's TLS context: the application certificate; client certificates from the trust list."""

from __future__ import annotations

import ssl

from ..identity import PkiLayout
from ..identity.certificate_files import CertificateFileError, certificates_in, der, load_chain


class TlsSetupError(RuntimeError):
    """The PKI store cannot make a TLS context; the message names the file."""


def server_tls_context(pki: PkiLayout) -> ssl.SSLContext:
    """TLS 1.2 or newer with the application certificate and key of ``pki``.

    A client may show a certificate (one issued by a CA of trusted/certs, or itself in it): the users file
    maps it to a user. Without one, HTTP Basic credentials identify the user.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        own = certificates_in([pki.own_certificate], "application certificate")
        anchors = certificates_in([pki.trusted_certs], "trusted certificates", required=False)
    except CertificateFileError as exc:
        raise TlsSetupError(str(exc)) from None
    try:
        load_chain(context, own[:1], pki.private_key)
    except (ssl.SSLError, OSError) as exc:
        unfit = f"private key {pki.private_key} cannot be used with the certificate: {exc}"
        raise TlsSetupError(unfit) from None
    if anchors:
        # As in the OPC UA trust list, whatever is in trusted/certs is trusted, a CA or a client itself.
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        context.load_verify_locations(cadata=b"".join(der(certificate) for certificate in anchors))
        context.verify_mode = ssl.CERT_OPTIONAL
    return context
