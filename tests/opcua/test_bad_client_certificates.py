"""Bad client application certificates, each refused with the status code that says what is wrong."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge_agent.identity import PkiLayout
from edge_agent.opcua.trust import TrustListValidator
from tests.support.ca import NOW, Issued, client_application, make_ca, revoke, verdict
from tests.support.opcua import CLIENT_URI

FULL_USAGE: dict[str, bool] = {
    "digital_signature": True,
    "content_commitment": True,
    "key_encipherment": True,
    "data_encipherment": True,
    "key_agreement": False,
    "key_cert_sign": False,
    "crl_sign": False,
    "encipher_only": False,
    "decipher_only": False,
}


def client_certificate(
    ca: Issued,
    *,
    uri: str = CLIENT_URI,
    key_size: int = 2048,
    not_before: timedelta = timedelta(days=-1),
    not_after: timedelta = timedelta(days=365),
    usage: dict[str, bool] | None = None,
    digest: Any = None,
) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + not_before)
        .not_valid_after(NOW + not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**(usage or FULL_USAGE)), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    return builder.sign(ca.key, digest or hashes.SHA256())


def with_broken_signature(certificate: x509.Certificate) -> x509.Certificate:
    der = bytearray(certificate.public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0xFF  # inside the signature value
    return x509.load_der_x509_certificate(bytes(der))


@pytest.fixture(scope="module")
def site_ca() -> Issued:
    return make_ca("site CA")


@pytest.fixture(scope="module")
def stranger_ca() -> Issued:
    return make_ca("stranger CA")


@pytest.fixture
def validator(tmp_path: Path, site_ca: Issued) -> TrustListValidator:
    layout = PkiLayout(tmp_path / "pki")
    layout.ensure()
    (layout.trusted_certs / "site-ca.der").write_bytes(site_ca.der)
    (layout.trusted_crl / "site-ca.crl").write_bytes(revoke(site_ca))
    return TrustListValidator(layout)


def no_usage(**changes: bool) -> dict[str, bool]:
    return FULL_USAGE | changes


CASES = {
    "expired": (
        "BadCertificateTimeInvalid",
        {"not_before": timedelta(days=-400), "not_after": timedelta(days=-1)},
    ),
    "not yet valid": (
        "BadCertificateTimeInvalid",
        {"not_before": timedelta(days=2), "not_after": timedelta(days=400)},
    ),
    "wrong SAN URI": ("BadCertificateUriInvalid", {"uri": "urn:someone:else"}),
    "no digitalSignature": ("BadCertificateUseNotAllowed", {"usage": no_usage(digital_signature=False)}),
    "no keyEncipherment": ("BadCertificateUseNotAllowed", {"usage": no_usage(key_encipherment=False)}),
    "RSA-1024": ("BadCertificatePolicyCheckFailed", {"key_size": 1024}),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_flawed_certificate_of_a_trusted_ca_is_refused(
    validator: TrustListValidator, site_ca: Issued, case: str
) -> None:
    expected, flaw = CASES[case]
    certificate = client_certificate(site_ca, **flaw)
    assert await verdict(validator, certificate, client_application()) == expected


def sha1_certificate(ca: Issued, directory: Path) -> x509.Certificate:
    """A certificate of ``ca`` signed with SHA-1: cryptography no longer makes those, openssl still does."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "client")]))
        .add_extension(x509.KeyUsage(**FULL_USAGE), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(CLIENT_URI)]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    files = {name: directory / name for name in ("request.pem", "ca.pem", "ca.key", "client.pem")}
    files["request.pem"].write_bytes(request.public_bytes(serialization.Encoding.PEM))
    files["ca.pem"].write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    files["ca.key"].write_bytes(
        ca.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    command = ["openssl", "x509", "-req", "-in", files["request.pem"], "-CA", files["ca.pem"]]
    command += ["-CAkey", files["ca.key"], "-set_serial", "4711", "-sha1", "-days", "30"]
    command += ["-copy_extensions", "copyall", "-out", files["client.pem"]]
    subprocess.run(command, check=True, capture_output=True)
    certificate = x509.load_pem_x509_certificate(files["client.pem"].read_bytes())
    assert certificate.signature_hash_algorithm is not None
    assert certificate.signature_hash_algorithm.name == "sha1"
    return certificate


async def test_a_certificate_signed_with_sha1_is_refused(
    validator: TrustListValidator, site_ca: Issued, tmp_path: Path
) -> None:
    certificate = sha1_certificate(site_ca, tmp_path)
    assert await verdict(validator, certificate, client_application()) == "BadCertificatePolicyCheckFailed"


async def test_a_certificate_with_a_broken_signature_is_refused(
    validator: TrustListValidator, site_ca: Issued
) -> None:
    certificate = with_broken_signature(client_certificate(site_ca))
    assert await verdict(validator, certificate, client_application()) == "BadCertificateUntrusted"


async def test_a_certificate_from_an_untrusted_intermediate_is_refused(
    validator: TrustListValidator, site_ca: Issued
) -> None:
    intermediate = make_ca("line 3 CA", issuer=site_ca)  # neither in trusted/ nor in issuers/
    certificate = client_certificate(intermediate)
    assert await verdict(validator, certificate, client_application()) == "BadCertificateUntrusted"


async def test_a_certificate_of_a_stranger_is_refused(
    validator: TrustListValidator, stranger_ca: Issued
) -> None:
    certificate = client_certificate(stranger_ca)
    assert await verdict(validator, certificate, client_application()) == "BadCertificateUntrusted"


async def test_a_revoked_certificate_is_refused(tmp_path: Path, site_ca: Issued) -> None:
    layout = PkiLayout(tmp_path / "pki")
    layout.ensure()
    (layout.trusted_certs / "site-ca.der").write_bytes(site_ca.der)
    certificate = client_certificate(site_ca)
    revoked = Issued(certificate, site_ca.key)
    (layout.trusted_crl / "site-ca.crl").write_bytes(revoke(site_ca, revoked))
    assert (
        await verdict(TrustListValidator(layout), certificate, client_application())
        == "BadCertificateRevoked"
    )


async def test_a_crl_signed_by_a_stranger_leaves_revocation_unknown(
    tmp_path: Path, site_ca: Issued, stranger_ca: Issued
) -> None:
    layout = PkiLayout(tmp_path / "pki")
    layout.ensure()
    (layout.trusted_certs / "site-ca.der").write_bytes(site_ca.der)
    (layout.trusted_crl / "site-ca.crl").write_bytes(revoke(site_ca, signed_with=stranger_ca.key))
    certificate = client_certificate(site_ca)
    verdict_given = await verdict(TrustListValidator(layout), certificate, client_application())
    assert verdict_given == ua.StatusCode(ua.StatusCodes.BadCertificateRevocationUnknown).name


async def test_a_sound_certificate_of_the_trusted_ca_is_accepted(
    validator: TrustListValidator, site_ca: Issued
) -> None:
    assert await verdict(validator, client_certificate(site_ca), client_application()) == "accepted"
