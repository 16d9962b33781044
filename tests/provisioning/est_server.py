"""A real EST server (RFC 7030) over HTTPS on a free loopback port, signing with a site CA.

It serves /.well-known/est/cacerts, /simpleenroll (HTTP basic auth) and /simplereenroll (the client's
current certificate as TLS client certificate, or basic auth), answering with base64 PKCS#7
certs-only as EST servers do. Its own TLS certificate is issued by the same site CA.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from provisioning.ca_store import SiteCa
from provisioning.device import build_request
from provisioning.errors import ProvisioningError
from provisioning.files import private_key_pem
from provisioning.issue import sign_request

from .steps import rsa_key

WELL_KNOWN = "/.well-known/est"
SERVER_URI = "urn:acme:plant3:est-server"
CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only"


@dataclass
class Received:
    """One request as the server saw it: the operation, who it took the client for, its answer."""

    operation: str
    authenticated_by: str | None
    status: int


@dataclass
class EstTestServer:
    site_ca: SiteCa
    users: dict[str, str]
    valid_days: int = 730
    """How long the certificates it issues are valid; tests change it between requests."""
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{WELL_KNOWN}"

    @property
    def tls_ca(self) -> Path:
        """The CA certificate that the server's TLS certificate chains up to."""
        return self.site_ca.directory.certificate

    def authenticate_password(self, header: str | None) -> str | None:
        if header is None or not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        expected = self.users.get(user)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return None
        return f"password of {user}"


def _certs_only(certificates: list[x509.Certificate]) -> bytes:
    return base64.encodebytes(pkcs7.serialize_certificates(certificates, serialization.Encoding.DER))


def _same_identity(request: x509.CertificateSigningRequest, certificate: x509.Certificate) -> bool:
    """RFC 7030 4.2.2: a re-enrollment asks for the subject and subjectAltNames it has."""

    def names(extensions: x509.Extensions) -> set[x509.GeneralName]:
        try:
            return set(extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            return set()

    return request.subject == certificate.subject and names(request.extensions) == names(
        certificate.extensions
    )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10

    def setup(self) -> None:
        # The handshake runs here, in the request's thread, not in the accepting one.
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path != f"{WELL_KNOWN}/cacerts":
            self._answer("cacerts?", None, 404, "no such EST operation")
            return
        self._certificates("cacerts", None, [self.server.est.site_ca.certificate])

    def do_POST(self) -> None:
        operation = self.path.removeprefix(f"{WELL_KNOWN}/")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if operation not in ("simpleenroll", "simplereenroll"):
            self._answer(operation, None, 404, "no such EST operation")
            return
        est = self.server.est
        client_certificate = self._client_certificate()
        by = est.authenticate_password(self.headers.get("Authorization"))
        if operation == "simplereenroll" and by is None and client_certificate is not None:
            by = f"certificate of {client_certificate.subject.rfc4514_string()}"
        if by is None:
            self._answer(operation, None, 401, "wrong user name or password", basic_challenge=True)
            return
        if self.headers.get_content_type() != "application/pkcs10":
            self._answer(operation, by, 415, "send a base64 PKCS#10 request as application/pkcs10")
            return
        try:
            request = x509.load_der_x509_csr(base64.b64decode(b"".join(body.split()), validate=True))
        except (binascii.Error, ValueError):
            self._answer(operation, by, 400, "the body is no base64 DER PKCS#10 request")
            return
        if by.startswith("certificate") and not _same_identity(request, client_certificate):
            self._answer(operation, by, 400, "a re-enrollment must ask for the subject and names it has")
            return
        try:
            issued = sign_request(est.site_ca, request, valid_days=est.valid_days)
        except ProvisioningError as exc:
            self._answer(operation, by, 400, str(exc))
            return
        self._certificates(operation, by, [issued.certificate])

    def _client_certificate(self) -> x509.Certificate | None:
        der = self.request.getpeercert(binary_form=True)
        return None if der is None else x509.load_der_x509_certificate(der)

    def _certificates(self, operation: str, by: str | None, certificates: list[x509.Certificate]) -> None:
        body = _certs_only(certificates)
        self.send_response(200)
        self.send_header("Content-Type", CERTS_ONLY)
        self.send_header("Content-Transfer-Encoding", "base64")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.est.received.append(Received(operation, by, 200))

    def _answer(
        self, operation: str, by: str | None, status: int, text: str, *, basic_challenge: bool = False
    ) -> None:
        body = text.encode()
        self.send_response(status)
        if basic_challenge:
            self.send_header("WWW-Authenticate", 'Basic realm="EST"')
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.est.received.append(Received(operation, by, status))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    est: EstTestServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up on the TLS handshake (an untrusted server) is what some tests do.
        pass


def _tls_context(site_ca: SiteCa, directory: Path) -> ssl.SSLContext:
    key = rsa_key()
    request = build_request(
        key,
        x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "EST server")]),
        SERVER_URI,
        ["localhost"],
        [ip_address("127.0.0.1")],
    )
    certificate = sign_request(site_ca, request).certificate
    chain, key_file = directory / "est-server.pem", directory / "est-server.key.pem"
    chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(private_key_pem(key))
    key_file.chmod(0o600)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(chain, key_file)
    # Optional: /simpleenroll authenticates by password; /simplereenroll may by certificate.
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cafile=site_ca.directory.certificate)
    return context


@contextmanager
def running_est_server(site_ca: SiteCa, directory: Path, users: dict[str, str]) -> Iterator[EstTestServer]:
    """An EST server for ``site_ca`` on a free loopback port, stopped when the block ends."""
    context = _tls_context(site_ca, directory)
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    est = EstTestServer(site_ca, users, port=httpd.server_address[1])
    httpd.est = est
    thread = threading.Thread(target=httpd.serve_forever, name="est-server", daemon=True)
    thread.start()
    try:
        yield est
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
