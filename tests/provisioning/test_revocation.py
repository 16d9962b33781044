"""`ca revoke` and `ca crl`: a withdrawn certificate shows in the CRL peers install."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provisioning.ca_store import SiteCa
from provisioning.issue import sign_request
from provisioning.serials import format_serial

from .steps import device_request, make_ca, needs_openssl, openssl, provision


@pytest.fixture
def ca(tmp_path: Path) -> SiteCa:
    return make_ca(tmp_path / "ca")


def issue(ca: SiteCa, path: Path) -> x509.Certificate:
    certificate = sign_request(ca, device_request()).certificate
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate


@needs_openssl
def test_a_revoked_serial_shows_in_the_crl_with_its_reason(ca: SiteCa, tmp_path: Path) -> None:
    revoked = issue(ca, tmp_path / "revoked.pem")
    kept = issue(ca, tmp_path / "kept.pem")
    serial = format_serial(revoked.serial_number)

    revoke = provision("ca", "revoke", "--dir", ca.directory.root, serial, "--reason", "keyCompromise")
    assert revoke.returncode == 0, revoke.stderr
    crl = provision("ca", "crl", "--dir", ca.directory.root, "-o", tmp_path / "ca.crl")
    assert crl.returncode == 0, crl.stderr

    text = openssl("crl", "-in", tmp_path / "ca.crl", "-noout", "-text").stdout
    assert f"Serial Number: {serial}" in text
    assert "Key Compromise" in text
    assert format_serial(kept.serial_number) not in text


@needs_openssl
def test_the_crl_is_signed_by_the_ca(ca: SiteCa, tmp_path: Path) -> None:
    result = provision("ca", "crl", "--dir", ca.directory.root, "-o", tmp_path / "ca.crl")
    assert result.returncode == 0, result.stderr

    checked = openssl("crl", "-in", tmp_path / "ca.crl", "-noout", "-CAfile", ca.directory.certificate)

    assert "verify OK" in checked.stdout + checked.stderr


@needs_openssl
def test_openssl_refuses_a_revoked_certificate_with_the_crl(ca: SiteCa, tmp_path: Path) -> None:
    issue(ca, tmp_path / "device.pem")
    assert provision("ca", "revoke", "--dir", ca.directory.root, tmp_path / "device.pem").returncode == 0
    assert provision("ca", "crl", "--dir", ca.directory.root, "-o", tmp_path / "ca.crl").returncode == 0

    verified = openssl(
        "verify", "-crl_check", "-CAfile", ca.directory.certificate, "-CRLfile", tmp_path / "ca.crl",
        tmp_path / "device.pem",
    )  # fmt: skip

    assert verified.returncode != 0
    assert "certificate revoked" in verified.stdout + verified.stderr


def test_each_crl_has_a_higher_number(ca: SiteCa, tmp_path: Path) -> None:
    numbers = []
    for name in ("first.crl", "second.crl"):
        result = provision("--json", "ca", "crl", "--dir", ca.directory.root, "-o", tmp_path / name, "--der")
        assert result.returncode == 0, result.stderr
        crl = x509.load_der_x509_crl((tmp_path / name).read_bytes())
        numbers.append(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)

    assert numbers == [1, 2]


def test_revoking_twice_keeps_the_first_revocation(ca: SiteCa, tmp_path: Path) -> None:
    issue(ca, tmp_path / "device.pem")
    first = provision(
        "--json",
        "ca",
        "revoke",
        "--dir",
        ca.directory.root,
        tmp_path / "device.pem",
        "--reason",
        "superseded",
    )
    again = provision(
        "--json",
        "ca",
        "revoke",
        "--dir",
        ca.directory.root,
        tmp_path / "device.pem",
        "--reason",
        "keyCompromise",
    )

    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["already_revoked"] is True
    assert json.loads(again.stdout)["reason"] == json.loads(first.stdout)["reason"] == "superseded"


def test_a_serial_the_ca_never_issued_is_refused(ca: SiteCa) -> None:
    result = provision("ca", "revoke", "--dir", ca.directory.root, "0x0123ABCD")

    assert result.returncode == 1
    assert "no certificate with serial 0123ABCD" in result.stderr


def test_a_certificate_of_another_ca_is_refused(ca: SiteCa, tmp_path: Path) -> None:
    other = make_ca(tmp_path / "other-ca")
    issue(other, tmp_path / "foreign.pem")

    result = provision("ca", "revoke", "--dir", ca.directory.root, tmp_path / "foreign.pem")

    assert result.returncode == 1
    assert "not issued by this CA" in result.stderr
