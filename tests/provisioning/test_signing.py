"""Signed releases: `ca issue-signer`, `sign`, `policy require-signed`, and how the agent judges them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7

from edge_agent.identity import PkiLayout
from edge_agent.identity.signatures import SignatureError, SignedFilePolicy, signature_file

from .steps import Site, mode, needs_openssl, openssl, provision

CONFIG_TEXT = b"asset:\n  id: urn:example:aas:pump-17\n  global_asset_id: urn:example:asset:pump-17\r\n"


def issue_signer(site: Site, name: str = "Line 3 release", *extra: str) -> Path:
    """`ca issue-signer`; the signer's directory."""
    directory = site.root / name.replace(" ", "-")
    result = provision("ca", "issue-signer", "--dir", site.ca_dir, "--name", name, "-o", directory, *extra)
    assert result.returncode == 0, result.stderr
    return directory


def sign(signer: Path, *files: Path) -> None:
    result = provision("sign", *files, "--key", signer / "signer.key.pem", "--cert", signer / "signer.pem")
    assert result.returncode == 0, result.stderr


def release(site: Site, signer: Path, name: str = "config.yaml", content: bytes = CONFIG_TEXT) -> Path:
    path = site.root / name
    path.write_bytes(content)
    sign(signer, path)
    return path


def requiring(site: Site, *signer_certificates: Path) -> SignedFilePolicy:
    """A device PKI that trusts ``signer_certificates`` to sign and requires signed files."""
    pki = site.root / "device" / "pki"
    PkiLayout(pki).ensure()
    for certificate in signer_certificates or (site.ca_pem,):
        result = provision("trust", "add", certificate, "--signer", "--pki", pki)
        assert result.returncode == 0, result.stderr
    result = provision("policy", "require-signed", "on", "--pki", pki)
    assert result.returncode == 0, result.stderr
    return SignedFilePolicy.of(PkiLayout(pki))


def verdict(policy: SignedFilePolicy, path: Path) -> str:
    try:
        policy.check(path, path.read_bytes())
    except SignatureError as exc:
        return str(exc)
    return "accepted"


@needs_openssl
@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa3072"])
def test_openssl_cms_verifies_the_signature_against_the_site_ca(site: Site, key_type: str) -> None:
    config = release(site, issue_signer(site, "Line 3 release", "--key-type", key_type))

    verified = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", signature_file(config), "-content", config,
        "-CAfile", site.ca_pem, "-purpose", "any", "-out", site.root / "verified",
    )  # fmt: skip

    assert verified.returncode == 0, verified.stderr
    assert (site.root / "verified").read_bytes() == CONFIG_TEXT


@needs_openssl
def test_openssl_cms_refuses_the_signature_over_changed_content(site: Site) -> None:
    config = release(site, issue_signer(site))
    config.write_bytes(CONFIG_TEXT.replace(b"pump-17", b"pump-18"))

    verified = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", signature_file(config), "-content", config,
        "-CAfile", site.ca_pem, "-purpose", "any", "-out", site.root / "verified",
    )  # fmt: skip

    assert verified.returncode != 0


@needs_openssl
def test_the_signer_certificate_may_sign_code_and_nothing_else(site: Site) -> None:
    signer = issue_signer(site)

    text = openssl("x509", "-in", signer / "signer.pem", "-noout", "-text").stdout

    assert "X509v3 Extended Key Usage: \n                Code Signing\n" in text
    assert "X509v3 Key Usage: critical\n                Digital Signature, Non Repudiation\n" in text
    assert "CA:FALSE" in text
    assert (mode(signer), mode(signer / "signer.key.pem"), mode(signer / "signer.pem")) == (
        0o700,
        0o600,
        0o644,
    )


def test_the_signature_carries_the_signer_certificate_and_is_detached(site: Site) -> None:
    signer = issue_signer(site)
    config = release(site, signer)

    carried = pkcs7.load_der_pkcs7_certificates(signature_file(config).read_bytes())

    assert carried == x509.load_pem_x509_certificates((signer / "signer.pem").read_bytes())[:1]
    assert CONFIG_TEXT not in signature_file(config).read_bytes()


def test_neither_signature_nor_output_holds_a_piece_of_the_signing_key(site: Site) -> None:
    signer = site.root / "signer"
    issued = provision(
        "--json", "ca", "issue-signer", "--dir", site.ca_dir, "--name", "Release", "-o", signer
    )
    assert issued.returncode == 0, issued.stderr
    config = site.root / "config.yaml"
    config.write_bytes(CONFIG_TEXT)
    key_pem = (signer / "signer.key.pem").read_bytes()
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    secret = key.private_numbers().private_value.to_bytes(32, "big")
    pieces = [line for line in key_pem.splitlines() if not line.startswith(b"-----")]
    pieces += [secret, secret.hex().encode(), secret.hex().upper().encode()]

    printed = (issued.stdout + issued.stderr).encode()
    for output in ([], ["--json"]):
        result = provision(
            *output, "sign", config, "--key", signer / "signer.key.pem", "--cert", signer / "signer.pem"
        )
        assert result.returncode == 0, result.stderr
        printed += (result.stdout + result.stderr).encode()
    public = printed + signature_file(config).read_bytes() + (signer / "signer.pem").read_bytes()

    assert [piece for piece in pieces if piece in public] == []


def test_a_signed_file_is_accepted_with_its_signer(site: Site) -> None:
    policy = requiring(site)
    config = release(site, issue_signer(site))

    signer = policy.check(config, config.read_bytes())

    assert signer is not None and signer.subject.rfc4514_string() == "CN=Line 3 release"


def test_tampered_content_is_refused_as_changed_after_signing(site: Site) -> None:
    policy = requiring(site)
    config = release(site, issue_signer(site))
    config.write_bytes(CONFIG_TEXT.replace(b"\r\n", b"\n"))

    assert "it was changed after it was signed" in verdict(policy, config)


def test_a_tampered_signature_is_refused(site: Site) -> None:
    policy = requiring(site)
    config = release(site, issue_signer(site))
    signature = bytearray(signature_file(config).read_bytes())
    signature[-3] ^= 0x01
    signature_file(config).write_bytes(bytes(signature))

    assert verdict(policy, config) != "accepted"


def test_a_signer_of_another_ca_is_not_trusted(site: Site, tmp_path: Path) -> None:
    other = Site(tmp_path / "other-site")
    other.init_ca()
    policy = requiring(site)
    config = release(site, issue_signer(other, "Mallory"))

    refusal = verdict(policy, config)

    assert "the signer CN=Mallory is not trusted" in refusal
    assert str(policy.layout.signers) in refusal


def test_a_trusted_opcua_ca_does_not_make_its_signers_trusted(site: Site) -> None:
    policy = requiring(site, issue_signer(site, "Unrelated") / "signer.pem")
    (policy.layout.trusted_certs / "site-ca.pem").write_bytes(site.ca_pem.read_bytes())
    config = release(site, issue_signer(site))

    assert "the signer CN=Line 3 release is not trusted" in verdict(policy, config)


def test_a_revoked_signer_is_refused_once_the_crl_is_in_signers(site: Site) -> None:
    policy = requiring(site)
    signer = issue_signer(site)
    config = release(site, signer)
    before = verdict(policy, config)
    for step in (
        ["ca", "revoke", "--dir", site.ca_dir, signer / "signer.pem", "--reason", "keyCompromise"],
        ["ca", "crl", "--dir", site.ca_dir, "-o", policy.layout.signers / "site.crl"],
    ):
        result = provision(*step)
        assert result.returncode == 0, result.stderr

    after = verdict(policy, config)

    assert before == "accepted"
    assert after.startswith("the signer's certificate CN=Line 3 release is revoked")


def test_a_missing_signature_is_refused_when_required(site: Site) -> None:
    policy = requiring(site)
    config = site.root / "config.yaml"
    config.write_bytes(CONFIG_TEXT)

    assert verdict(policy, config).startswith("not signed: config.yaml.sig is missing")


def test_a_missing_signature_is_accepted_when_not_required(site: Site) -> None:
    policy = requiring(site)
    config = site.root / "config.yaml"
    config.write_bytes(CONFIG_TEXT)
    result = provision("policy", "require-signed", "off", "--pki", policy.layout.root)
    assert result.returncode == 0, result.stderr

    assert verdict(SignedFilePolicy.of(policy.layout), config) == "accepted"


@needs_openssl
def test_a_signature_made_by_openssl_is_accepted(site: Site) -> None:
    signer = issue_signer(site)
    policy = requiring(site)
    config = site.root / "config.yaml"
    config.write_bytes(CONFIG_TEXT)
    made = openssl(
        "cms", "-sign", "-binary", "-in", config, "-signer", signer / "signer.pem",
        "-inkey", signer / "signer.key.pem", "-outform", "DER", "-out", signature_file(config),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    assert verdict(policy, config) == "accepted"


def test_sign_refuses_a_certificate_that_is_not_for_signing(site: Site) -> None:
    pki = site.enroll("pump17")
    config = site.root / "config.yaml"
    config.write_bytes(CONFIG_TEXT)

    result = provision("sign", config, "--key", pki.private_key, "--cert", site.root / "pump17.pem")

    assert result.returncode == 3
    assert "lacks extendedKeyUsage codeSigning" in result.stderr
    assert not signature_file(config).exists()


def test_sign_writes_one_signature_per_file(site: Site) -> None:
    signer = issue_signer(site)
    policy = requiring(site)
    files = [site.root / "config.yaml", site.root / "pump.tflite"]
    for path in files:
        path.write_bytes(path.name.encode())

    result = provision(
        "--json", "sign", *files, "--key", signer / "signer.key.pem", "--cert", signer / "signer.pem"
    )

    assert result.returncode == 0, result.stderr
    assert [item["signature"] for item in json.loads(result.stdout)["signatures"]] == [
        str(signature_file(path)) for path in files
    ]
    assert [verdict(policy, path) for path in files] == ["accepted", "accepted"]


def test_require_signed_is_refused_while_nobody_may_sign(tmp_path: Path) -> None:
    layout = PkiLayout(tmp_path / "pki")
    layout.ensure()

    result = provision("policy", "require-signed", "on", "--pki", layout.root)

    assert result.returncode == 1
    assert "holds no certificate" in result.stderr
    assert not layout.require_signed_marker.exists()


def test_policy_on_and_off_write_and_remove_the_marker(site: Site) -> None:
    policy = requiring(site)
    marked = policy.layout.require_signed_marker.exists()

    result = provision("--json", "policy", "require-signed", "off", "--pki", policy.layout.root)

    assert result.returncode == 0, result.stderr
    assert (marked, policy.layout.require_signed_marker.exists()) == (True, False)
    assert json.loads(result.stdout)["require_signed"] is False
