"""Detached signatures on the config and the model files, and when the agent demands them.

A release signs a file with ``edge-provision sign FILE``: a detached CMS (PKCS #7) SignedData in
``FILE.sig`` (DER, SHA-256, the signer's certificate inside). When signatures are required, the agent acts
on a config, a model card or a model file only if its .sig verifies over the very bytes the agent read,
and the signer's certificate has extendedKeyUsage codeSigning, is valid now, is not revoked by a CRL in
pki/signers, and chains up to a certificate in pki/signers.

Where the switch is. Signatures are required while the marker file ``require_signed`` exists in the
*provisioned* PKI: ``$EDGE_AGENT_PKI``, else /var/lib/edge-agent/pki, where `edge-provision image` seeds
the device's identity. `edge-provision policy require-signed on|off` writes and removes it; the agent
never does. The switch is not a key of the config on purpose: a switch inside the file it protects is
turned off by the very tampering it should catch. For the same reason the PKI is not found through the
config's ``opcua.pki``, which a tampered config could point at a directory without the marker; the file
is verified before it is parsed at all. Whoever can delete the marker can write the agent's PKI anyway.

Why verification is written here. cryptography builds CMS signatures but does not verify them. Only a
small part of CMS (RFC 5652) needs checking: one SignerInfo with signed attributes, whose messageDigest
is the hash of the content and whose DER encoding the signer's key signed. A few dozen lines of DER
reading do that without another dependency; the certificate chain is left to cryptography's
x509.verification, as for the OPC UA peers.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    VerificationError,
)

from .certificates import chain_verifier, verifies_crl
from .layout import PkiLayout

log = logging.getLogger(__name__)

DEFAULT_PKI = Path("/var/lib/edge-agent/pki")
PKI_ENVIRONMENT = "EDGE_AGENT_PKI"
"""Names the provisioned PKI when the agent keeps it somewhere else than DEFAULT_PKI."""
SIGNATURE_SUFFIX = ".sig"
MAX_SIGNATURE_BYTES = 1_000_000

_CERTIFICATE_SUFFIXES = (".der", ".pem", ".crt", ".cer")
_CRL_SUFFIX = ".crl"

_SIGNED_DATA = "1.2.840.113549.1.7.2"
_DATA = "1.2.840.113549.1.7.1"
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"  # as OpenSSL writes it: the hash is the digest algorithm's
_RSA_WITH: dict[str, type[hashes.HashAlgorithm]] = {
    "1.2.840.113549.1.1.11": hashes.SHA256,
    "1.2.840.113549.1.1.12": hashes.SHA384,
    "1.2.840.113549.1.1.13": hashes.SHA512,
}
_ECDSA_WITH: dict[str, type[hashes.HashAlgorithm]] = {
    "1.2.840.10045.4.3.2": hashes.SHA256,
    "1.2.840.10045.4.3.3": hashes.SHA384,
    "1.2.840.10045.4.3.4": hashes.SHA512,
}

_SEQUENCE, _SET, _OID, _INTEGER, _OCTET_STRING = 0x30, 0x31, 0x06, 0x02, 0x04
_CONTEXT_0, _CONTEXT_1, _CONTEXT_0_PRIMITIVE = 0xA0, 0xA1, 0x80


class SignatureError(Exception):
    """A file's signature is missing or does not hold; the message says why."""


def signature_file(path: Path) -> Path:
    """Where the detached signature of ``path`` is: beside it, with .sig appended."""
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def provisioned_pki(environ: Mapping[str, str] | None = None) -> PkiLayout:
    """The PKI whose marker and signers decide: $EDGE_AGENT_PKI, else DEFAULT_PKI."""
    environ = os.environ if environ is None else environ
    return PkiLayout(Path(environ.get(PKI_ENVIRONMENT) or DEFAULT_PKI))


@dataclass(frozen=True, slots=True)
class Signers:
    """Whom signatures may chain up to: the certificates and CRLs of pki/signers."""

    anchors: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    source: str = "the trusted signers"


def load_signers(directory: Path) -> Signers:
    """The certificates and CRLs in ``directory``; an unreadable file is skipped with a warning."""
    anchors: list[x509.Certificate] = []
    crls: list[x509.CertificateRevocationList] = []
    try:
        paths = sorted(path for path in directory.iterdir() if path.is_file())
    except FileNotFoundError:
        paths = []
    except OSError as exc:
        log.warning("cannot read %s (%s): nobody is trusted to sign", directory, exc.strerror)
        paths = []
    for path in paths:
        suffix = path.suffix.lower()
        if suffix not in (*_CERTIFICATE_SUFFIXES, _CRL_SUFFIX):
            continue
        try:
            data = path.read_bytes()
            pem = data.lstrip().startswith(b"-----BEGIN")
            if suffix == _CRL_SUFFIX:
                crls.append(x509.load_pem_x509_crl(data) if pem else x509.load_der_x509_crl(data))
            elif pem:
                anchors.extend(x509.load_pem_x509_certificates(data))
            else:
                anchors.append(x509.load_der_x509_certificate(data))
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s: %s", path, exc)
    return Signers(anchors, crls, str(directory))


@dataclass(frozen=True, slots=True)
class SignedFilePolicy:
    """Whether the files the agent acts on must be signed, and whom it trusts to sign them."""

    layout: PkiLayout
    required: bool

    @classmethod
    def of(cls, layout: PkiLayout) -> SignedFilePolicy:
        return cls(layout, _marker_present(layout.require_signed_marker))

    @classmethod
    def provisioned(cls, environ: Mapping[str, str] | None = None) -> SignedFilePolicy:
        return cls.of(provisioned_pki(environ))

    def check(self, path: Path, content: bytes, *, now: datetime | None = None) -> x509.Certificate | None:
        """None when signatures are not required; else the signer of ``content`` (the bytes read from
        ``path``), or SignatureError with the reason and what requires the signature."""
        if not self.required:
            return None
        try:
            signers = load_signers(self.layout.signers)
            if not signers.anchors:
                raise SignatureError(
                    f"nobody is trusted to sign: {self.layout.signers} holds no certificate "
                    "(add the site CA with `edge-provision trust add CA_CERT --signer`)"
                )
            signer = verify_detached(content, read_signature(path), signers, now)
        except SignatureError as exc:
            raise SignatureError(
                f"{exc} ({self.layout.require_signed_marker} requires signed files)"
            ) from None
        log.info("%s: signed by %s", path, signer.subject.rfc4514_string())
        return signer


def _marker_present(marker: Path) -> bool:
    try:
        marker.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        log.warning("cannot tell whether %s exists (%s); requiring signed files", marker, exc.strerror)
    return True


def read_signature(path: Path) -> bytes:
    """The content of ``path``'s .sig; SignatureError when it is missing, unreadable or absurdly large."""
    signature = signature_file(path)
    try:
        with signature.open("rb") as file:
            data = file.read(MAX_SIGNATURE_BYTES + 1)
    except FileNotFoundError:
        raise SignatureError(f"not signed: {signature.name} is missing") from None
    except OSError as exc:
        raise SignatureError(f"its signature {signature} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_SIGNATURE_BYTES:
        raise SignatureError(f"{signature.name} is larger than {MAX_SIGNATURE_BYTES} bytes: not a signature")
    return data


def verify_detached(
    content: bytes, signature: bytes, signers: Signers, now: datetime | None = None
) -> x509.Certificate:
    """The certificate that signed ``content``, checked up to ``signers``; SignatureError if it fails."""
    signer, certificates = signer_of(content, signature)
    _check_signer(signer, certificates, signers, now or datetime.now(UTC))
    return signer


def signer_of(content: bytes, signature: bytes) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The certificate whose key made the detached CMS ``signature`` over ``content``, and all the
    certificates the signature carries. Whether anybody trusts that certificate is not checked here."""
    try:
        signed = _SignedData.parse(signature)
        signed.check(content)
    except (ValueError, IndexError) as exc:
        raise SignatureError(f"the signature is not a DER CMS SignedData: {exc}") from None
    return signed.signer, signed.certificates


def _check_signer(
    signer: x509.Certificate, carried: Sequence[x509.Certificate], signers: Signers, now: datetime
) -> None:
    who = signer.subject.rfc4514_string() or "(no subject)"
    if now < signer.not_valid_before_utc:
        raise SignatureError(
            f"the signer's certificate {who} is valid from {signer.not_valid_before_utc.isoformat()} only"
        )
    if now > signer.not_valid_after_utc:
        raise SignatureError(
            f"the signer's certificate {who} expired on {signer.not_valid_after_utc.isoformat()}; "
            "sign the file again with a current one"
        )
    problem = _signing_usage_problem(signer)
    if problem:
        raise SignatureError(f"the signer's certificate {who} {problem}")
    verifier = chain_verifier(signers.anchors, now)
    try:
        chain = verifier.verify(signer, [c for c in carried if c != signer]).chain
    except VerificationError as exc:
        raise SignatureError(
            f"the signer {who} is not trusted: its certificate does not chain up to one in "
            f"{signers.source} ({exc})"
        ) from None
    _check_revocation(chain, signers.crls)


def _signing_usage_problem(certificate: x509.Certificate) -> str | None:
    try:
        extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return "has no extendedKeyUsage codeSigning: it is not a signing certificate"
    if ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        return "has no extendedKeyUsage codeSigning: it is not a signing certificate"
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if not (usage.digital_signature or usage.content_commitment):
        return "has a keyUsage without digitalSignature: its key may not sign"
    return None


def _check_revocation(
    chain: Sequence[x509.Certificate], crls: Sequence[x509.CertificateRevocationList]
) -> None:
    """A CRL counts only if the issuer's certificate in the chain verifies it; one that does not is an
    error, as nobody can tell then whether the certificate is revoked."""
    for certificate, issuer in itertools.pairwise(chain):
        for crl in crls:
            if crl.issuer != issuer.subject:
                continue
            name = certificate.subject.rfc4514_string()
            if not verifies_crl(issuer, crl):
                raise SignatureError(
                    f"a CRL of {issuer.subject.rfc4514_string()} does not verify: cannot tell whether "
                    f"{name} is revoked"
                )
            if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
                raise SignatureError(f"the signer's certificate {name} is revoked")


@dataclass(frozen=True, slots=True)
class _Tlv:
    """One DER element: its tag byte, its content, and its whole encoding."""

    tag: int
    value: bytes
    encoded: bytes

    def items(self) -> list[_Tlv]:
        return _read_all(self.value)

    def expect(self, tag: int, what: str) -> _Tlv:
        if self.tag != tag:
            raise ValueError(f"{what}: tag 0x{self.tag:02x} where 0x{tag:02x} belongs")
        return self


def _read(data: bytes, offset: int) -> tuple[_Tlv, int]:
    if offset + 2 > len(data):
        raise ValueError("truncated")
    tag, length = data[offset], data[offset + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("a high tag number, which CMS does not use")
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("an indefinite or oversized length (BER, not DER)")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > len(data):
        raise ValueError("truncated")
    return _Tlv(tag, data[start:end], data[offset:end]), end


def _read_all(data: bytes) -> list[_Tlv]:
    items, offset = [], 0
    while offset < len(data):
        item, offset = _read(data, offset)
        items.append(item)
    return items


def _read_one(data: bytes) -> _Tlv:
    item, end = _read(data, 0)
    if end != len(data):
        raise ValueError("bytes after the end")
    return item


def _oid(item: _Tlv) -> str:
    item.expect(_OID, "object identifier")
    numbers, number = [], 0
    for byte in item.value:
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            numbers.append(number)
            number = 0
    if not numbers:
        raise ValueError("an empty object identifier")
    first = min(numbers[0] // 40, 2)
    return ".".join(map(str, [first, numbers[0] - 40 * first, *numbers[1:]]))


def _algorithm(item: _Tlv) -> str:
    return _oid(item.expect(_SEQUENCE, "algorithm identifier").items()[0])


@dataclass(frozen=True, slots=True)
class _SignedData:
    """The parts of a detached SignedData with one signer that verification needs."""

    certificates: list[x509.Certificate]
    signer: x509.Certificate
    digest: type[hashes.HashAlgorithm]
    signed_attributes: _Tlv
    signature_algorithm: str
    signature: bytes

    @classmethod
    def parse(cls, der: bytes) -> _SignedData:
        content_type, content = _read_one(der).expect(_SEQUENCE, "ContentInfo").items()
        if _oid(content_type) != _SIGNED_DATA:
            raise SignatureError("the signature is a CMS message, but not SignedData")
        fields = (
            _read_one(content.expect(_CONTEXT_0, "content").value).expect(_SEQUENCE, "SignedData").items()
        )
        encapsulated, rest = fields[2], fields[3:]
        encapsulated_items = encapsulated.expect(_SEQUENCE, "encapContentInfo").items()
        if _oid(encapsulated_items[0]) != _DATA:
            raise SignatureError("the signature is not over plain data")
        if len(encapsulated_items) > 1:
            raise SignatureError("the signature carries its content; a detached signature is expected")
        certificates: list[x509.Certificate] = []
        signer_infos: list[_Tlv] = []
        for item in rest:
            if item.tag == _CONTEXT_0:
                certificates = [
                    x509.load_der_x509_certificate(entry.encoded)
                    for entry in item.items()
                    if entry.tag == _SEQUENCE
                ]
            elif item.tag == _SET:
                signer_infos = item.items()
        if len(signer_infos) != 1:
            raise SignatureError(f"the signature has {len(signer_infos)} signers; one is expected")
        return cls._of_signer_info(signer_infos[0], certificates)

    @classmethod
    def _of_signer_info(cls, info: _Tlv, certificates: list[x509.Certificate]) -> _SignedData:
        _version, sid, digest_algorithm, *rest = info.expect(_SEQUENCE, "SignerInfo").items()
        if not rest or rest[0].tag != _CONTEXT_0:
            raise SignatureError("the signature has no signed attributes")
        signed_attributes, signature_algorithm, signature = rest[0], rest[1], rest[2]
        digest = _DIGESTS.get(_algorithm(digest_algorithm))
        if digest is None:
            raise SignatureError(
                f"unsupported digest algorithm {_algorithm(digest_algorithm)}; SHA-2 is expected"
            )
        return cls(
            certificates=certificates,
            signer=_find_signer(sid, certificates),
            digest=digest,
            signed_attributes=signed_attributes,
            signature_algorithm=_algorithm(signature_algorithm),
            signature=signature.expect(_OCTET_STRING, "signature").value,
        )

    def check(self, content: bytes) -> None:
        """SignatureError unless the signed attributes hold ``content``'s digest and the signer's key
        signed them."""
        attributes: dict[str, list[_Tlv]] = {}
        for attribute in self.signed_attributes.items():
            kind, values = attribute.expect(_SEQUENCE, "attribute").items()
            oid = _oid(kind)
            if oid in attributes:
                raise SignatureError(f"the signed attribute {oid} is there twice")
            attributes[oid] = values.expect(_SET, "attribute values").items()
        content_types = attributes.get(_CONTENT_TYPE, [])
        if len(content_types) != 1 or _oid(content_types[0]) != _DATA:
            raise SignatureError("the signed attributes do not say the content is plain data")
        digests = attributes.get(_MESSAGE_DIGEST, [])
        if len(digests) != 1:
            raise SignatureError("the signed attributes hold no message digest")
        hasher = hashes.Hash(self.digest())
        hasher.update(content)
        if not hmac.compare_digest(hasher.finalize(), digests[0].expect(_OCTET_STRING, "digest").value):
            raise SignatureError(
                f"the content does not match its signature: it was changed after it was signed "
                f"(its {self.digest().name.upper().replace('SHA', 'SHA-')} is not the one signed)"
            )
        # RFC 5652 5.4: the signature is over the attributes encoded as a SET OF, not as the [0] field.
        signed = bytes([_SET]) + self.signed_attributes.encoded[1:]
        self._verify(signed)

    def _verify(self, signed: bytes) -> None:
        key = self.signer.public_key()
        algorithm = self.signature_algorithm
        try:
            if algorithm == _RSA_ENCRYPTION or algorithm in _RSA_WITH:
                if not isinstance(key, rsa.RSAPublicKey):
                    raise SignatureError("the signature is RSA, the signer's key is not")
                key.verify(
                    self.signature, signed, padding.PKCS1v15(), _RSA_WITH.get(algorithm, self.digest)()
                )
            elif algorithm in _ECDSA_WITH:
                if not isinstance(key, ec.EllipticCurvePublicKey):
                    raise SignatureError("the signature is ECDSA, the signer's key is not")
                key.verify(self.signature, signed, ec.ECDSA(_ECDSA_WITH[algorithm]()))
            else:
                raise SignatureError(
                    f"unsupported signature algorithm {algorithm}; RSA PKCS #1 v1.5 or ECDSA is expected"
                )
        except InvalidSignature:
            raise SignatureError(
                "the signature does not verify with the signer's key: it was altered or made with another key"
            ) from None


def _find_signer(sid: _Tlv, certificates: list[x509.Certificate]) -> x509.Certificate:
    if sid.tag == _SEQUENCE:  # issuerAndSerialNumber
        issuer, serial = sid.items()
        number = int.from_bytes(serial.expect(_INTEGER, "serial number").value, "big", signed=True)
        for certificate in certificates:
            if certificate.serial_number == number and certificate.issuer.public_bytes() == issuer.encoded:
                return certificate
    elif sid.tag == _CONTEXT_0_PRIMITIVE:  # subjectKeyIdentifier
        for certificate in certificates:
            try:
                ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            except x509.ExtensionNotFound:
                continue
            if ski.digest == sid.value:
                return certificate
    raise SignatureError("the signer's certificate is not in the signature")
