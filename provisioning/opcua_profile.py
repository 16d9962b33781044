"""What an OPC UA application instance certificate must contain (OPC UA Part 6, 6.2.2).

One place for the request a device makes, the certificate the CA issues and the check at import:

- an RSA key of 2048 to 4096 bits, the range every RSA security policy the agent offers accepts;
- keyUsage digitalSignature, nonRepudiation, keyEncipherment and dataEncipherment (asyncua refuses a
  peer whose certificate lacks any of them, nonRepudiation included);
- extendedKeyUsage serverAuth and clientAuth, as the agent is a server and may be a client;
- exactly one URI in subjectAltName: the application URI, which peers compare with ApplicationUri.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096
RSA_KEY_SIZES = (2048, 3072, 4096)

KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,
    key_encipherment=True,
    data_encipherment=True,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)
EXTENDED_KEY_USAGE = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])

_USAGE_NAMES = {
    "digital_signature": "digitalSignature",
    "content_commitment": "nonRepudiation",
    "key_encipherment": "keyEncipherment",
    "data_encipherment": "dataEncipherment",
}
_EXTENDED_USAGE_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
}


def key_problem(public_key: PublicKeyTypes) -> str | None:
    """Why ``public_key`` cannot serve an OPC UA application, or None if it can."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        return "its key is not an RSA key, which OPC UA's security policies need"
    bits = public_key.key_size
    if not MIN_RSA_BITS <= bits <= MAX_RSA_BITS:
        return (
            f"its RSA key has {bits} bits; OPC UA's security policies need {MIN_RSA_BITS} to {MAX_RSA_BITS}"
        )
    return None


def alt_names(extensions: x509.Extensions) -> list[x509.GeneralName]:
    try:
        return list(extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def application_uris(names: list[x509.GeneralName]) -> list[str]:
    return [name.value for name in names if isinstance(name, x509.UniformResourceIdentifier)]


def usage_problems(certificate: x509.Certificate) -> list[str]:
    """The key usages and extended key usages an application instance certificate lacks."""
    problems = []
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        missing = [name for attribute, name in _USAGE_NAMES.items() if not getattr(usage, attribute)]
    except x509.ExtensionNotFound:
        missing = list(_USAGE_NAMES.values())
    if missing:
        problems.append(f"its keyUsage lacks {', '.join(missing)}")
    try:
        extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        missing = [name for oid, name in _EXTENDED_USAGE_NAMES.items() if oid not in extended]
    except x509.ExtensionNotFound:
        missing = list(_EXTENDED_USAGE_NAMES.values())
    if missing:
        problems.append(f"its extendedKeyUsage lacks {', '.join(missing)}")
    return problems
