"""A site CA's directory, and the CA loaded from it::

CA_DIR/              0700
  ca.key.pem         the CA's private key (0600); it never leaves this directory
  ca.pem             the CA certificate, to hand to every device and peer
  policy.json        what the CA signs beyond its certificate's NameConstraints (permitted URIs)
  index.json         every certificate issued, and its revocation
  .lock              held while a command changes the index
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .ca_index import CaIndex
from .errors import InputError
from .files import load_certificates, load_rsa_private_key, read_input, write_public
from .name_constraints import PermittedNames


@dataclass(frozen=True, slots=True)
class CaDirectory:
    root: Path

    @property
    def key(self) -> Path:
        return self.root / "ca.key.pem"

    @property
    def certificate(self) -> Path:
        return self.root / "ca.pem"

    @property
    def policy(self) -> Path:
        return self.root / "policy.json"

    @property
    def index(self) -> Path:
        return self.root / "index.json"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.key, self.certificate, self.policy, self.index)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory's lock, so that two commands never rewrite the index at once."""
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def write_policy(self, permitted: PermittedNames) -> None:
        write_public(
            self.policy, (json.dumps({"permitted_uris": list(permitted.uris)}, indent=2) + "\n").encode()
        )

    def read_policy(self) -> list[str]:
        try:
            data = json.loads(read_input(self.policy, "CA policy"))
            uris = data["permitted_uris"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{self.policy} is not a CA policy written by edge-provision: {exc}") from None
        if not isinstance(uris, list) or not all(isinstance(value, str) for value in uris):
            raise InputError(f"{self.policy}: permitted_uris must be a list of URIs")
        return uris

    def load_index(self) -> CaIndex:
        return CaIndex.load(self.index)


@dataclass(frozen=True, slots=True)
class SiteCa:
    """A CA ready to sign: its directory, certificate, key and the names it may certify."""

    directory: CaDirectory
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    permitted: PermittedNames

    @classmethod
    def load(cls, root: Path) -> SiteCa:
        directory = CaDirectory(root)
        if not directory.certificate.is_file() or not directory.key.is_file():
            raise InputError(
                f"{root} is no CA directory (create one with `edge-provision ca init --dir {root}`)"
            )
        certificates = load_certificates(directory.certificate, "CA certificate")
        certificate = certificates[0]
        key = load_rsa_private_key(directory.key)
        if key.public_key() != certificate.public_key():
            raise InputError(f"{directory.key} is not the key of {directory.certificate}")
        permitted = PermittedNames.of_certificate(certificate, directory.read_policy())
        return cls(directory, certificate, key, permitted)
