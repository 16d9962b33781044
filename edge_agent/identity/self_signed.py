"""The device's application instance certificate: made on the device on first start, reused after.

The certificate follows OPC UA Part 6 (6.2.2) for self-signed application instance certificates, with
the choices UA-.NETStandard makes where Part 6 leaves room:

- RSA 2048 / SHA-256, which every RSA security policy the agent offers accepts;
- subject CN ``edge-agent@<host>`` (+ O when the caller knows the organisation);
- subjectAltName: the application URI (clients check it against the server's ApplicationUri), the
  host name and ``localhost`` as DNS names, and the endpoint's address when it is a fixed IP;
- basicConstraints cA=FALSE, critical: it identifies one application, it is no CA;
- keyUsage digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment and, because Part 6
  asks it of self-signed certificates, keyCertSign (so that verifiers can check its own signature);
- extendedKeyUsage serverAuth and clientAuth; subject and authority key identifiers;
- valid one year, starting a day early so that peers whose clock lags still accept it.

A certificate someone else installed (for instance one signed by a site CA) is never replaced. If it
names another application URI, does not fit its key, has expired or is not valid yet, the agent
refuses to start: that is a misconfiguration to fix (the message says how), not to paper over.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import socket
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .expiry import CertificateStatus, renew_command, status
from .layout import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, PkiLayout, write_atomically

log = logging.getLogger(__name__)

RSA_KEY_BITS = 2048
VALIDITY = timedelta(days=365)
BACKDATE = timedelta(days=1)
COMMON_NAME_PREFIX = "edge-agent@"
# X.520 upper bound for a common name; cryptography refuses longer ones.
COMMON_NAME_MAX = 64


class IdentityError(Exception):
    """The device's own certificate or key cannot be used."""


class CertificateMismatchError(IdentityError):
    """The installed certificate belongs to another application (or to another key)."""


class CertificateValidityError(IdentityError):
    """The installed (provisioned) certificate has expired or is not valid yet."""


@dataclass(frozen=True, slots=True)
class ApplicationIdentity:
    """The certificate and key the OPC UA server presents."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey
    made_here: bool
    """True when the agent made (and may remake) this certificate itself."""
    created: bool
    """True when it was made during this call."""

    @property
    def thumbprint(self) -> str:
        return certificate_thumbprint(self.certificate)


def certificate_thumbprint(certificate: x509.Certificate) -> str:
    """The SHA-1 thumbprint, the form in which OPC UA tools show a certificate to an administrator."""
    return certificate.fingerprint(hashes.SHA1()).hex().upper()


def san_uris(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(san.get_values_for_type(x509.UniformResourceIdentifier))


def ensure_application_certificate(
    layout: PkiLayout,
    *,
    application_uri: str,
    hostname: str | None = None,
    ip_addresses: Sequence[str] = (),
    organization: str | None = None,
) -> ApplicationIdentity:
    """Load the device's certificate and key, making them on first start.

    Raises CertificateMismatchError when an installed certificate does not fit this application or
    its key, and CertificateValidityError when an installed one has expired or is not valid yet: a
    provisioned identity is never silently replaced by a self-signed one.
    This does blocking file I/O and, on first start, RSA key generation: call it from a thread.
    """
    layout.ensure()
    host = hostname or socket.gethostname()

    def make() -> ApplicationIdentity:
        return _make_and_store(layout, application_uri, host, ip_addresses, organization)

    if not layout.own_certificate.exists():
        return make()

    certificate = x509.load_der_x509_certificate(layout.own_certificate.read_bytes())
    made_here = _made_here(layout, certificate)
    problem = _mismatch(certificate, application_uri)
    key: rsa.RSAPrivateKey | None = None
    key_problem = False
    if problem is None:
        key, problem = _load_matching_key(layout, certificate)
        key_problem = problem is not None

    if problem is not None:
        if made_here:
            log.warning("regenerating the device's self-signed certificate: %s", problem)
            return make()
        if key_problem:
            advice = (
                "finish the enrollment under way (`edge-provision enroll import` of the certificate issued "
                f"for this key), or get a certificate for a new key: {renew_command(layout.root)} --force"
            )
        else:
            advice = (
                f"install a certificate for {application_uri!r} with its key, or remove "
                f"{layout.own_certificate} to let edge-agent make a self-signed one"
            )
        message = (
            f"{layout.own_certificate} cannot be used: {problem}. It was not made by edge-agent, so it "
            f"is left alone: {advice}"
        )
        log.error("%s", message)
        raise CertificateMismatchError(message)

    assert key is not None
    now = datetime.now(UTC)
    if made_here:
        if status(certificate, now) is CertificateStatus.EXPIRED:
            log.warning("the device's self-signed certificate expired; making a new one")
            return make()
    else:
        _refuse_outside_validity(layout, certificate, now)
    return ApplicationIdentity(certificate, key, made_here=made_here, created=False)


def _refuse_outside_validity(layout: PkiLayout, certificate: x509.Certificate, now: datetime) -> None:
    current = status(certificate, now)
    if current is CertificateStatus.EXPIRED:
        message = (
            f"{layout.own_certificate} expired on {certificate.not_valid_after_utc.isoformat()}: OPC UA "
            f"clients refuse it, so edge-agent does not serve with it. Get a new certificate: "
            f"{renew_command(layout.root)} (or `edge-provision renew --pki {layout.root} --offline -o "
            "CSR_FILE`, have the site CA sign it and `edge-provision enroll import` the certificate)"
        )
    elif current is CertificateStatus.NOT_YET_VALID:
        message = (
            f"{layout.own_certificate} is not valid before {certificate.not_valid_before_utc.isoformat()} "
            f"and this device's clock says {now.isoformat(timespec='seconds')}: set the clock (is NTP "
            f"reachable?), or, if the certificate is wrong, get a new one: {renew_command(layout.root)} "
            "--force"
        )
    else:
        return
    log.error("%s", message)
    raise CertificateValidityError(message)


def _mismatch(certificate: x509.Certificate, application_uri: str) -> str | None:
    uris = san_uris(certificate)
    if application_uri not in uris:
        found = ", ".join(uris) if uris else "none"
        return f"its subjectAltName URI ({found}) is not the application URI {application_uri!r}"
    return None


def _load_matching_key(
    layout: PkiLayout, certificate: x509.Certificate
) -> tuple[rsa.RSAPrivateKey | None, str | None]:
    path = layout.private_key
    if not path.exists():
        return None, f"its private key {path} is missing"
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s had mode %o; setting it to %o", path, mode, PRIVATE_FILE_MODE)
        os.chmod(path, PRIVATE_FILE_MODE)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        return None, f"its private key {path} cannot be read ({exc})"
    if not isinstance(key, rsa.RSAPrivateKey):
        return None, f"its private key {path} is not an RSA key"
    public_key = certificate.public_key()
    if (
        not isinstance(public_key, rsa.RSAPublicKey)
        or key.public_key().public_numbers() != public_key.public_numbers()
    ):
        return None, f"its private key {path} belongs to another certificate"
    return key, None


def _made_here(layout: PkiLayout, certificate: x509.Certificate) -> bool:
    try:
        recorded = layout.self_signed_marker.read_text().strip()
    except FileNotFoundError:
        return False
    return recorded == _sha256(certificate) and certificate.issuer == certificate.subject


def _sha256(certificate: x509.Certificate) -> str:
    der = certificate.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def _make_and_store(
    layout: PkiLayout,
    application_uri: str,
    hostname: str,
    ip_addresses: Sequence[str],
    organization: str | None,
) -> ApplicationIdentity:
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    certificate = build_self_signed_certificate(
        key,
        application_uri=application_uri,
        hostname=hostname,
        ip_addresses=ip_addresses,
        organization=organization,
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Key first: a crash before the certificate is written leaves the old certificate with a key
    # that does not match it, which the next start notices and repairs.
    write_atomically(layout.private_key, pem, PRIVATE_FILE_MODE)
    write_atomically(
        layout.own_certificate, certificate.public_bytes(serialization.Encoding.DER), PUBLIC_FILE_MODE
    )
    write_atomically(layout.self_signed_marker, f"{_sha256(certificate)}\n".encode(), PUBLIC_FILE_MODE)
    identity = ApplicationIdentity(certificate, key, made_here=True, created=True)
    log.info(
        "made a self-signed application instance certificate for %s (thumbprint %s) in %s",
        application_uri,
        identity.thumbprint,
        layout.own_certificate,
    )
    return identity


def build_self_signed_certificate(
    key: rsa.RSAPrivateKey,
    *,
    application_uri: str,
    hostname: str,
    ip_addresses: Sequence[str] = (),
    organization: str | None = None,
    now: datetime | None = None,
) -> x509.Certificate:
    """A self-signed OPC UA application instance certificate for ``key`` (see the module docstring)."""
    now = now or datetime.now(UTC)
    name_attributes = [x509.NameAttribute(NameOID.COMMON_NAME, _common_name(hostname))]
    if organization:
        name_attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    name = x509.Name(name_attributes)
    serial = x509.random_serial_number()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())

    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName(_alt_names(application_uri, hostname, ip_addresses)),
            critical=False,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier(
                key_identifier=ski.digest,
                authority_cert_issuer=[x509.DirectoryName(name)],
                authority_cert_serial_number=serial,
            ),
            critical=False,
        )
    )
    return builder.sign(key, hashes.SHA256())


def _common_name(hostname: str) -> str:
    return (COMMON_NAME_PREFIX + hostname)[:COMMON_NAME_MAX]


def _alt_names(application_uri: str, hostname: str, ip_addresses: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    for dns in dict.fromkeys((hostname, "localhost")):
        if dns and dns.isascii():
            names.append(x509.DNSName(dns))
    for text in dict.fromkeys(ip_addresses):
        address = ipaddress.ip_address(text)
        # A wildcard bind address names no machine; clients cannot connect to it.
        if not address.is_unspecified:
            names.append(x509.IPAddress(address))
    return names
