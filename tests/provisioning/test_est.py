"""`enroll est` and `renew`: a device gets and renews its certificate from a real EST server over HTTPS."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_agent.identity import PkiLayout, ensure_application_certificate
from provisioning.ca_store import SiteCa

from .est_server import EstTestServer, Received, running_est_server
from .steps import APP_URI, make_ca, mode, needs_openssl, openssl, provision, snapshot

USER = "pump17"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def est_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EstTestServer]:
    directory = tmp_path_factory.mktemp("est")
    site_ca = make_ca(directory / "ca", uris=["urn:acme:plant3"])
    with running_est_server(site_ca, directory, {USER: PASSWORD}) as server:
        yield server


@pytest.fixture
def est(est_server: EstTestServer) -> EstTestServer:
    est_server.valid_days = 730
    est_server.received.clear()
    return est_server


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password.txt"
    path.write_text(f"{PASSWORD}\n")
    return path


@pytest.fixture
def device(tmp_path: Path) -> PkiLayout:
    """A device whose agent has run once: it serves with the certificate it made itself."""
    layout = PkiLayout(tmp_path / "pki")
    ensure_application_certificate(layout, application_uri=APP_URI, hostname="pump17")
    return layout


def enroll_est(
    layout: PkiLayout, est: EstTestServer, password_file: Path, *extra: str | Path
) -> subprocess.CompletedProcess[str]:
    return provision(
        "enroll",
        "est",
        "--pki",
        layout.root,
        "--server",
        est.url,
        "--ca-cert",
        est.tls_ca,
        "--user",
        USER,
        "--password-file",
        password_file,
        *extra,
    )


def enrolled(layout: PkiLayout, est: EstTestServer, password_file: Path) -> x509.Certificate:
    result = enroll_est(layout, est, password_file)
    assert result.returncode == 0, result.stderr
    return installed_certificate(layout)


def installed_certificate(layout: PkiLayout) -> x509.Certificate:
    return x509.load_der_x509_certificate(layout.own_certificate.read_bytes())


def public_key_der(layout: PkiLayout) -> bytes:
    key = serialization.load_pem_private_key(layout.private_key.read_bytes(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def to_pem(der_file: Path, pem_file: Path) -> Path:
    certificate = x509.load_der_x509_certificate(der_file.read_bytes())
    pem_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return pem_file


@needs_openssl
def test_enrollment_installs_a_certificate_that_openssl_verifies_against_the_installed_ca(
    device: PkiLayout, est: EstTestServer, password_file: Path, tmp_path: Path
) -> None:
    result = enroll_est(device, est, password_file)

    assert result.returncode == 0, result.stderr
    [trusted] = list(device.trusted_certs.iterdir())
    verified = openssl(
        "verify",
        "-x509_strict",
        "-CAfile",
        to_pem(trusted, tmp_path / "ca.pem"),
        to_pem(device.own_certificate, tmp_path / "device.pem"),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_enrollment_sends_the_password_and_installs_the_certificate_for_the_new_key(
    device: PkiLayout, est: EstTestServer, password_file: Path
) -> None:
    result = enroll_est(device, est, password_file)

    assert result.returncode == 0, result.stderr
    assert installed_certificate(device).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == public_key_der(device)
    assert mode(device.private_key) == 0o600
    assert sorted(path.name for path in device.private_dir.iterdir()) == ["key.pem"]
    assert not device.self_signed_marker.exists()
    assert est.received == [
        Received("simpleenroll", f"password of {USER}", 200),
        Received("cacerts", None, 200),
    ]


def test_neither_the_password_nor_the_key_is_printed(
    device: PkiLayout, est: EstTestServer, password_file: Path
) -> None:
    result = enroll_est(device, est, password_file, "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["application_uri"] == APP_URI
    printed = result.stdout + result.stderr
    key_lines = [line for line in device.private_key.read_text().splitlines() if "-----" not in line]
    assert PASSWORD not in printed
    assert [line for line in key_lines if line in printed] == []


def test_a_wrong_password_is_refused_with_the_servers_words_and_nothing_changes(
    device: PkiLayout, est: EstTestServer, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password\n")
    before = snapshot(device.root)

    result = enroll_est(device, est, wrong)

    assert result.returncode == 1, result.stderr
    assert "refused the credentials (HTTP 401): wrong user name or password" in result.stderr
    assert snapshot(device.root) == before


def test_a_request_the_ca_refuses_shows_its_reasons_and_nothing_changes(
    device: PkiLayout, est: EstTestServer, password_file: Path
) -> None:
    before = snapshot(device.root)

    result = enroll_est(device, est, password_file, "--application-uri", "urn:other-site:pump-17")

    assert result.returncode == 1, result.stderr
    assert "HTTP 400" in result.stderr
    assert "the CA refuses the request" in result.stderr
    assert snapshot(device.root) == before


def test_plain_http_is_refused_before_anything_is_sent(
    device: PkiLayout, est: EstTestServer, password_file: Path
) -> None:
    result = provision(
        "enroll",
        "est",
        "--pki",
        device.root,
        "--server",
        est.url.replace("https://", "http://"),
        "--ca-cert",
        est.tls_ca,
        "--user",
        USER,
        "--password-file",
        password_file,
    )

    assert result.returncode == 2, result.stderr
    assert "https://" in result.stderr
    assert est.received == []


def test_a_server_whose_certificate_does_not_chain_to_the_given_ca_is_not_trusted(
    device: PkiLayout, est: EstTestServer, password_file: Path, tmp_path: Path
) -> None:
    other: SiteCa = make_ca(tmp_path / "other-ca")
    before = snapshot(device.root)

    result = provision(
        "enroll",
        "est",
        "--pki",
        device.root,
        "--server",
        est.url,
        "--ca-cert",
        other.directory.certificate,
        "--user",
        USER,
        "--password-file",
        password_file,
    )

    assert result.returncode == 3, result.stderr
    assert "is not the one trusted" in result.stderr
    assert snapshot(device.root) == before
    assert [r.operation for r in est.received if r.status == 200] == []


def test_renewal_with_the_current_certificate_gives_a_new_certificate_for_a_new_key(
    device: PkiLayout, est: EstTestServer, password_file: Path
) -> None:
    est.valid_days = 10
    first = enrolled(device, est, password_file)
    first_key = public_key_der(device)

    result = provision("renew", "--pki", device.root, "--server", est.url, "--cert-auth")

    assert result.returncode == 0, result.stderr
    renewed = installed_certificate(device)
    assert renewed.serial_number != first.serial_number
    assert public_key_der(device) != first_key
    assert est.received[-2] == Received(
        "simplereenroll", f"certificate of {first.subject.rfc4514_string()}", 200
    )


def test_renewal_by_password_from_stdin(device: PkiLayout, est: EstTestServer, password_file: Path) -> None:
    first = enrolled(device, est, password_file)

    result = provision(
        "renew",
        "--pki",
        device.root,
        "--force",
        "--server",
        est.url,
        "--ca-cert",
        est.tls_ca,
        "--user",
        USER,
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )

    assert result.returncode == 0, result.stderr
    assert installed_certificate(device).serial_number != first.serial_number
    assert est.received[-2] == Received("simplereenroll", f"password of {USER}", 200)


def test_renewal_far_from_expiry_does_nothing(
    device: PkiLayout, est: EstTestServer, password_file: Path
) -> None:
    enrolled(device, est, password_file)
    before = snapshot(device.root)
    est.received.clear()

    result = provision("renew", "--pki", device.root, "--before", "30d", "--server", est.url, "--cert-auth")

    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert snapshot(device.root) == before
    assert est.received == []


def test_offline_renewal_writes_a_request_for_a_new_key_with_the_current_names(
    device: PkiLayout, est: EstTestServer, password_file: Path, tmp_path: Path
) -> None:
    current = enrolled(device, est, password_file)
    current_key = public_key_der(device)
    csr = tmp_path / "renew.csr"

    result = provision("renew", "--pki", device.root, "--force", "--offline", "-o", csr)

    assert result.returncode == 0, result.stderr
    request = x509.load_pem_x509_csr(csr.read_bytes())
    san = x509.SubjectAlternativeName
    assert (request.subject, request.extensions.get_extension_for_class(san).value) == (
        current.subject,
        current.extensions.get_extension_for_class(san).value,
    )
    assert (
        request.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        != current_key
    )
    assert (installed_certificate(device), public_key_der(device)) == (current, current_key)


def test_an_offline_renewal_is_completed_by_signing_and_importing(
    device: PkiLayout, est: EstTestServer, password_file: Path, tmp_path: Path
) -> None:
    enrolled(device, est, password_file)
    csr, chain = tmp_path / "renew.csr", tmp_path / "renew.pem"
    assert provision("renew", "--pki", device.root, "--force", "--offline", "-o", csr).returncode == 0
    ca_dir = est.site_ca.directory.root
    assert provision("ca", "sign", "--dir", ca_dir, csr, "-o", chain).returncode == 0

    result = provision("enroll", "import", "--pki", device.root, chain)

    assert result.returncode == 0, result.stderr
    request = x509.load_pem_x509_csr(csr.read_bytes())
    assert installed_certificate(device).public_key() == request.public_key()
