"""What a certificate is, and whether it chains up to an anchor: the one statement of these checks.

The chain policy is the one asyncua's TrustStore applies to the agent's OPC UA peers (any extension is
allowed, an issuer must be a CA), so a signer of configs and models, a certificate `edge-provision`
enrolls and a client the server admits are judged alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.verification import ClientVerifier, Criticality, ExtensionPolicy, PolicyBuilder, Store


def is_ca(certificate: x509.Certificate) -> bool:
    """Whether its basicConstraints say cA=TRUE."""
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def is_self_signed(certificate: x509.Certificate) -> bool:
    """Whether it names itself as issuer and its own key verifies its signature."""
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_root(certificate: x509.Certificate) -> bool:
    """A self-signed CA: the top of a chain."""
    return is_ca(certificate) and is_self_signed(certificate)


def verifies_crl(issuer: x509.Certificate, crl: x509.CertificateRevocationList) -> bool:
    """Whether ``issuer``'s key verifies ``crl``'s signature.

    TypeError when the key is of a kind that cannot sign (X25519, X448, ML-KEM), as cryptography raises.
    """
    # public_key() may be such a key-agreement key, which is_signature_valid's parameter type leaves
    # out; the union cannot be narrowed alike on every cryptography the project allows (42 has no
    # ML-KEM classes to test against), so the run-time TypeError is the check.
    return crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]


def _issuer_is_ca(
    _policy: x509.verification.Policy, _certificate: x509.Certificate, value: x509.BasicConstraints
) -> None:
    if not value.ca:
        raise ValueError("an issuer must have basicConstraints cA=TRUE")


def chain_verifier(anchors: Sequence[x509.Certificate], now: datetime) -> ClientVerifier:
    """A verifier of chains up to ``anchors`` at ``now``: signatures, validity, path length and name
    constraints, with the extension policy described above."""
    return (
        PolicyBuilder()
        .time(now)
        .store(Store(list(anchors)))
        .extension_policies(
            ca_policy=ExtensionPolicy.permit_all().require_present(
                x509.BasicConstraints, Criticality.AGNOSTIC, _issuer_is_ca
            ),
            ee_policy=ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )


def chain_problem(
    certificate: x509.Certificate,
    anchor: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    now: datetime,
) -> str | None:
    """Why ``certificate`` does not verify up to ``anchor`` at ``now``, or None if it does."""
    try:
        chain_verifier([anchor], now).verify(certificate, list(intermediates))
    except x509.verification.VerificationError as exc:
        return str(exc)
    return None
