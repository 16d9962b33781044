"""Where a device keeps its OPC UA identity and its trust lists.

The layout is the "directory store" of OPC UA Part 12 as UA-.NETStandard lays it out, so an
administrator who knows any OPC UA product finds their way around::

    pki/
      own/cert.der                  the application instance certificate (DER)
      own/self_signed.sha256        present only while own/cert.der is one the agent made itself
      private/key.pem               its private key (file 0600, directory 0700)
      private/key.pending.pem       a key made for an enrollment under way (0600), with own/request.csr
      trusted/certs, trusted/crl    peers (or the CAs that issue them) we trust, and CRLs of those CAs
      issuers/certs, issuers/crl    CAs needed to build a chain but not trusted by themselves
      rejected/                     peer certificates we refused, for an administrator to review
      signers/                      CAs (and CRLs) trusted to sign the config and the models
      require_signed                present: unsigned or tampered configs and models are refused

The agent and the provisioning CLI both use this module, so it must not import the OPC UA stack.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PUBLIC_DIR_MODE = 0o755
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


@dataclass(frozen=True, slots=True)
class PkiLayout:
    """The paths of one device's PKI directory store, rooted at ``root``."""

    root: Path

    @property
    def own_dir(self) -> Path:
        return self.root / "own"

    @property
    def own_certificate(self) -> Path:
        return self.own_dir / "cert.der"

    @property
    def self_signed_marker(self) -> Path:
        """Holds the SHA-256 of own/cert.der when the agent made that certificate itself.

        A certificate installed by provisioning is never overwritten; one the agent made may be
        regenerated. The fingerprint (not just the file's presence) makes a stale marker harmless.
        """
        return self.own_dir / "self_signed.sha256"

    @property
    def private_dir(self) -> Path:
        return self.root / "private"

    @property
    def private_key(self) -> Path:
        return self.private_dir / "key.pem"

    @property
    def pending_private_key(self) -> Path:
        """A key made for an enrollment under way; it becomes private_key when its certificate is imported.

        Until then the agent keeps the key and certificate it has: a new key beside an old certificate
        would look like a mismatch to it.
        """
        return self.private_dir / "key.pending.pem"

    @property
    def pending_request(self) -> Path:
        """The certificate signing request of the enrollment under way."""
        return self.own_dir / "request.csr"

    @property
    def trusted_dir(self) -> Path:
        return self.root / "trusted"

    @property
    def trusted_certs(self) -> Path:
        return self.trusted_dir / "certs"

    @property
    def trusted_crl(self) -> Path:
        return self.trusted_dir / "crl"

    @property
    def issuers_dir(self) -> Path:
        return self.root / "issuers"

    @property
    def issuer_certs(self) -> Path:
        return self.issuers_dir / "certs"

    @property
    def issuer_crl(self) -> Path:
        return self.issuers_dir / "crl"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def signers(self) -> Path:
        """Whom the agent trusts to sign its config and models: CA or signer certificates, and CRLs.

        Apart from trusted/certs on purpose: trusting an OPC UA client must never let it release a config.
        """
        return self.root / "signers"

    @property
    def require_signed_marker(self) -> Path:
        """Present: the config and every model must carry a valid detached signature (see signatures)."""
        return self.root / "require_signed"

    @property
    def trust_list_dirs(self) -> tuple[Path, ...]:
        """The directories whose contents decide whom we trust."""
        return (self.trusted_certs, self.trusted_crl, self.issuer_certs, self.issuer_crl)

    def ensure(self) -> None:
        """Create every directory of the store; the private one is always made 0700.

        Existing public directories keep the modes an administrator gave them. A private directory
        that others can enter is tightened, because the key in it would be readable.
        """
        public = (
            self.root,
            self.own_dir,
            self.trusted_dir,
            self.issuers_dir,
            *self.trust_list_dirs,
            self.rejected,
        )
        for directory in public:
            _make_dir(directory, PUBLIC_DIR_MODE)
        _make_dir(self.private_dir, PRIVATE_DIR_MODE)
        mode = stat.S_IMODE(self.private_dir.stat().st_mode)
        if mode != PRIVATE_DIR_MODE:
            log.warning("%s had mode %o; setting it to %o", self.private_dir, mode, PRIVATE_DIR_MODE)
            os.chmod(self.private_dir, PRIVATE_DIR_MODE)


def _make_dir(path: Path, mode: int) -> None:
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        if not path.is_dir():
            raise
        return
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=mode)
    # mkdir's mode is filtered through the umask; the store's modes must not depend on it.
    os.chmod(path, mode)


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` so that readers see the old file or the new one, never a part.

    The file is created with ``mode`` from the start (a key is never readable by others, not even for
    a moment) and synced to disk, as an edge device may lose power at any time.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        # The umask may have taken bits away from ``mode``; the file must have exactly these.
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Make a file created, renamed or removed in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
