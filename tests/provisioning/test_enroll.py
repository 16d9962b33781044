"""`enroll import`: the certificate the CA signed replaces the device's identity, or nothing changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_agent.identity import PkiLayout, ensure_application_certificate
from provisioning.ca import init_ca
from provisioning.issue import sign_request

from .steps import APP_URI, CA_NAME, Site, mode, provision, snapshot


def import_into(layout: PkiLayout, certificate: Path, *extra: str | Path) -> tuple[int, str]:
    result = provision("enroll", "import", "--pki", layout.root, certificate, *extra)
    return result.returncode, result.stderr


def test_offline_round_trip_installs_certificate_key_and_ca(site: Site) -> None:
    layout = site.pki("pump17")
    ensure_application_certificate(layout, application_uri=APP_URI, hostname="pump17")
    chain = site.sign(site.request("pump17"))

    code, stderr = import_into(layout, chain)

    assert code == 0, stderr
    issued, ca = x509.load_pem_x509_certificates(chain.read_bytes())
    assert layout.own_certificate.read_bytes() == issued.public_bytes(serialization.Encoding.DER)
    key = serialization.load_pem_private_key(layout.private_key.read_bytes(), password=None)
    assert key.public_key() == issued.public_key()
    assert mode(layout.private_key) == 0o600
    trusted = [x509.load_der_x509_certificate(path.read_bytes()) for path in layout.trusted_certs.iterdir()]
    assert trusted == [ca]
    assert not layout.self_signed_marker.exists()
    assert sorted(path.name for path in layout.private_dir.iterdir()) == ["key.pem"]


def test_the_agent_keeps_a_provisioned_certificate(site: Site) -> None:
    layout = site.pki("pump17")
    ensure_application_certificate(layout, application_uri=APP_URI, hostname="pump17")
    chain = site.sign(site.request("pump17"))
    assert import_into(layout, chain)[0] == 0

    identity = ensure_application_certificate(layout, application_uri=APP_URI, hostname="pump17")

    assert identity.certificate == x509.load_pem_x509_certificates(chain.read_bytes())[0]
    assert (identity.made_here, identity.created) == (False, False)


def test_the_json_result_names_the_installed_certificate(site: Site) -> None:
    layout = site.pki("pump17")
    chain = site.sign(site.request("pump17"))

    result = provision("--json", "enroll", "import", "--pki", layout.root, chain)

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["ok"] is True
    assert outcome["application_uri"] == APP_URI
    assert outcome["issuer"] == f"CN={CA_NAME}"


def test_a_der_certificate_is_imported_with_the_ca_given_apart(site: Site) -> None:
    layout = site.pki("pump17")
    certificate = site.sign(site.request("pump17"), "--der")

    without_ca = import_into(layout, certificate)
    with_ca = import_into(layout, certificate, "--ca", site.ca_pem)

    assert without_ca[0] == 2
    assert "--ca" in without_ca[1]
    assert with_ca[0] == 0, with_ca[1]


def refused(layout: PkiLayout, certificate: Path, *extra: str | Path) -> str:
    before = snapshot(layout.root)
    code, stderr = import_into(layout, certificate, *extra)
    assert code == 3, stderr
    assert snapshot(layout.root) == before
    return stderr


def test_a_certificate_for_another_devices_key_is_refused(site: Site) -> None:
    site.request("pump17")
    other = site.sign(site.request("pump18"))

    assert "it certifies another key" in refused(site.pki("pump17"), other)


def test_a_certificate_of_another_application_is_refused(site: Site) -> None:
    chain = site.sign(site.request("pump17"))

    stderr = refused(site.pki("pump17"), chain, "--application-uri", "urn:acme:plant3:pump-18")

    assert (
        f"its subjectAltName URI ({APP_URI}) is not the application URI 'urn:acme:plant3:pump-18'" in stderr
    )


def test_a_certificate_that_does_not_chain_to_the_given_ca_is_refused(site: Site, tmp_path: Path) -> None:
    chain = site.sign(site.request("pump17"))
    other = provision(
        "ca", "init", "--dir", tmp_path / "other-ca", "--name", "Other CA", "--key-type", "rsa2048"
    )
    assert other.returncode == 0, other.stderr

    stderr = refused(site.pki("pump17"), chain, "--ca", tmp_path / "other-ca" / "ca.pem")

    assert "does not chain up to the CA 'CN=Other CA'" in stderr


def test_an_expired_certificate_is_refused(tmp_path: Path) -> None:
    site = Site(tmp_path)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    ca = init_ca(site.ca_dir, name=CA_NAME, key_type="rsa2048", now=long_ago)
    csr = x509.load_pem_x509_csr(site.request("pump17").read_bytes())
    expired = sign_request(ca, csr, valid_days=30, now=long_ago).certificate
    (tmp_path / "expired.pem").write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (expired, ca.certificate))
    )

    assert "it expired on" in refused(site.pki("pump17"), tmp_path / "expired.pem")
