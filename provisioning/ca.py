"""`ca init`: a self-signed site CA that signs the OPC UA application certificates of one site."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .ca_index import CaIndex
from .ca_store import CaDirectory, SiteCa
from .errors import InputError, ProvisioningError
from .files import make_private_dir, private_key_pem, write_private, write_public
from .name_constraints import PermittedNames
from .validity import BACKDATE, utc_now

KEY_TYPES = {"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}
DEFAULT_KEY_TYPE = "rsa3072"
DEFAULT_VALID_DAYS = 3650
COMMON_NAME_MAX = 64


def init_ca(
    root: Path,
    *,
    name: str,
    key_type: str = DEFAULT_KEY_TYPE,
    valid_days: int = DEFAULT_VALID_DAYS,
    permitted: PermittedNames | None = None,
    now: datetime | None = None,
) -> SiteCa:
    """Make a CA in ``root``; ProvisioningError if one (or any part of one) is there already."""
    if not 1 <= len(name.strip()) <= COMMON_NAME_MAX:
        raise InputError(f"--name must have 1 to {COMMON_NAME_MAX} characters (got {len(name.strip())})")
    if key_type not in KEY_TYPES:
        raise InputError(f"--key-type must be one of {', '.join(KEY_TYPES)} (got {key_type!r})")
    if valid_days < 1:
        raise InputError(f"--valid-days must be at least 1 (got {valid_days})")
    permitted = permitted or PermittedNames()
    directory = CaDirectory(root)
    make_private_dir(root)
    with directory.locked():
        existing = [path.name for path in directory.files if path.exists()]
        if existing:
            raise ProvisioningError(
                f"{root} already holds a CA ({', '.join(existing)}); it is left as it is. "
                "Choose another --dir for a new CA"
            )
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_TYPES[key_type])
        certificate = build_ca_certificate(key, name.strip(), valid_days, permitted, now)
        write_private(directory.key, private_key_pem(key))
        write_public(directory.certificate, certificate.public_bytes(serialization.Encoding.PEM))
        directory.write_policy(permitted)
        CaIndex().save(directory.index)
    return SiteCa(directory, certificate, key, permitted)


def build_ca_certificate(
    key: rsa.RSAPrivateKey,
    name: str,
    valid_days: int,
    permitted: PermittedNames,
    now: datetime | None = None,
) -> x509.Certificate:
    """A root that signs end-entity certificates only (pathlen 0), within ``permitted``'s DNS and IP names."""
    start = utc_now(now)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - BACKDATE)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    constraints = permitted.extension()
    if constraints is not None:
        # RFC 5280 4.2.1.10: conforming CAs mark name constraints critical.
        builder = builder.add_extension(constraints, critical=True)
    return builder.sign(key, hashes.SHA256())
