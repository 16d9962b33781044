"""Private keys stay in their files: no output, CSR, certificate, index or CRL carries a piece of one."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.identity import PkiLayout

from .steps import APP_URI, CA_NAME, provision


def pieces_of(key_file: Path) -> list[bytes]:
    """Every form in which a key could leak: its PEM lines, its private numbers in binary and in hex."""
    pem = key_file.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    pieces = [line for line in pem.splitlines() if line and not line.startswith(b"-----")]
    for secret in (numbers.d, numbers.p, numbers.q):
        raw = secret.to_bytes((secret.bit_length() + 7) // 8, "big")
        pieces += [raw[:32], raw.hex()[:64].encode(), raw.hex()[:64].upper().encode()]
    return pieces


@pytest.mark.parametrize("output", [[], ["--json"]], ids=["text", "json"])
def test_no_output_or_public_file_holds_a_piece_of_a_private_key(tmp_path: Path, output: list[str]) -> None:
    layout, ca = PkiLayout(tmp_path / "pki"), tmp_path / "ca"
    csr, chain, crl = tmp_path / "device.csr", tmp_path / "device.pem", tmp_path / "ca.crl"
    printed = []
    for step in [
        ["ca", "init", "--dir", ca, "--name", CA_NAME, "--key-type", "rsa2048"],
        ["device", "init", "--pki", layout.root, "--application-uri", APP_URI, "-o", csr],
        ["ca", "sign", "--dir", ca, csr, "-o", chain],
        ["enroll", "import", "--pki", layout.root, chain],
        ["ca", "revoke", "--dir", ca, chain],
        ["ca", "crl", "--dir", ca, "-o", crl],
    ]:
        result = provision(*output, *step)
        assert result.returncode == 0, (step[:2], result.stderr)
        printed += [result.stdout, result.stderr]
    key_files = [ca / "ca.key.pem", layout.private_key]
    public_files = [csr, chain, crl, *(path for path in ca.iterdir() if path not in key_files)]
    public_files += [path for path in layout.root.rglob("*") if path.is_file() and path not in key_files]

    leaked = [
        (key_file.name, piece)
        for key_file in key_files
        for piece in pieces_of(key_file)
        if any(piece.decode("latin-1") in text for text in printed)
        or any(piece in path.read_bytes() for path in public_files)
    ]

    assert leaked == []
