"""Whether a certificate chains up to a CA, judged as the agent's trust list judges its peers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store


def _is_ca(
    _policy: x509.verification.Policy, _certificate: x509.Certificate, value: x509.BasicConstraints
) -> None:
    if not value.ca:
        raise ValueError("an issuer must have basicConstraints cA=TRUE")


def chain_problem(
    certificate: x509.Certificate,
    anchor: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    now: datetime,
) -> str | None:
    """Why ``certificate`` does not verify up to ``anchor`` at ``now``, or None if it does.

    The extension policies are those asyncua's TrustStore (and so the agent) applies: any extension is
    allowed, an issuer must be a CA. Signatures, validity, path length and name constraints are checked.
    """
    verifier = (
        PolicyBuilder()
        .time(now)
        .store(Store([anchor]))
        .extension_policies(
            ca_policy=ExtensionPolicy.permit_all().require_present(
                x509.BasicConstraints, Criticality.AGNOSTIC, _is_ca
            ),
            ee_policy=ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, list(intermediates))
    except x509.verification.VerificationError as exc:
        return str(exc)
    return None
