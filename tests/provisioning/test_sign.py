"""`ca sign`: what the CA puts into a device certificate, and which requests it refuses."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from provisioning.ca_store import SiteCa
from provisioning.issue import RequestRefused, sign_request

from .steps import APP_URI, device_request, make_ca, needs_openssl, openssl, provision, rsa_key, snapshot


@pytest.fixture
def ca(tmp_path: Path) -> SiteCa:
    return make_ca(
        tmp_path / "ca", dns=["plant3.acme.example"], ips=["10.20.0.0/16"], uris=["urn:acme:plant3"]
    )


def write_request(path: Path, request: x509.CertificateSigningRequest) -> Path:
    path.write_bytes(request.public_bytes(serialization.Encoding.PEM))
    return path


def sign(ca: SiteCa, request_file: Path, *extra: str) -> tuple[int, str, str]:
    result = provision(
        "ca", "sign", "--dir", ca.directory.root, request_file, "-o", request_file.with_suffix(".pem"), *extra
    )
    return result.returncode, result.stdout, result.stderr


@needs_openssl
def test_openssl_verifies_the_device_certificate_against_the_ca(ca: SiteCa, tmp_path: Path) -> None:
    csr = write_request(tmp_path / "device.csr", device_request(ips=[ipaddress.ip_address("10.20.1.17")]))

    code, _, stderr = sign(ca, csr)

    assert code == 0, stderr
    verified = openssl("verify", "-CAfile", ca.directory.certificate, tmp_path / "device.pem")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.strip() == f"{tmp_path / 'device.pem'}: OK"


@needs_openssl
def test_the_certificate_carries_the_names_and_usages_opc_ua_needs(ca: SiteCa, tmp_path: Path) -> None:
    csr = write_request(tmp_path / "device.csr", device_request(ips=[ipaddress.ip_address("10.20.1.17")]))
    code, _, stderr = sign(ca, csr)
    assert code == 0, stderr

    text = openssl("x509", "-in", tmp_path / "device.pem", "-noout", "-text").stdout

    assert f"URI:{APP_URI}" in text
    assert "DNS:pump17.plant3.acme.example" in text
    assert "IP Address:10.20.1.17" in text
    assert "X509v3 Key Usage: critical" in text
    assert "Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment" in text
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
    assert "CA:FALSE" in text


def test_the_cert_file_holds_the_device_certificate_then_the_ca(ca: SiteCa, tmp_path: Path) -> None:
    csr = write_request(tmp_path / "device.csr", device_request())
    code, _, stderr = sign(ca, csr)
    assert code == 0, stderr

    device, issuer = x509.load_pem_x509_certificates((tmp_path / "device.pem").read_bytes())

    assert issuer == ca.certificate
    device.verify_directly_issued_by(issuer)


def test_with_der_the_file_is_the_device_certificate_alone(ca: SiteCa, tmp_path: Path) -> None:
    csr = write_request(tmp_path / "device.csr", device_request())
    code, _, stderr = sign(ca, csr, "--der")
    assert code == 0, stderr

    device = x509.load_der_x509_certificate((tmp_path / "device.pem").read_bytes())

    assert device.issuer == ca.certificate.subject


def test_usages_are_the_cas_decision_whatever_the_request_asks(ca: SiteCa) -> None:
    key = rsa_key()
    greedy = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pump 17")]))
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(APP_URI)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )

    certificate = sign_request(ca, greedy).certificate

    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.content_commitment and usage.value.data_encipherment and not usage.value.key_cert_sign


def test_every_issued_serial_is_in_the_index(ca: SiteCa, tmp_path: Path) -> None:
    csr = write_request(tmp_path / "device.csr", device_request())
    result = provision("--json", "ca", "sign", "--dir", ca.directory.root, csr, "-o", tmp_path / "device.pem")
    assert result.returncode == 0, result.stderr
    serial = json.loads(result.stdout)["serial"]

    index = json.loads(ca.directory.index.read_text())

    assert [(entry["serial"], entry["application_uri"]) for entry in index["certificates"]] == [
        (serial, APP_URI)
    ]
    assert (
        int(serial, 16)
        == x509.load_pem_x509_certificates((tmp_path / "device.pem").read_bytes())[0].serial_number
    )


def test_validity_is_cut_to_the_cas(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca")

    issued = sign_request(ca, device_request(dns=()), valid_days=365 * 20)

    assert issued.certificate.not_valid_after_utc == ca.certificate.not_valid_after_utc
    assert any("when the CA certificate ends" in note for note in issued.notes)


def refused(ca: SiteCa, csr_file: Path) -> str:
    before = snapshot(ca.directory.root)
    result = provision("ca", "sign", "--dir", ca.directory.root, csr_file, "-o", csr_file.with_suffix(".pem"))
    assert result.returncode == 1, result.stderr
    assert not csr_file.with_suffix(".pem").exists()
    assert snapshot(ca.directory.root) == before
    return result.stderr


def test_a_request_without_an_application_uri_is_refused(ca: SiteCa, tmp_path: Path) -> None:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pump 17")]))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("pump17.plant3.acme.example")]), critical=False
        )
        .sign(rsa_key(), hashes.SHA256())
    )

    assert "no subjectAltName URI" in refused(ca, write_request(tmp_path / "no-uri.csr", request))


def test_an_rsa_1024_request_is_refused(ca: SiteCa, tmp_path: Path) -> None:
    csr = write_request(tmp_path / "weak.csr", device_request(rsa_key(1024)))

    assert "1024 bits" in refused(ca, csr)


def test_a_request_with_a_broken_signature_is_refused(ca: SiteCa, tmp_path: Path) -> None:
    der = bytearray(device_request().public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0xFF
    (tmp_path / "tampered.csr").write_bytes(bytes(der))

    assert "signature does not verify" in refused(ca, tmp_path / "tampered.csr")


@pytest.mark.parametrize(
    ("names", "outside"),
    [
        ({"dns": ["pump17.plant4.acme.example"]}, "DNS name 'pump17.plant4.acme.example'"),
        ({"ips": [ipaddress.ip_address("192.168.1.17")]}, "IP address 192.168.1.17"),
        ({"application_uri": "urn:acme:plant30:pump-17"}, "URI 'urn:acme:plant30:pump-17'"),
    ],
)
def test_a_name_outside_the_cas_constraints_is_refused(
    ca: SiteCa, tmp_path: Path, names: dict[str, object], outside: str
) -> None:
    csr = write_request(tmp_path / "outside.csr", device_request(**names))  # type: ignore[arg-type]

    assert f"{outside} is outside the permitted" in refused(ca, csr)


def test_a_file_that_is_no_request_is_a_usage_error(ca: SiteCa, tmp_path: Path) -> None:
    (tmp_path / "junk.csr").write_text("not a request\n")

    result = provision(
        "ca", "sign", "--dir", ca.directory.root, tmp_path / "junk.csr", "-o", tmp_path / "x.pem"
    )

    assert result.returncode == 2
    assert "is not a certificate signing request" in result.stderr


def test_a_direct_caller_gets_the_refusal_as_an_exception(ca: SiteCa) -> None:
    with pytest.raises(RequestRefused, match="URI 'urn:other:pump' is outside"):
        sign_request(ca, device_request(application_uri="urn:other:pump"))
