"""Signed releases: a signing certificate from the site CA, detached signatures, and the device's policy.

A signer is a person or a build job that releases configs and models, e.g. "Line 3 release". Its
certificate is an end-entity certificate of the site CA with keyUsage digitalSignature and
nonRepudiation and extendedKeyUsage codeSigning only: it cannot serve OPC UA, and an OPC UA application
certificate cannot sign a release. The signer's key is made where the CA is and is handed to the signer;
it signs on the signer's machine. A signature is a detached CMS SignedData (DER, SHA-256) with the
signer's certificate inside, as `openssl cms -verify` reads it; the agent checks it with
edge_agent.identity.signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge_agent.identity import PkiLayout
from edge_agent.identity.signatures import SignatureError, load_signers, signature_file, signer_of

from .ca_index import IssuedRecord
from .ca_store import SiteCa
from .errors import InputError, ProvisioningError, VerificationFailed
from .files import check_output, load_certificates, make_private_dir, read_input, write_private, write_public
from .validity import BACKDATE, utc_now

SignerKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

SIGNER_KEY_TYPES = ("ecdsa-p256", "rsa3072")
DEFAULT_SIGNER_KEY_TYPE = "ecdsa-p256"
DEFAULT_SIGNER_VALID_DAYS = 730
NAME_MAX = 64

SIGNER_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
SIGNER_EXTENDED_KEY_USAGE = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING])

REQUIRE_SIGNED_TEXT = (
    "Present: edge-agent refuses a config, model card or model file without a valid detached signature\n"
    "(FILE.sig) by a signer that chains up to a certificate in signers/.\n"
    "Written by `edge-provision policy require-signed on`; removed by `... off`.\n"
)


@dataclass(frozen=True, slots=True)
class SignerFiles:
    """What `ca issue-signer` writes: DIR/ (0700) with signer.key.pem (0600) and signer.pem."""

    directory: Path

    @property
    def key(self) -> Path:
        return self.directory / "signer.key.pem"

    @property
    def certificate(self) -> Path:
        return self.directory / "signer.pem"


@dataclass(frozen=True, slots=True)
class Signer:
    """A signing key with its certificate, and the certificates above it to put into signatures."""

    key: SignerKey
    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IssuedSigner:
    files: SignerFiles
    certificate: x509.Certificate
    notes: list[str]


def issue_signer(
    ca: SiteCa,
    name: str,
    output: Path,
    *,
    key_type: str = DEFAULT_SIGNER_KEY_TYPE,
    valid_days: int = DEFAULT_SIGNER_VALID_DAYS,
    now: datetime | None = None,
) -> IssuedSigner:
    """Make a signer's key and certificate in ``output``, recorded in the CA's index to be revocable."""
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise InputError(f"--name must have 1 to {NAME_MAX} characters (got {len(name)})")
    if key_type not in SIGNER_KEY_TYPES:
        raise InputError(f"--key-type must be one of {', '.join(SIGNER_KEY_TYPES)} (got {key_type!r})")
    if valid_days < 1:
        raise InputError(f"--valid-days must be at least 1 (got {valid_days})")
    start = utc_now(now)
    if ca.certificate.not_valid_after_utc <= start:
        raise ProvisioningError(f"the CA certificate {ca.directory.certificate} has expired; make a new CA")
    files = SignerFiles(output)
    make_private_dir(output)
    there = [path.name for path in (files.key, files.certificate) if path.exists()]
    if there:
        raise ProvisioningError(
            f"{output} already holds a signer ({', '.join(there)}); it is left as it is. Choose another -o"
        )
    notes = []
    not_after = start + timedelta(days=valid_days)
    if not_after > ca.certificate.not_valid_after_utc:
        not_after = ca.certificate.not_valid_after_utc
        notes.append(f"valid until {not_after.isoformat()} only, when the CA certificate ends")
    key: SignerKey = (
        ec.generate_private_key(ec.SECP256R1())
        if key_type == "ecdsa-p256"
        else rsa.generate_private_key(public_exponent=65537, key_size=3072)
    )
    certificate = _build_signer(
        ca, name, key, max(start - BACKDATE, ca.certificate.not_valid_before_utc), not_after
    )
    with ca.directory.locked():
        index = ca.directory.load_index()
        index.certificates.append(IssuedRecord.of(certificate))
        index.save(ca.directory.index)
    write_private(files.key, _key_pem(key))
    chain = (certificate, ca.certificate)
    write_public(files.certificate, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    return IssuedSigner(files, certificate, notes)


def _build_signer(
    ca: SiteCa, name: str, key: SignerKey, not_before: datetime, not_after: datetime
) -> x509.Certificate:
    ca_ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(SIGNER_KEY_USAGE, critical=True)
        .add_extension(SIGNER_EXTENDED_KEY_USAGE, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca.key, hashes.SHA256())
    )


def load_signer(key_path: Path, certificate_path: Path, *, now: datetime | None = None) -> Signer:
    """The signer in a key file and a certificate file (the signer's first, then the CAs above it).

    VerificationFailed when the key is not the certificate's, or the certificate could not sign a
    release the agent accepts: not for code signing, or not valid now.
    """
    certificates = load_certificates(certificate_path, "signer certificate")
    certificate, chain = certificates[0], certificates[1:]
    key = _load_key(key_path)
    if key.public_key() != certificate.public_key():
        raise VerificationFailed(f"{key_path} is not the key of the certificate {certificate_path}")
    who = certificate.subject.rfc4514_string()
    try:
        extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        code_signing = ExtendedKeyUsageOID.CODE_SIGNING in extended
    except x509.ExtensionNotFound:
        code_signing = False
    if not code_signing:
        raise VerificationFailed(
            f"{certificate_path} ({who}) is not a signing certificate: it lacks extendedKeyUsage "
            "codeSigning. Make one with `edge-provision ca issue-signer`"
        )
    start = utc_now(now)
    begins, ends = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if not begins <= start <= ends:
        raise VerificationFailed(
            f"{certificate_path} ({who}) is not valid now ({begins.isoformat()} to {ends.isoformat()}); "
            "the agent would refuse its signatures"
        )
    return Signer(key, certificate, chain)


def sign_content(content: bytes, signer: Signer) -> bytes:
    """A detached CMS signature of ``content`` (DER), carrying the signer's certificate and intermediates."""
    builder = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(signer.certificate, signer.key, hashes.SHA256())
    )
    for certificate in signer.chain:
        if certificate.subject != certificate.issuer:  # a root is the verifier's to have, not ours to send
            builder = builder.add_certificate(certificate)
    # Binary: sign the bytes as they are; without it the content would be canonicalised to CRLF first.
    options = [
        pkcs7.PKCS7Options.DetachedSignature,
        pkcs7.PKCS7Options.Binary,
        pkcs7.PKCS7Options.NoCapabilities,
    ]
    signature = builder.sign(serialization.Encoding.DER, options)
    try:
        found, _ = signer_of(content, signature)  # read back as the agent reads it
    except SignatureError as exc:
        raise ProvisioningError(f"the signature just made does not verify: {exc}") from None
    if found != signer.certificate:
        raise ProvisioningError("the signature just made names another signer")
    return signature


@dataclass(frozen=True, slots=True)
class SignedFile:
    file: Path
    signature: Path
    sha256: str


def sign_files(files: Sequence[Path], signer: Signer, output: Path | None = None) -> list[SignedFile]:
    """Sign each file into FILE.sig (or ``output``, for a single file); all are read before any is written."""
    if output is not None and len(files) != 1:
        raise InputError("-o names the signature of one file; leave it out to sign several (each FILE.sig)")
    contents = [(path, read_input(path, "file to sign")) for path in files]
    targets = [output if output is not None else signature_file(path) for path, _ in contents]
    for target in targets:
        check_output(target)
    signed = []
    for (path, content), target in zip(contents, targets, strict=True):
        write_public(target, sign_content(content, signer))
        digest = hashes.Hash(hashes.SHA256())
        digest.update(content)
        signed.append(SignedFile(path, target, digest.finalize().hex()))
    return signed


@dataclass(frozen=True, slots=True)
class SigningPolicy:
    required: bool
    marker: Path
    signers: list[x509.Certificate]


def signing_policy(layout: PkiLayout) -> SigningPolicy:
    return SigningPolicy(
        layout.require_signed_marker.exists(),
        layout.require_signed_marker,
        load_signers(layout.signers).anchors,
    )


def require_signed(layout: PkiLayout, on: bool) -> SigningPolicy:
    """Write or remove the marker; switching on is refused while nobody is trusted to sign."""
    if on:
        if not layout.root.is_dir():
            raise InputError(f"{layout.root} is no PKI directory")
        if not load_signers(layout.signers).anchors:
            raise ProvisioningError(
                f"{layout.signers} holds no certificate: the agent would refuse every config and model. "
                f"Add the site CA first: edge-provision trust add CA_CERT --signer --pki {layout.root}"
            )
        write_public(layout.require_signed_marker, REQUIRE_SIGNED_TEXT.encode())
    else:
        layout.require_signed_marker.unlink(missing_ok=True)
    return signing_policy(layout)


def _load_key(path: Path) -> SignerKey:
    data = read_input(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # The exception text describes the format only, never the key's content.
        raise InputError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise InputError(f"{path} is neither an RSA nor an ECDSA key")
    return key


def _key_pem(key: SignerKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
