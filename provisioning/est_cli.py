"""`enroll est` and `renew`: their command lines, and each one's call of the module that does the work."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from cryptography import x509

from edge_agent.identity import PkiLayout, days_to_expiry

from . import est, renew
from .commands import Result, _certificate_facts, _own_host_name
from .device import DEFAULT_KEY_SIZE, DeviceRequest, init_device, what_force_replaces
from .errors import InputError, ProvisioningError
from .files import load_certificates, read_input
from .names import dns_name, ip_address
from .opcua_profile import RSA_KEY_SIZES, alt_names, application_uris
from .output import Reporter
from .subject import device_subject

EST_EPILOG = """\
online enrollment, on the device:
  edge-provision enroll est --pki PKI --server https://est.plant3.example:8443 --ca-cert est-ca.pem \\
      --user pump17 --password-file pw.txt

The key is made on this device; only the request goes to the server. The server's TLS certificate must
verify against --ca-cert (or, with --explicit-ta, a CA in PKI/trusted/certs); http:// is refused."""

RENEW_EPILOG = """\
online, with the current certificate as TLS client certificate:
  edge-provision renew --pki PKI --server https://est.plant3.example:8443 --cert-auth
offline:
  edge-provision renew --pki PKI --offline -o renew.csr       (on the device)
  edge-provision ca sign --dir CA renew.csr -o renew.pem       (at the site CA)
  edge-provision enroll import --pki PKI renew.pem             (on the device)

Without --ca-cert the EST server is authenticated by the CAs in PKI/trusted/certs."""


def add_parsers(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    enroll_group: argparse._SubParsersAction[argparse.ArgumentParser],
    common: list[argparse.ArgumentParser],
) -> None:
    """Add `enroll est` to the enroll group and `renew` to the top-level commands."""
    enroll_est = enroll_group.add_parser(
        "est",
        parents=common,
        help="enroll online with the site's EST server (RFC 7030)",
        epilog=EST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    enroll_est.set_defaults(handler=enroll_est_command)
    _pki_option(enroll_est)
    _server_options(enroll_est, trust_required=True)
    enroll_est.add_argument("--user", required=True, metavar="NAME", help="the user name the server knows")
    _password_options(enroll_est, required=True)
    enroll_est.add_argument(
        "--application-uri", metavar="URI", help="default: the one in this device's current certificate"
    )
    enroll_est.add_argument(
        "--dns",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name (default: this host's); repeatable",
    )
    enroll_est.add_argument(
        "--ip", action="append", default=[], metavar="ADDR", help="an IP address; repeatable"
    )
    _key_size_option(enroll_est)
    enroll_est.add_argument(
        "--force", action="store_true", help="enroll although the device is provisioned or enrolling"
    )

    renew_parser = groups.add_parser(
        "renew",
        parents=common,
        help="a new key and certificate before the current one expires",
        description="Renew the device's certificate with a new key: online over EST, or offline with a CSR.",
        epilog=RENEW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    renew_parser.set_defaults(handler=renew_command, action=None)
    _pki_option(renew_parser)
    renew_parser.add_argument(
        "--before",
        default=renew.DEFAULT_BEFORE,
        metavar="SPAN",
        help="renew only if the certificate expires within SPAN: 30d, 12h (default: %(default)s)",
    )
    renew_parser.add_argument(
        "--force", action="store_true", help="renew now, however long the certificate is still valid"
    )
    _server_options(renew_parser, trust_required=False)
    renew_parser.add_argument(
        "--cert-auth",
        action="store_true",
        help="authenticate with the current certificate and key (TLS client certificate)",
    )
    renew_parser.add_argument("--user", metavar="NAME", help="authenticate with a user name and password")
    _password_options(renew_parser, required=False)
    renew_parser.add_argument(
        "--offline", action="store_true", help="write a request for the site CA instead of asking a server"
    )
    renew_parser.add_argument(
        "-o", "--output", type=Path, metavar="CSR_FILE", help="with --offline: where to write the request"
    )
    _key_size_option(renew_parser)


def enroll_est_command(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    server = est.EstServer.parse(args.server)
    anchors = _trust_anchors(args, layout)
    auth = est.BasicAuth(args.user, _password(args))
    application_uri = args.application_uri or _current_application_uri(layout)
    ips = [ip_address(text) for text in args.ip]
    dns = [dns_name(name) for name in args.dns]
    if not dns and not ips:
        # OPC UA Part 6 asks for the host's name in the certificate; the device's own is the default.
        dns = _own_host_name()
    replaces = what_force_replaces(layout)
    if replaces and not args.force:
        raise ProvisioningError(
            f"refusing to enroll: the new key would replace {' and '.join(replaces)}. Give --force to "
            f"enroll anyway, or renew the certificate with `edge-provision renew --pki {layout.root}`"
        )
    if replaces and not reporter.confirm(f"The new key will replace {' and '.join(replaces)}. Go on?"):
        raise ProvisioningError("stopped; nothing changed")
    client = est.EstClient(server, trust_anchors=anchors, basic_auth=auth)

    def make_request() -> DeviceRequest:
        layout.ensure()
        return init_device(
            layout,
            application_uri=application_uri,
            subject=device_subject(None, socket.gethostname()),
            # The request is kept as the pending one only; there is no file for anyone to carry.
            csr_file=layout.pending_request,
            dns_names=dns,
            ip_addresses=ips,
            key_size=args.key_size,
            force=args.force,
        )

    enrolled = est.enroll(layout, client, make_request, application_uri=application_uri)
    message = (
        f"enrolled with {server.url}: installed the certificate as {layout.own_certificate}; restart the "
        f"agent to serve with it. Peers with certificates of the same CA are trusted through "
        f"{enrolled.trusted_ca}"
    )
    return message, {
        "server": server.url,
        "certificate": str(layout.own_certificate),
        **_certificate_facts(enrolled.certificate),
        "trusted_ca": str(enrolled.trusted_ca),
        "issuers": [str(path) for path in enrolled.issuers],
        "replaced_self_signed": enrolled.replaced_self_signed,
    }


def renew_command(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    before = renew.parse_span(args.before)
    if args.offline:
        _refuse_with_offline(args)
        if args.output is None:
            raise InputError("--offline needs -o CSR_FILE: where to write the request for the site CA")
    else:
        if args.output is not None:
            raise InputError("-o is for --offline; online, the request goes to the server")
        if args.server is None:
            raise InputError("give --server URL to renew online, or --offline -o CSR_FILE")
        if args.cert_auth == (args.user is not None):
            raise InputError("give either --cert-auth or --user NAME with a password")
        if args.user is None and (args.password_file is not None or args.password_stdin):
            raise InputError("a password goes with --user")
    due = renew.renewal_due(layout, before, force=args.force)
    certificate = due.certificate
    not_after = certificate.not_valid_after_utc.isoformat()
    if not due.due:
        days = days_to_expiry(certificate)
        return (
            f"nothing to do: {layout.own_certificate} is valid until {not_after} ({days} days), longer "
            f"than --before {args.before}",
            {"renewed": False, "certificate": str(layout.own_certificate), "not_after": not_after},
        )
    if args.offline:
        made = renew.request_like(layout, certificate, args.output, key_size=args.key_size)
        names = alt_names(made.request.extensions)
        message = (
            f"wrote the request {args.output} for a new key: have the site CA sign it (`edge-provision ca "
            "sign`), then import the certificate here with `edge-provision enroll import`; until then the "
            f"agent keeps its current certificate (valid until {not_after})"
        )
        return message, {
            "renewed": False,
            "csr_file": str(args.output),
            "subject": made.request.subject.rfc4514_string(),
            "application_uri": application_uris(names)[0],
            "key_file": str(made.key_path),
            "public_key_sha256": made.public_key_sha256,
        }
    server = est.EstServer.parse(args.server)
    anchors = _trust_anchors(args, layout)
    if args.cert_auth:
        client = est.EstClient(
            server,
            trust_anchors=anchors,
            client_certificate=est.ClientCertificate(certificate, layout.private_key),
        )
    else:
        client = est.EstClient(
            server, trust_anchors=anchors, basic_auth=est.BasicAuth(args.user, _password(args))
        )
    enrolled = renew.renew_online(layout, client, certificate, key_size=args.key_size)
    message = (
        f"renewed with {server.url}: installed the new certificate as {layout.own_certificate}, with a new "
        "key; restart the agent to serve with it"
    )
    return message, {
        "renewed": True,
        "server": server.url,
        "certificate": str(layout.own_certificate),
        **_certificate_facts(enrolled.certificate),
        "previous_not_after": not_after,
        "trusted_ca": str(enrolled.trusted_ca),
    }


def _pki_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory (opcua.pki)")


def _key_size_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-size", type=int, choices=RSA_KEY_SIZES, default=DEFAULT_KEY_SIZE, help="default: %(default)s"
    )


def _server_options(parser: argparse.ArgumentParser, *, trust_required: bool) -> None:
    parser.add_argument(
        "--server",
        required=trust_required,
        metavar="URL",
        help="the EST server: https://HOST[:PORT][/.well-known/est[/LABEL]]",
    )
    trust = parser.add_mutually_exclusive_group(required=trust_required)
    trust.add_argument(
        "--ca-cert",
        type=Path,
        metavar="CA_FILE",
        help="the CA certificate(s) that the server's TLS certificate chains up to",
    )
    trust.add_argument(
        "--explicit-ta",
        action="store_true",
        help="authenticate the server by the CAs in PKI/trusted/certs (installed by the last enrollment)",
    )


def _password_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    password = parser.add_mutually_exclusive_group(required=required)
    password.add_argument(
        "--password-file", type=Path, metavar="FILE", help="the password: the first line of FILE"
    )
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


def _refuse_with_offline(args: argparse.Namespace) -> None:
    online_only = {
        "--server": args.server is not None,
        "--ca-cert": args.ca_cert is not None,
        "--explicit-ta": args.explicit_ta,
        "--cert-auth": args.cert_auth,
        "--user": args.user is not None,
        "--password-file": args.password_file is not None,
        "--password-stdin": args.password_stdin,
    }
    given = [option for option, present in online_only.items() if present]
    if given:
        raise InputError(f"--offline asks no server: leave out {', '.join(given)}")


def _trust_anchors(args: argparse.Namespace, layout: PkiLayout) -> list[x509.Certificate]:
    if args.ca_cert is not None:
        return load_certificates(args.ca_cert, "CA certificate")
    return est.trust_anchors_of(layout)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
    else:
        try:
            line = read_input(args.password_file, "password file").decode()
        except UnicodeDecodeError:
            raise InputError(f"the password file {args.password_file} is not UTF-8 text") from None
    password = line.splitlines()[0] if line else ""
    if not password:
        where = "stdin" if args.password_stdin else str(args.password_file)
        raise InputError(f"no password in {where}: the first line is empty")
    return password


def _current_application_uri(layout: PkiLayout) -> str:
    if layout.own_certificate.exists():
        uris = application_uris(alt_names(load_certificates(layout.own_certificate)[0].extensions))
        if len(uris) == 1:
            return uris[0]
    raise InputError(
        f"{layout.own_certificate} names no application URI to enroll for: give --application-uri"
    )
