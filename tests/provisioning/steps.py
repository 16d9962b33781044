"""What a technician does, as helpers: run `edge-provision`, run openssl, look at a directory."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.identity import PkiLayout
from provisioning.ca import init_ca
from provisioning.ca_store import SiteCa
from provisioning.device import build_request
from provisioning.name_constraints import PermittedNames
from provisioning.names import IPAddress

APP_URI = "urn:acme:plant3:pump-17"
CA_NAME = "ACME Plant 3 CA"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")


def provision(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`edge-provision ARGS` as a subprocess, with stdin not a terminal (as in a script)."""
    return subprocess.run(
        [sys.executable, "-m", "provisioning", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        input=stdin or "",
    )


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, text=True, timeout=30, check=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` with its content and mode, to tell whether anything changed."""
    return {
        str(path.relative_to(root)): (path.read_bytes(), mode(path))
        for path in root.rglob("*")
        if path.is_file()
    }


def make_ca(
    directory: Path, *, dns: Sequence[str] = (), ips: Sequence[str] = (), uris: Sequence[str] = ()
) -> SiteCa:
    return init_ca(
        directory, name=CA_NAME, key_type="rsa2048", permitted=PermittedNames.parse(dns, ips, uris)
    )


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def device_request(
    key: rsa.RSAPrivateKey | None = None,
    *,
    application_uri: str = APP_URI,
    dns: Sequence[str] = ("pump17.plant3.acme.example",),
    ips: Sequence[IPAddress] = (),
) -> x509.CertificateSigningRequest:
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "pump 17")])
    return build_request(key or rsa_key(), subject, application_uri, dns, ips)


@dataclass(frozen=True)
class Site:
    """A site CA in ``root/ca`` and devices in ``root/<device>/pki``, driven through the command."""

    root: Path

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def ca_pem(self) -> Path:
        return self.ca_dir / "ca.pem"

    def init_ca(self) -> None:
        result = provision("ca", "init", "--dir", self.ca_dir, "--name", CA_NAME, "--key-type", "rsa2048")
        assert result.returncode == 0, result.stderr

    def pki(self, device: str) -> PkiLayout:
        return PkiLayout(self.root / device / "pki")

    def request(self, device: str, application_uri: str = APP_URI) -> Path:
        """`device init` on the device called ``device``; the CSR it wrote."""
        csr = self.root / f"{device}.csr"
        pki = self.pki(device).root
        result = provision("device", "init", "--pki", pki, "--application-uri", application_uri, "-o", csr)
        assert result.returncode == 0, result.stderr
        return csr

    def sign(self, csr: Path, *extra: str) -> Path:
        certificate = csr.with_suffix(".pem")
        result = provision("ca", "sign", "--dir", self.ca_dir, csr, "-o", certificate, *extra)
        assert result.returncode == 0, result.stderr
        return certificate

    def enroll(self, device: str, application_uri: str = APP_URI) -> PkiLayout:
        """The whole offline enrollment of ``device``: its PKI store, with the CA's certificate installed."""
        chain = self.sign(self.request(device, application_uri))
        result = provision("enroll", "import", "--pki", self.pki(device).root, chain)
        assert result.returncode == 0, result.stderr
        self.publish_crl(device)
        return self.pki(device)

    def publish_crl(self, device: str) -> None:
        """The CA's current CRL, installed on ``device``: without it the CA's clients are refused there."""
        crl = self.root / "site.crl"
        result = provision("ca", "crl", "--dir", self.ca_dir, "-o", crl)
        assert result.returncode == 0, result.stderr
        result = provision("trust", "add-crl", "--pki", self.pki(device).root, crl)
        assert result.returncode == 0, result.stderr
