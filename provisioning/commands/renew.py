"""`renew`: a new key and certificate before the current one expires, online over EST or offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge_agent.identity import PkiLayout, days_to_expiry

from .. import est, renew
from ..errors import InputError
from ..opcua_profile import alt_names, application_uris
from ..output import Reporter
from .result import Result, Subcommands
from .shared import (
    add_command,
    certificate_facts,
    est_password,
    key_size_option,
    password_options,
    pki_option,
    server_options,
    trust_anchors,
)

RENEW_EPILOG = """\
online, with the current certificate as TLS client certificate:
  edge-provision renew --pki PKI --server https://est.plant3.example:8443 --cert-auth
offline:
  edge-provision renew --pki PKI --offline -o renew.csr       (on the device)
  edge-provision ca sign --dir CA renew.csr -o renew.pem       (at the site CA)
  edge-provision enroll import --pki PKI renew.pem             (on the device)

Without --ca-cert the EST server is authenticated by the CAs in PKI/trusted/certs."""


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `renew` command."""
    parser = add_command(
        groups,
        "renew",
        renew_command,
        common,
        "a new key and certificate before the current one expires",
        keep_layout=True,
        description="Renew the device's certificate with a new key: online over EST, or offline with a CSR.",
        epilog=RENEW_EPILOG,
    )
    # No subcommands: main() names the command by the group alone.
    parser.set_defaults(action=None)
    pki_option(parser)
    parser.add_argument(
        "--before",
        default=renew.DEFAULT_BEFORE,
        metavar="SPAN",
        help="renew only if the certificate expires within SPAN: 30d, 12h (default: %(default)s)",
    )
    parser.add_argument(
        "--force", action="store_true", help="renew now, however long the certificate is still valid"
    )
    server_options(parser, trust_required=False)
    parser.add_argument(
        "--cert-auth",
        action="store_true",
        help="authenticate with the current certificate and key (TLS client certificate)",
    )
    parser.add_argument("--user", metavar="NAME", help="authenticate with a user name and password")
    password_options(parser, required=False)
    parser.add_argument(
        "--offline", action="store_true", help="write a request for the site CA instead of asking a server"
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="CSR_FILE", help="with --offline: where to write the request"
    )
    key_size_option(parser)


def renew_command(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    before = renew.parse_span(args.before)
    csr_file: Path | None = None  # set with --offline only
    if args.offline:
        _refuse_with_offline(args)
        if args.output is None:
            raise InputError("--offline needs -o CSR_FILE: where to write the request for the site CA")
        csr_file = args.output
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
    if csr_file is not None:
        made = renew.request_like(layout, certificate, csr_file, key_size=args.key_size)
        names = alt_names(made.request.extensions)
        message = (
            f"wrote the request {csr_file} for a new key: have the site CA sign it (`edge-provision ca "
            "sign`), then import the certificate here with `edge-provision enroll import`; until then the "
            f"agent keeps its current certificate (valid until {not_after})"
        )
        return message, {
            "renewed": False,
            "csr_file": str(csr_file),
            "subject": made.request.subject.rfc4514_string(),
            "application_uri": application_uris(names)[0],
            "key_file": str(made.key_path),
            "public_key_sha256": made.public_key_sha256,
        }
    server = est.EstServer.parse(args.server)
    anchors = trust_anchors(args, layout)
    if args.cert_auth:
        client = est.EstClient(
            server,
            trust_anchors=anchors,
            client_certificate=est.ClientCertificate(certificate, layout.private_key),
        )
    else:
        client = est.EstClient(
            server, trust_anchors=anchors, basic_auth=est.BasicAuth(args.user, est_password(args))
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
        **certificate_facts(enrolled.certificate),
        "previous_not_after": not_after,
        "trusted_ca": str(enrolled.trusted_ca),
    }


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
