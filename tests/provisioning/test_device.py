"""`device init`: the device makes its key and a CSR; its current identity stays in use until import."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from edge_agent.identity import PkiLayout, ensure_application_certificate
from provisioning.cli import main
from provisioning.device import pending_key_path

from .steps import APP_URI, mode, needs_openssl, openssl, provision, snapshot

CONFIG = f"""\
asset:
  id: urn:acme:aas:pump-17
  global_asset_id: urn:acme:asset:pump-17
  nameplate:
    manufacturer_name: ACME Pumpen GmbH
    product_designation: Centrifugal pump CP-200
    serial_number: "CP200-4711"
opcua:
  application_uri: {APP_URI}
"""


def device_init(pki: Path, csr: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    return provision("device", "init", "--pki", pki, "--application-uri", APP_URI, "-o", csr, *extra)


def load_csr(path: Path) -> x509.CertificateSigningRequest:
    return x509.load_pem_x509_csr(path.read_bytes())


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@needs_openssl
def test_openssl_verifies_the_request_and_sees_what_it_asks_for(tmp_path: Path) -> None:
    result = device_init(
        tmp_path / "pki", tmp_path / "device.csr", "--dns", "pump17.plant3.acme.example", "--ip", "10.20.1.17"
    )
    assert result.returncode == 0, result.stderr

    checked = openssl("req", "-in", tmp_path / "device.csr", "-noout", "-verify", "-text")

    assert checked.returncode == 0, checked.stderr
    assert "verify OK" in checked.stdout + checked.stderr
    assert f"URI:{APP_URI}, DNS:pump17.plant3.acme.example, IP Address:10.20.1.17" in checked.stdout
    assert "Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment" in checked.stdout
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in checked.stdout


@pytest.mark.usefixtures("permissive_umask")
def test_the_new_key_is_readable_by_the_owner_only(tmp_path: Path) -> None:
    result = device_init(tmp_path / "pki", tmp_path / "device.csr")
    assert result.returncode == 0, result.stderr
    layout = PkiLayout(tmp_path / "pki")

    assert mode(pending_key_path(layout)) == 0o600
    assert mode(layout.private_dir) == 0o700


def test_the_subject_comes_from_the_nameplate(tmp_path: Path) -> None:
    (tmp_path / "agent.yaml").write_text(CONFIG)

    result = device_init(tmp_path / "pki", tmp_path / "device.csr", "--config", tmp_path / "agent.yaml")
    assert result.returncode == 0, result.stderr

    subject = load_csr(tmp_path / "device.csr").subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "ACME Pumpen GmbH"
    assert (
        subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Centrifugal pump CP-200 CP200-4711"
    )
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "CP200-4711"


def test_an_application_uri_the_config_does_not_name_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "agent.yaml").write_text(CONFIG.replace(APP_URI, "urn:acme:plant3:pump-18"))

    result = device_init(tmp_path / "pki", tmp_path / "device.csr", "--config", tmp_path / "agent.yaml")

    assert result.returncode == 2
    assert "urn:acme:plant3:pump-18" in result.stderr
    assert not (tmp_path / "pki").exists()


def test_a_config_error_names_its_line_and_is_a_usage_error(tmp_path: Path) -> None:
    config = CONFIG.replace("    serial_number:", "    serial_numbr:")
    (tmp_path / "agent.yaml").write_text(config)
    line = next(number for number, text in enumerate(config.splitlines(), 1) if "serial_numbr" in text)

    result = device_init(tmp_path / "pki", tmp_path / "device.csr", "--config", tmp_path / "agent.yaml")

    assert result.returncode == 2
    assert f"agent.yaml:{line}:5: asset.nameplate.serial_numbr" in result.stderr


def test_the_agents_self_signed_identity_stays_in_use_until_import(tmp_path: Path) -> None:
    layout = PkiLayout(tmp_path / "pki")
    before = ensure_application_certificate(layout, application_uri=APP_URI, hostname="pump17")

    result = device_init(layout.root, tmp_path / "device.csr")
    assert result.returncode == 0, result.stderr

    after = ensure_application_certificate(layout, application_uri=APP_URI, hostname="pump17")
    assert (after.certificate, after.made_here) == (before.certificate, True)
    assert load_csr(tmp_path / "device.csr").public_key() != before.certificate.public_key()


def test_a_second_request_needs_force_while_the_first_is_not_imported(tmp_path: Path) -> None:
    assert device_init(tmp_path / "pki", tmp_path / "first.csr").returncode == 0
    before = snapshot(tmp_path / "pki")

    refused = device_init(tmp_path / "pki", tmp_path / "second.csr")
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    assert snapshot(tmp_path / "pki") == before

    forced = device_init(tmp_path / "pki", tmp_path / "second.csr", "--force")
    assert forced.returncode == 0, forced.stderr
    assert load_csr(tmp_path / "second.csr").public_key() != load_csr(tmp_path / "first.csr").public_key()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_force_on_a_terminal_asks_first_and_no_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert device_init(tmp_path / "pki", tmp_path / "first.csr").returncode == 0
    before = snapshot(tmp_path / "pki")
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))

    code = main(["device", "init", "--pki", str(tmp_path / "pki"), "--application-uri", APP_URI,
                 "-o", str(tmp_path / "second.csr"), "--force"])  # fmt: skip

    assert code == 1
    assert "Go on? [y/N]" in capsys.readouterr().err
    assert snapshot(tmp_path / "pki") == before


def test_yes_answers_the_question(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert device_init(tmp_path / "pki", tmp_path / "first.csr").returncode == 0
    monkeypatch.setattr("sys.stdin", Terminal(""))

    code = main(["--yes", "device", "init", "--pki", str(tmp_path / "pki"), "--application-uri", APP_URI,
                 "-o", str(tmp_path / "second.csr"), "--force"])  # fmt: skip

    assert code == 0
    assert (tmp_path / "second.csr").exists()


def test_an_address_that_is_no_address_is_a_usage_error(tmp_path: Path) -> None:
    result = device_init(tmp_path / "pki", tmp_path / "device.csr", "--ip", "10.20.1.300")

    assert result.returncode == 2
    assert "'10.20.1.300' is not an IPv4 or IPv6 address" in result.stderr
    assert not (tmp_path / "device.csr").exists()
