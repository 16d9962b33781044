"""What more than one command group uses: parsers and options, the facts shown of a certificate, EST
client inputs."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from edge_agent.identity import PkiLayout, certificate_thumbprint

from .. import est
from ..device import DEFAULT_KEY_SIZE
from ..errors import InputError
from ..files import load_certificates, read_input
from ..names import dns_name
from ..opcua_profile import RSA_KEY_SIZES, alt_names, application_uris
from ..serials import format_serial
from .result import Handler, Subcommands


def add_group(groups: Subcommands, name: str, help_text: str, description: str | None = None) -> Subcommands:
    """A command group: its subcommands are its actions."""
    group = groups.add_parser(name, help=help_text, description=description)
    return group.add_subparsers(dest="action", required=True)


def add_command(
    commands: Subcommands,
    name: str,
    handler: Handler,
    parents: list[argparse.ArgumentParser],
    help_text: str,
    *,
    description: str | None = None,
    epilog: str | None = None,
    keep_layout: bool = False,
) -> argparse.ArgumentParser:
    """A command that ``handler`` runs; ``parents`` give it the global options. Its description and epilog
    are printed as laid out with ``keep_layout`` (examples), else refilled."""
    layout = argparse.RawDescriptionHelpFormatter if keep_layout else argparse.HelpFormatter
    parser = commands.add_parser(
        name, parents=parents, help=help_text, description=description, epilog=epilog, formatter_class=layout
    )
    parser.set_defaults(handler=handler)
    return parser


def positive(text: str) -> int:
    """A whole number of at least 1, or argparse's usage error saying why not."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def pki_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory (opcua.pki)")


def key_size_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key-size", type=int, choices=RSA_KEY_SIZES, default=DEFAULT_KEY_SIZE, help="default: %(default)s"
    )


def address_options(
    parser: argparse.ArgumentParser, dns_help: str = "a host name (default: this host's); repeatable"
) -> None:
    """--dns and --ip: the names a device's certificate is for, besides its application URI."""
    parser.add_argument("--dns", action="append", default=[], metavar="NAME", help=dns_help)
    parser.add_argument("--ip", action="append", default=[], metavar="ADDR", help="an IP address; repeatable")


def own_host_name() -> list[str]:
    """This host's name as a certificate can hold it; none if it cannot (OPC UA Part 6 asks for one)."""
    try:
        return [dns_name(socket.gethostname())]
    except InputError:
        return []


def certificate_facts(certificate: x509.Certificate) -> dict[str, Any]:
    names = alt_names(certificate.extensions)
    uris = application_uris(names)
    return {
        "serial": format_serial(certificate.serial_number),
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "application_uri": uris[0] if uris else None,
        "dns": [name.value for name in names if isinstance(name, x509.DNSName)],
        "ip": [str(name.value) for name in names if isinstance(name, x509.IPAddress)],
        "not_before": certificate.not_valid_before_utc.isoformat(),
        "not_after": certificate.not_valid_after_utc.isoformat(),
        "thumbprint": certificate_thumbprint(certificate),
    }


def server_options(parser: argparse.ArgumentParser, *, trust_required: bool) -> None:
    """--server, and how its TLS certificate is verified."""
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


def password_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """Where the EST password comes from; never the command line, which the process list shows."""
    password = parser.add_mutually_exclusive_group(required=required)
    password.add_argument(
        "--password-file", type=Path, metavar="FILE", help="the password: the first line of FILE"
    )
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


def trust_anchors(args: argparse.Namespace, layout: PkiLayout) -> list[x509.Certificate]:
    """The CAs the EST server's TLS certificate must chain up to: --ca-cert, else the device's trusted."""
    if args.ca_cert is not None:
        return load_certificates(args.ca_cert, "CA certificate")
    return est.trust_anchors_of(layout)


def est_password(args: argparse.Namespace) -> str:
    """The EST password: the first line of --password-file or of stdin."""
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
