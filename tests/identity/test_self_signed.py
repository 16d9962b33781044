"""The application instance certificate the device makes for itself on first start."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from edge_agent.identity import (
    CertificateMismatchError,
    PkiLayout,
    build_self_signed_certificate,
    ensure_application_certificate,
    san_uris,
)

APP_URI = "urn:edge-agent:pump-17"
OPENSSL = shutil.which("openssl")


@pytest.fixture
def layout(tmp_path: Path) -> PkiLayout:
    return PkiLayout(tmp_path / "pki")


def make(layout: PkiLayout, application_uri: str = APP_URI) -> x509.Certificate:
    identity = ensure_application_certificate(
        layout, application_uri=application_uri, hostname="pump17", ip_addresses=["192.0.2.17"]
    )
    return identity.certificate


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
def test_private_key_is_readable_by_the_owner_only(layout: PkiLayout) -> None:
    make(layout)

    assert stat.S_IMODE(layout.private_key.stat().st_mode) == 0o600


def test_restart_reuses_the_certificate(layout: PkiLayout) -> None:
    first = make(layout)

    again = make(layout)

    assert again == first


def test_subject_alt_name_uri_is_the_application_uri(layout: PkiLayout) -> None:
    certificate = make(layout)

    assert san_uris(certificate) == [APP_URI]


def test_subject_alt_name_names_the_host_and_its_address(layout: PkiLayout) -> None:
    san = make(layout).extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert (
        san.get_values_for_type(x509.DNSName),
        [str(ip) for ip in san.get_values_for_type(x509.IPAddress)],
    ) == (
        ["pump17", "localhost"],
        ["192.0.2.17"],
    )


def test_certificate_is_an_opc_ua_application_instance_certificate(layout: PkiLayout) -> None:
    certificate = make(layout)
    extensions = certificate.extensions
    key_usage = extensions.get_extension_for_class(x509.KeyUsage)
    basic = extensions.get_extension_for_class(x509.BasicConstraints)

    assert (
        certificate.version,
        certificate.signature_hash_algorithm.name if certificate.signature_hash_algorithm else None,
        certificate.public_key().key_size,  # type: ignore[union-attr]
        (basic.critical, basic.value.ca),
        (
            key_usage.critical,
            key_usage.value.digital_signature,
            key_usage.value.content_commitment,
            key_usage.value.key_encipherment,
            key_usage.value.data_encipherment,
            key_usage.value.key_cert_sign,
        ),
        list(extensions.get_extension_for_class(x509.ExtendedKeyUsage).value),
        extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier,
    ) == (
        x509.Version.v3,
        "sha256",
        2048,
        (True, False),
        (True, True, True, True, True, True),
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest,
    )


def test_own_certificate_is_remade_for_a_new_application_uri(layout: PkiLayout) -> None:
    make(layout)

    remade = make(layout, application_uri="urn:edge-agent:pump-18")

    assert san_uris(remade) == ["urn:edge-agent:pump-18"]


def install_foreign_certificate(layout: PkiLayout, application_uri: str) -> bytes:
    """What provisioning does: a certificate (here self-signed elsewhere) and its key."""
    layout.ensure()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = build_self_signed_certificate(key, application_uri=application_uri, hostname="elsewhere")
    der = certificate.public_bytes(serialization.Encoding.DER)
    layout.own_certificate.write_bytes(der)
    layout.private_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return der


def test_installed_certificate_for_another_application_refuses_start(layout: PkiLayout) -> None:
    install_foreign_certificate(layout, "urn:someone-else:app")

    with pytest.raises(CertificateMismatchError, match="urn:someone-else:app"):
        make(layout)


def test_installed_certificate_for_another_application_is_left_alone(layout: PkiLayout) -> None:
    installed = install_foreign_certificate(layout, "urn:someone-else:app")

    with pytest.raises(CertificateMismatchError):
        make(layout)
    assert layout.own_certificate.read_bytes() == installed


def test_installed_certificate_for_this_application_is_used(layout: PkiLayout) -> None:
    installed = install_foreign_certificate(layout, APP_URI)

    certificate = make(layout)

    assert certificate.public_bytes(serialization.Encoding.DER) == installed


def test_certificate_whose_key_is_gone_is_remade_when_the_agent_made_it(layout: PkiLayout) -> None:
    first = make(layout)
    layout.private_key.unlink()

    remade = make(layout)

    assert remade.fingerprint(hashes.SHA256()) != first.fingerprint(hashes.SHA256())


@pytest.fixture
def certificate_pem(layout: PkiLayout, tmp_path: Path) -> Path:
    pem = tmp_path / "cert.pem"
    pem.write_bytes(make(layout).public_bytes(serialization.Encoding.PEM))
    return pem


@pytest.mark.skipif(OPENSSL is None, reason="no openssl binary on this machine")
def test_openssl_verifies_the_self_signed_certificate(certificate_pem: Path) -> None:
    assert OPENSSL is not None
    result = subprocess.run(
        [OPENSSL, "verify", "-x509_strict", "-CAfile", str(certificate_pem), str(certificate_pem)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stdout.strip()) == (0, f"{certificate_pem}: OK")


@pytest.mark.skipif(OPENSSL is None, reason="no openssl binary on this machine")
def test_openssl_reads_the_application_uri_from_the_certificate(certificate_pem: Path) -> None:
    assert OPENSSL is not None
    result = subprocess.run(
        [OPENSSL, "x509", "-in", str(certificate_pem), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    )

    assert f"URI:{APP_URI}" in result.stdout
