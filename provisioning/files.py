"""Reading certificates, requests and keys in PEM or DER, and writing files the way the PKI store does."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.identity import write_atomically
from edge_agent.identity.layout import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, PUBLIC_FILE_MODE

from .errors import InputError

_PEM_START = b"-----BEGIN"


def read_input(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read: {exc.strerror}") from None


def is_pem(data: bytes) -> bool:
    return data.lstrip().startswith(_PEM_START)


def load_request(path: Path) -> x509.CertificateSigningRequest:
    data = read_input(path, "certificate signing request")
    try:
        if is_pem(data):
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError as exc:
        raise InputError(f"{path} is not a certificate signing request (PEM or DER): {exc}") from None


def load_certificates(path: Path, what: str = "certificate file") -> list[x509.Certificate]:
    """Every certificate in a PEM file (in file order), or the one in a DER file."""
    data = read_input(path, what)
    try:
        if is_pem(data):
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise InputError(f"{path} holds no certificate (PEM or DER): {exc}") from None


def load_rsa_private_key(path: Path) -> rsa.RSAPrivateKey:
    data = read_input(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # The exception text describes the format only, never the key's content.
        raise InputError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InputError(f"{path} is not an RSA private key")
    return key


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_public(path: Path, data: bytes) -> None:
    _write(path, data, PUBLIC_FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    _write(path, data, PRIVATE_FILE_MODE)


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and its parents) for a private key: the owner's alone, 0700."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    except FileExistsError:
        raise InputError(f"{directory} exists and is not a directory") from None
    except OSError as exc:
        raise InputError(f"cannot create {directory}: {exc.strerror}") from None
    # Whatever the umask or the directory's old mode.
    os.chmod(directory, PRIVATE_DIR_MODE)


def check_output(path: Path) -> None:
    """InputError unless ``path`` can be created: checked before the work whose result goes there."""
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the directory {path.parent} does not exist")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a directory")


def _write(path: Path, data: bytes, mode: int) -> None:
    check_output(path)
    try:
        write_atomically(path, data, mode)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
