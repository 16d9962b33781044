"""`ca init`: a site CA a technician can hand to every device of the site."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cryptography import x509

from provisioning.ca_store import SiteCa

from .steps import CA_NAME, mode, needs_openssl, openssl, provision, snapshot


@needs_openssl
def test_the_ca_certificate_signs_certificates_and_crls_and_nothing_below_it(tmp_path: Path) -> None:
    result = provision("ca", "init", "--dir", tmp_path / "ca", "--name", CA_NAME)
    assert result.returncode == 0, result.stderr

    text = openssl("x509", "-in", tmp_path / "ca" / "ca.pem", "-noout", "-text").stdout
    # OpenSSL 3.0 prints "CN = name", 3.5 (Debian 13) "CN=name".
    assert re.search(rf"Subject: CN ?= ?{CA_NAME}\n", text), text
    assert "Public-Key: (3072 bit)" in text
    assert "CA:TRUE, pathlen:0" in text
    assert "Certificate Sign, CRL Sign" in text
    assert "X509v3 Subject Key Identifier" in text
    assert "X509v3 Authority Key Identifier" in text
    assert "Name Constraints" not in text


@needs_openssl
def test_permitted_dns_names_and_addresses_become_critical_name_constraints(tmp_path: Path) -> None:
    result = provision(
        "ca", "init", "--dir", tmp_path / "ca", "--name", CA_NAME, "--key-type", "rsa2048",
        "--permitted-dns", "plant3.acme.example", "--permitted-ip", "10.20.0.0/16",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    text = openssl("x509", "-in", tmp_path / "ca" / "ca.pem", "-noout", "-text").stdout
    assert "X509v3 Name Constraints: critical" in text
    assert "DNS:plant3.acme.example" in text
    assert "IP:10.20.0.0/255.255.0.0" in text


def test_permitted_uris_are_kept_as_the_cas_signing_policy(tmp_path: Path) -> None:
    result = provision(
        "ca", "init", "--dir", tmp_path / "ca", "--name", CA_NAME, "--key-type", "rsa2048",
        "--permitted-uri", "urn:acme:plant3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    ca = SiteCa.load(tmp_path / "ca")
    assert ca.permitted.uris == ("urn:acme:plant3",)
    # Verifiers refuse URI name constraints on URNs (and cryptography refuses them all).
    assert not any(isinstance(ext.value, x509.NameConstraints) for ext in ca.certificate.extensions)


def test_the_ca_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    result = provision("ca", "init", "--dir", tmp_path / "ca", "--name", CA_NAME, "--key-type", "rsa2048")
    assert result.returncode == 0, result.stderr

    assert mode(tmp_path / "ca") == 0o700
    assert mode(tmp_path / "ca" / "ca.key.pem") == 0o600
    assert mode(tmp_path / "ca" / "ca.pem") == 0o644


def test_an_existing_ca_is_never_overwritten(tmp_path: Path) -> None:
    first = provision("ca", "init", "--dir", tmp_path / "ca", "--name", CA_NAME, "--key-type", "rsa2048")
    assert first.returncode == 0, first.stderr
    before = snapshot(tmp_path / "ca")

    again = provision("--json", "ca", "init", "--dir", tmp_path / "ca", "--name", "Another CA")

    assert again.returncode == 1
    assert "already holds a CA" in json.loads(again.stdout)["error"]
    assert snapshot(tmp_path / "ca") == before


def test_a_dns_constraint_with_a_leading_dot_is_a_usage_error(tmp_path: Path) -> None:
    result = provision(
        "ca", "init", "--dir", tmp_path / "ca", "--name", CA_NAME, "--permitted-dns", ".acme.example"
    )

    assert result.returncode == 2
    assert "'acme.example' permits the domain and every name under it" in result.stderr
    assert not (tmp_path / "ca" / "ca.key.pem").exists()
