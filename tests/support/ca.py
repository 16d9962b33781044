"""Certificate authorities, the client certificates they issue and their CRLs, made in memory; and the
verdict of a trust list on a client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asyncua import ua
from asyncua.common.utils import ServiceError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge_agent.opcua.trust import TrustListValidator
from tests.support.opcua import CLIENT_URI

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_ca(name: str, issuer: Issued | None = None) -> Issued:
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer = issuer or Issued(None, key)  # type: ignore[arg-type]
    issuer_name = issuer.certificate.subject if issuer else subject
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()), critical=False
        )
        .sign(signer.key, hashes.SHA256())
    )
    return Issued(certificate, key)


def issue_client(ca: Issued, application_uri: str = CLIENT_URI) -> Issued:
    key = new_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(application_uri)]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(certificate, key)


def revoke(ca: Issued, *revoked: Issued, signed_with: rsa.RSAPrivateKey | None = None) -> bytes:
    """A CRL of ``ca`` revoking ``revoked``; signed with ``signed_with`` instead of the CA key if given."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(NOW - timedelta(hours=1))
        .next_update(NOW + timedelta(days=30))
    )
    for issued in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(issued.certificate.serial_number)
            .revocation_date(NOW - timedelta(minutes=5))
            .build()
        )
    return builder.sign(signed_with or ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def client_application(uri: str = CLIENT_URI) -> ua.ApplicationDescription:
    return ua.ApplicationDescription(ApplicationUri=uri, ApplicationType=ua.ApplicationType.Client)


async def verdict(
    validator: TrustListValidator, certificate: x509.Certificate, application: ua.ApplicationDescription
) -> str:
    """ "accepted", or the name of the status code the client would get."""
    try:
        await validator(certificate, application)
    except ServiceError as exc:
        return ua.StatusCode(exc.code).name
    return "accepted"
