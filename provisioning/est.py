"""Online enrollment: an EST client (RFC 7030) that gets the device's certificate from the site's CA.

The device makes its key as in offline enrollment (`device init`: the pending key, the request beside
it), sends the request over HTTPS and installs the answer with every check of `enroll import`. The
server is always authenticated: its TLS certificate must chain up to a trust anchor given for it. The
device authenticates with a user name and password (HTTP basic auth, inside TLS only) or, to renew,
with its current certificate and key as TLS client certificate.

What is sent and received is what RFC 7030 prescribes: the request as base64 DER PKCS#10
(application/pkcs10), certificates as base64 DER PKCS#7 certs-only (application/pkcs7-mime).
"""

from __future__ import annotations

import base64
import binascii
import http.client
import ssl
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from edge_agent.identity import PkiLayout
from edge_agent.identity.certificates import chain_problem, is_ca, is_root

from .device import DeviceRequest, pending_key_path, pending_request_path
from .enroll import Enrolled, import_certificate
from .errors import InputError, ProvisioningError, VerificationFailed
from .files import load_certificates, load_rsa_private_key, read_input, write_private, write_public
from .validity import utc_now

WELL_KNOWN = "/.well-known/est"
PKCS10 = "application/pkcs10"
PKCS7_MIME = "application/pkcs7-mime"
TIMEOUT_S = 30.0
# A server's error text is shown to the technician; a page of HTML is not what they need to read.
MESSAGE_MAX = 500
_OPERATIONS = ("cacerts", "simpleenroll", "simplereenroll")


class EstError(ProvisioningError):
    """The EST server answered with an error, or not at all; its own words are in the message."""


class HeldForApproval(EstError):
    """The server accepted the request but its operator has to approve it (HTTP 202)."""


@dataclass(frozen=True, slots=True)
class EstServer:
    """Where the EST server is: host, port and its path, /.well-known/est with an optional CA label."""

    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> EstServer:
        """InputError unless ``url`` is https://HOST[:PORT][/.well-known/est[/LABEL]]."""
        parts = urlsplit(url.strip())
        if parts.scheme == "http":
            raise InputError(
                f"refusing {url}: EST over http:// would send the password and the request in the clear; "
                "give the server's https:// URL"
            )
        if parts.scheme != "https" or not parts.hostname:
            raise InputError(f"{url!r} is not an EST server URL like https://est.plant3.example:8443")
        if parts.username is not None or parts.password is not None:
            raise InputError(f"give the user with --user and the password in a file, not in the URL {url!r}")
        if parts.query or parts.fragment:
            raise InputError(f"an EST server URL has no ?query or #fragment (got {url!r})")
        try:
            port = parts.port or 443
        except ValueError:
            raise InputError(f"{url!r} has no valid port") from None
        path = parts.path.rstrip("/") or WELL_KNOWN
        label = path.removeprefix(WELL_KNOWN)
        if not path.startswith(WELL_KNOWN) or (label and ("/" in label[1:] or not label.startswith("/"))):
            raise InputError(
                f"the path of {url!r} must be {WELL_KNOWN} or {WELL_KNOWN}/LABEL (RFC 7030), or be left out"
            )
        if label[1:] in _OPERATIONS:
            raise InputError(f"give the server's URL without the operation /{label[1:]} (got {url!r})")
        return cls(parts.hostname, port, path)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}{self.path}"


@dataclass(frozen=True, slots=True)
class BasicAuth:
    user: str
    password: str = field(repr=False)

    def header(self) -> str:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """A TLS client certificate: the device's current certificate and the key file that goes with it."""

    certificate: x509.Certificate
    key_file: Path


def trust_anchors_of(layout: PkiLayout) -> list[x509.Certificate]:
    """The CA certificates this device trusts (pki/trusted/certs): the explicit trust anchors (RFC 7030)."""
    anchors = []
    for path in sorted(layout.trusted_certs.glob("*")) if layout.trusted_certs.is_dir() else []:
        try:
            certificates = load_certificates(path)
        except InputError:
            continue
        anchors += [c for c in certificates if is_ca(c)]
    if not anchors:
        raise InputError(
            f"{layout.trusted_certs} holds no CA certificate to authenticate the EST server with: "
            "give --ca-cert"
        )
    return anchors


class EstClient:
    """One EST server, authenticated against ``trust_anchors``; each call is one HTTPS request."""

    def __init__(
        self,
        server: EstServer,
        *,
        trust_anchors: Sequence[x509.Certificate],
        basic_auth: BasicAuth | None = None,
        client_certificate: ClientCertificate | None = None,
        timeout: float = TIMEOUT_S,
    ) -> None:
        if not trust_anchors:
            raise InputError("no trust anchor for the EST server's certificate")
        self.server = server
        self._anchors = list(trust_anchors)
        self._basic_auth = basic_auth
        self._client_certificate = client_certificate
        self._timeout = timeout

    def ca_certificates(self) -> list[x509.Certificate]:
        """/cacerts: the certificates of the CA that signs, the ones to trust first."""
        return _certificates(self._call("GET", "cacerts"), "/cacerts")

    def simple_enroll(self, request: x509.CertificateSigningRequest) -> list[x509.Certificate]:
        """/simpleenroll: the certificate issued for ``request`` (and whatever chain the server adds)."""
        return _certificates(self._call("POST", "simpleenroll", request), "/simpleenroll")

    def simple_reenroll(self, request: x509.CertificateSigningRequest) -> list[x509.Certificate]:
        """/simplereenroll: a new certificate for a device that has one (RFC 7030 4.2.2)."""
        return _certificates(self._call("POST", "simplereenroll", request), "/simplereenroll")

    def _call(
        self, method: str, operation: str, request: x509.CertificateSigningRequest | None = None
    ) -> bytes:
        headers = {"Accept": PKCS7_MIME}
        body = None
        if request is not None:
            body = base64.encodebytes(request.public_bytes(serialization.Encoding.DER))
            headers |= {"Content-Type": PKCS10, "Content-Transfer-Encoding": "base64"}
        if self._basic_auth is not None and operation != "cacerts":
            headers["Authorization"] = self._basic_auth.header()
        where = f"{self.server.url}/{operation}"
        with self._context() as context:
            connection = http.client.HTTPSConnection(
                self.server.host, self.server.port, context=context, timeout=self._timeout
            )
            try:
                connection.request(method, f"{self.server.path}/{operation}", body=body, headers=headers)
                response = connection.getresponse()
                content = response.read()
            except ssl.SSLCertVerificationError as exc:
                raise VerificationFailed(
                    f"the EST server {self.server.url} is not the one trusted: its TLS certificate does not "
                    f"verify against the trust anchor given ({exc.verify_message}); nothing was changed"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                raise EstError(f"cannot reach the EST server {where}: {_reason(exc)}") from None
            finally:
                connection.close()
        if response.status == 200:
            return content
        message = _message(content)
        if response.status == 202:
            after = response.getheader("Retry-After") or "unknown"
            raise HeldForApproval(
                f"the EST server holds the request for its operator to approve (retry after {after} s)"
                + (f": {message}" if message else "")
            )
        if response.status == 401:
            raise EstError(f"the EST server refused the credentials (HTTP 401): {message or response.reason}")
        raise EstError(
            f"the EST server refused {operation} (HTTP {response.status} {response.reason})"
            + (f": {message}" if message else "")
        )

    @contextmanager
    def _context(self) -> Iterator[ssl.SSLContext]:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH,
            cadata=b"".join(a.public_bytes(serialization.Encoding.DER) for a in self._anchors),
        )
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self._client_certificate is None:
            yield context
            return
        # ssl reads a certificate chain from files only; the certificate is public, the key stays put.
        with tempfile.TemporaryDirectory(prefix="edge-provision-") as directory:
            certificate_file = Path(directory) / "client.pem"
            certificate_file.write_bytes(
                self._client_certificate.certificate.public_bytes(serialization.Encoding.PEM)
            )
            try:
                context.load_cert_chain(certificate_file, self._client_certificate.key_file)
            except ssl.SSLError:
                raise ProvisioningError(
                    f"{self._client_certificate.key_file} is not the key of the current certificate: it "
                    "cannot authenticate the device; use --user and a password instead"
                ) from None
            yield context


RequestMaker = Callable[[], DeviceRequest]
"""Makes the device's next key (pending) and its request, as `device init` does."""


def enroll(
    layout: PkiLayout,
    client: EstClient,
    make_request: RequestMaker,
    *,
    reenroll: bool = False,
    application_uri: str | None = None,
    now: datetime | None = None,
) -> Enrolled:
    """Make a key and request, have the EST server sign it, and install the certificate as `enroll import`.

    When the server answers with an error, or the certificate does not fit, the key and request made
    here are removed again (and a pending enrollment they replaced comes back): nothing has changed.
    Only a request the server holds for approval leaves its key pending, for `enroll import`.
    """
    before = _PendingFiles.read(layout)
    try:
        made = make_request()
        issued = client.simple_reenroll(made.request) if reenroll else client.simple_enroll(made.request)
        leaf = _issued_for(issued, made)
        others = [c for c in issued if c != leaf]
        if not any(is_root(c) for c in others):
            others += client.ca_certificates()
        anchor = _anchor_for(leaf, others, utc_now(now))
    except HeldForApproval as exc:
        raise HeldForApproval(
            f"{exc}. The key waits in {pending_key_path(layout)}: once the CA has issued the certificate, "
            f"install it with `edge-provision enroll import --pki {layout.root} CERT_FILE`"
        ) from None
    except BaseException:
        before.restore(layout)
        raise
    try:
        return import_certificate(
            layout, [leaf, *others], ca=anchor, application_uri=application_uri, now=now
        )
    except VerificationFailed:
        # Raised before the import writes anything; once it writes, the key stays with its certificate.
        before.restore(layout)
        raise


@dataclass(frozen=True, slots=True)
class _PendingFiles:
    """The pending key and request as they were before this enrollment, to put back if it fails."""

    key: bytes | None = field(repr=False)
    request: bytes | None

    @classmethod
    def read(cls, layout: PkiLayout) -> _PendingFiles:
        key, request = pending_key_path(layout), pending_request_path(layout)
        return cls(
            read_input(key, "pending key") if key.exists() else None,
            read_input(request, "pending request") if request.exists() else None,
        )

    def restore(self, layout: PkiLayout) -> None:
        for path, data, write in (
            (pending_key_path(layout), self.key, write_private),
            (pending_request_path(layout), self.request, write_public),
        ):
            if data is None:
                path.unlink(missing_ok=True)
            else:
                write(path, data)


def _issued_for(issued: Sequence[x509.Certificate], made: DeviceRequest) -> x509.Certificate:
    # A PKCS#7 SET has no order: the device's certificate is the one for its key.
    public_key = load_rsa_private_key(made.key_path).public_key()
    for certificate in issued:
        if certificate.public_key() == public_key:
            return certificate
    end_entities = [c for c in issued if not is_ca(c)]
    if end_entities:
        return end_entities[0]  # `enroll import` refuses it, saying for which key it is
    raise EstError("the EST server's answer holds no certificate for this device")


def _anchor_for(
    leaf: x509.Certificate, others: Sequence[x509.Certificate], now: datetime
) -> x509.Certificate | None:
    """The root among ``others`` that ``leaf`` chains up to; during a CA rollover /cacerts has two."""
    roots = [c for c in others if is_root(c)]
    intermediates = [c for c in others if not is_root(c)]
    for root in roots:
        if chain_problem(leaf, root, intermediates, now) is None:
            return root
    return roots[0] if roots else None


def _certificates(content: bytes, operation: str) -> list[x509.Certificate]:
    """The certificates in a base64 (or, from lenient servers, binary) DER PKCS#7 certs-only body."""
    try:
        der = base64.b64decode(b"".join(content.split()), validate=True)
    except (binascii.Error, ValueError):
        der = content
    try:
        certificates = pkcs7.load_der_pkcs7_certificates(der)
    except ValueError as exc:
        raise EstError(f"the EST server's answer to {operation} is no PKCS#7 certs-only: {exc}") from None
    if not certificates:
        raise EstError(f"the EST server's answer to {operation} holds no certificate")
    return certificates


def _message(content: bytes) -> str:
    text = " ".join(content.decode("utf-8", errors="replace").split())
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 3] + "..."


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
