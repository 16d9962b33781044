"""`enroll import`: the last step of offline enrollment, on the device.

Every check runs before anything is written, so a certificate that does not fit changes nothing.
Then the files are replaced in an order that never lets the agent discard the new key: the CA into
trusted/certs, the certificate into own/cert.der, the key into private/key.pem, and the self-signed
marker goes. A crash in between leaves a certificate the agent refuses to start with (never one it
regenerates), and running the import again completes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_agent.identity import PkiLayout, certificate_thumbprint
from edge_agent.identity.certificates import chain_problem, is_self_signed

from .device import is_self_signed_by_agent, pending_key_path, pending_request_path
from .errors import InputError, ProvisioningError, VerificationFailed
from .files import load_request, load_rsa_private_key, read_input, write_private, write_public
from .opcua_profile import alt_names, application_uris, usage_problems
from .validity import utc_now


@dataclass(frozen=True, slots=True)
class Enrolled:
    certificate: x509.Certificate
    trusted_ca: Path
    issuers: list[Path]
    replaced_self_signed: bool


def import_certificate(
    layout: PkiLayout,
    certificates: Sequence[x509.Certificate],
    *,
    ca: x509.Certificate | None = None,
    application_uri: str | None = None,
    now: datetime | None = None,
) -> Enrolled:
    """Install ``certificates[0]`` as the device's certificate, with the CA that issued it as trusted.

    ``certificates`` is the device certificate and optionally its chain (as `ca sign` writes it); the
    trust anchor is ``ca`` or else the self-signed certificate in the chain.
    VerificationFailed, with every reason, when the certificate does not fit this device.
    """
    if not certificates:
        raise InputError("no certificate to import")
    leaf, rest = certificates[0], list(certificates[1:])
    anchor = ca or next((c for c in rest if is_self_signed(c)), None)
    if anchor is None:
        raise InputError("the file holds no CA certificate to verify the chain with: give --ca CA_CERT")
    # Other roots in the file are not trusted for being there: only the anchor is.
    intermediates = [c for c in rest if c != anchor and not is_self_signed(c)]
    key_path = pending_key_path(layout) if pending_key_path(layout).exists() else layout.private_key
    if not key_path.exists():
        raise ProvisioningError(f"{layout.root} holds no device key: run `edge-provision device init` first")
    expected_uri = application_uri or _requested_uri(layout)

    at = utc_now(now)
    problems = _problems(
        leaf, anchor=anchor, intermediates=intermediates, key_path=key_path, expected_uri=expected_uri, at=at
    )
    if problems:
        raise VerificationFailed("the certificate is not installed: " + "; ".join(problems))

    layout.ensure()
    trusted = layout.trusted_certs / f"{_file_stem(anchor)}.der"
    write_public(trusted, _der(anchor))
    issuers = [layout.issuer_certs / f"{_file_stem(c)}.der" for c in intermediates]
    for path, certificate in zip(issuers, intermediates, strict=True):
        write_public(path, _der(certificate))
    replaced_self_signed = is_self_signed_by_agent(layout)
    write_public(layout.own_certificate, _der(leaf))
    if key_path != layout.private_key:
        write_private(layout.private_key, read_input(key_path, "device key"))
    layout.self_signed_marker.unlink(missing_ok=True)
    pending_key_path(layout).unlink(missing_ok=True)
    pending_request_path(layout).unlink(missing_ok=True)
    return Enrolled(leaf, trusted, issuers, replaced_self_signed)


def _problems(
    leaf: x509.Certificate,
    *,
    anchor: x509.Certificate,
    intermediates: list[x509.Certificate],
    key_path: Path,
    expected_uri: str,
    at: datetime,
) -> list[str]:
    problems = []
    if leaf.public_key() != load_rsa_private_key(key_path).public_key():
        problems.append(
            f"it certifies another key, not this device's {key_path.name} (issued for another CSR?)"
        )
    if at < leaf.not_valid_before_utc:
        problems.append(f"it is not valid before {leaf.not_valid_before_utc.isoformat()}")
    elif at >= leaf.not_valid_after_utc:
        problems.append(f"it expired on {leaf.not_valid_after_utc.isoformat()}")
    else:
        reason = chain_problem(leaf, anchor, intermediates, at)
        if reason is not None:
            problems.append(f"it does not chain up to the CA {anchor.subject.rfc4514_string()!r}: {reason}")
    problems += usage_problems(leaf)
    uris = application_uris(alt_names(leaf.extensions))
    if uris != [expected_uri]:
        found = ", ".join(uris) or "none"
        problems.append(f"its subjectAltName URI ({found}) is not the application URI {expected_uri!r}")
    return problems


def _requested_uri(layout: PkiLayout) -> str:
    path = pending_request_path(layout)
    if not path.exists():
        raise InputError(
            f"no request of this device is waiting ({path} does not exist): "
            "give --application-uri to say which application the certificate is for"
        )
    uris = application_uris(alt_names(load_request(path).extensions))
    if len(uris) != 1:
        raise InputError(f"{path} does not name one application URI: give --application-uri")
    return uris[0]


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _file_stem(certificate: x509.Certificate) -> str:
    # The form the agent's rejected/ uses: readable name, then the thumbprint that makes it unique.
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else "certificate"
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", common_name).strip("._") or "certificate"
    return f"{safe[:64]}_{certificate_thumbprint(certificate)}"
