"""`device init`: the device makes its own key and asks the site CA to certify it.

The key is made on the device and never leaves it. Until the certificate is imported, the key waits
as private/key.pending.pem and a copy of the request as own/request.csr; the agent keeps using its
current certificate and key (a self-signed one, say) meanwhile, and `enroll import` puts both in place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.identity import PkiLayout

from .errors import InputError, ProvisioningError
from .files import check_output, private_key_pem, write_private, write_public
from .names import IPAddress, dns_name, uri
from .opcua_profile import EXTENDED_KEY_USAGE, KEY_USAGE, RSA_KEY_SIZES

DEFAULT_KEY_SIZE = 2048


def pending_key_path(layout: PkiLayout) -> Path:
    return layout.pending_private_key


def pending_request_path(layout: PkiLayout) -> Path:
    return layout.pending_request


@dataclass(frozen=True, slots=True)
class DeviceRequest:
    request: x509.CertificateSigningRequest
    key_path: Path
    replaces: list[str]
    """What this request will replace at import, which --force allowed."""

    @property
    def public_key_sha256(self) -> str:
        der = self.request.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).hexdigest()


def what_force_replaces(layout: PkiLayout) -> list[str]:
    """The provisioned identity, or the enrollment under way, that a new request would supersede."""
    found = []
    if pending_key_path(layout).exists():
        found.append(
            f"the enrollment under way (key {pending_key_path(layout)}, its certificate not imported)"
        )
    if layout.own_certificate.exists() and not is_self_signed_by_agent(layout):
        found.append(f"the provisioned certificate {layout.own_certificate} and its key {layout.private_key}")
    return found


def is_self_signed_by_agent(layout: PkiLayout) -> bool:
    """Whether own/cert.der is the one the agent made itself (see PkiLayout.self_signed_marker)."""
    try:
        recorded = layout.self_signed_marker.read_text().strip()
        der = layout.own_certificate.read_bytes()
    except FileNotFoundError:
        return False
    return recorded == hashlib.sha256(der).hexdigest()


def init_device(
    layout: PkiLayout,
    *,
    application_uri: str,
    subject: x509.Name,
    csr_file: Path,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[IPAddress] = (),
    key_size: int = DEFAULT_KEY_SIZE,
    force: bool = False,
) -> DeviceRequest:
    """Make the device's next key and write its CSR to ``csr_file``.

    ProvisioningError if the device is provisioned already or an enrollment is under way, unless ``force``.
    """
    application_uri = uri(application_uri)
    if key_size not in RSA_KEY_SIZES:
        raise InputError(f"--key-size must be one of {', '.join(map(str, RSA_KEY_SIZES))} (got {key_size})")
    check_output(csr_file)
    replaces = what_force_replaces(layout)
    if replaces and not force:
        raise ProvisioningError(
            f"refusing to make a new key: it would replace {' and '.join(replaces)}. "
            "Give --force to make one anyway; the current identity stays in use until `enroll import`"
        )
    names = [dns_name(name) for name in dns_names]
    layout.ensure()
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    request = build_request(key, subject, application_uri, names, ip_addresses)
    pem = request.public_bytes(serialization.Encoding.PEM)
    write_private(pending_key_path(layout), private_key_pem(key))
    write_public(pending_request_path(layout), pem)
    write_public(csr_file, pem)
    return DeviceRequest(request, pending_key_path(layout), replaces)


def build_request(
    key: rsa.RSAPrivateKey,
    subject: x509.Name,
    application_uri: str,
    dns_names: Sequence[str],
    ip_addresses: Sequence[IPAddress],
) -> x509.CertificateSigningRequest:
    """A CSR asking for what OPC UA needs; the CA enforces it anyway, the request only makes it visible."""
    alt_names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    alt_names += [x509.DNSName(name) for name in dict.fromkeys(dns_names)]
    alt_names += [x509.IPAddress(address) for address in dict.fromkeys(ip_addresses)]
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(KEY_USAGE, critical=True)
        .add_extension(EXTENDED_KEY_USAGE, critical=False)
        .sign(key, hashes.SHA256())
    )
