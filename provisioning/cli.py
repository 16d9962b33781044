"""The `edge-provision` command: site CA, device identity and enrollment, users, trust, signing, images."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from . import ca, commands, device, est_cli, issue, revocation
from .arguments import positive
from .errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_VERIFICATION, ProvisioningError
from .opcua_profile import RSA_KEY_SIZES
from .output import Reporter
from .users import add_user_commands

EPILOG = f"""\
offline enrollment, step by step:
  on the device:     edge-provision device init --pki PKI --application-uri URI -o device.csr
  at the site CA:    edge-provision ca sign --dir CA device.csr -o device.pem
  on the device:     edge-provision enroll import --pki PKI device.pem

exit codes:
  {EXIT_OK}  done
  {EXIT_FAILED}  the operation was refused or failed (a CSR the CA will not sign, a CA or key already there)
  {EXIT_USAGE}  usage or input error (a bad option, a missing or unreadable file, a config error)
  {EXIT_VERIFICATION}  verification failed (the certificate is for another key or application, does not
     chain up to the CA, or is not valid now); nothing was changed

Private keys are never printed, nor put into a CSR or the --json output."""

Handler = Callable[[argparse.Namespace, Reporter], commands.Result]


def _global_options(*, inherited: bool) -> argparse.ArgumentParser:
    # Also accepted after a subcommand; there they only override what was given before it.
    default = argparse.SUPPRESS if inherited else False
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--json", action="store_true", default=default, help="print one JSON result object")
    options.add_argument(
        "--yes", "-y", action="store_true", default=default, help="do not ask before replacing or revoking"
    )
    return options


def _parser() -> argparse.ArgumentParser:  # noqa: PLR0915 -- one registration per subcommand
    parser = argparse.ArgumentParser(
        prog="edge-provision",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_global_options(inherited=False)],
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    common = [_global_options(inherited=True)]

    ca_group = groups.add_parser("ca", help="the site CA").add_subparsers(dest="action", required=True)
    init = ca_group.add_parser("init", parents=common, help="make a site CA (refuses to overwrite one)")
    init.set_defaults(handler=commands.ca_init)
    init.add_argument("--dir", type=Path, required=True, help="the CA directory (made 0700)")
    init.add_argument("--name", required=True, help='the CA\'s common name, e.g. "ACME Plant 3 CA"')
    init.add_argument(
        "--permitted-dns",
        action="append",
        default=[],
        metavar="DOMAIN",
        help="sign only DNS names in DOMAIN (and under it); a NameConstraint; repeatable",
    )
    init.add_argument(
        "--permitted-ip",
        action="append",
        default=[],
        metavar="CIDR",
        help="sign only addresses in CIDR; repeatable",
    )
    init.add_argument(
        "--permitted-uri",
        action="append",
        default=[],
        metavar="PREFIX",
        help="sign only application URIs under PREFIX (urn:acme:plant3); the CA's policy, enforced at "
        "signing, as verifiers do not support URI constraints on URNs; repeatable",
    )
    init.add_argument(
        "--key-type", choices=list(ca.KEY_TYPES), default=ca.DEFAULT_KEY_TYPE, help="default: %(default)s"
    )
    init.add_argument(
        "--valid-days", type=positive, default=ca.DEFAULT_VALID_DAYS, help="default: %(default)s"
    )

    sign = ca_group.add_parser(
        "sign", parents=common, help="sign a device's CSR as an OPC UA application certificate"
    )
    sign.set_defaults(handler=commands.ca_sign)
    sign.add_argument("--dir", type=Path, required=True, help="the CA directory")
    sign.add_argument("csr", type=Path, metavar="CSR_FILE", help="the request (PEM or DER)")
    sign.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="CERT_FILE",
        help="the device and CA certificates (PEM)",
    )
    sign.add_argument(
        "--valid-days",
        type=positive,
        default=issue.DEFAULT_VALID_DAYS,
        help="default: %(default)s, at most the CA's",
    )
    sign.add_argument("--der", action="store_true", help="write the device certificate alone, as DER")

    revoke = ca_group.add_parser("revoke", parents=common, help="revoke a certificate this CA issued")
    revoke.set_defaults(handler=commands.ca_revoke)
    revoke.add_argument("--dir", type=Path, required=True, help="the CA directory")
    revoke.add_argument(
        "target", type=Path, metavar="SERIAL|CERT_FILE", help="a serial in hex, or the certificate"
    )
    revoke.add_argument(
        "--reason", choices=list(revocation.REASONS), default="unspecified", help="default: %(default)s"
    )

    crl = ca_group.add_parser("crl", parents=common, help="write a CRL with every revoked certificate")
    crl.set_defaults(handler=commands.ca_crl)
    crl.add_argument("--dir", type=Path, required=True, help="the CA directory")
    crl.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the CRL (PEM)")
    crl.add_argument(
        "--next-update-days",
        type=positive,
        default=revocation.DEFAULT_NEXT_UPDATE_DAYS,
        help="when peers should expect the next CRL (default: %(default)s)",
    )
    crl.add_argument("--der", action="store_true", help="write DER instead of PEM")

    device_group = groups.add_parser("device", help="this device's identity").add_subparsers(
        dest="action", required=True
    )
    dev_init = device_group.add_parser("init", parents=common, help="make the device's key and CSR")
    dev_init.set_defaults(handler=commands.device_init)
    dev_init.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory (opcua.pki)")
    dev_init.add_argument(
        "--application-uri", required=True, metavar="URI", help="the agent's application URI"
    )
    dev_init.add_argument("--config", type=Path, help="the agent's config: its nameplate names the subject")
    dev_init.add_argument(
        "--dns",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name (default: this host's); repeatable",
    )
    dev_init.add_argument(
        "--ip", action="append", default=[], metavar="ADDR", help="an IP address; repeatable"
    )
    dev_init.add_argument(
        "--key-size",
        type=int,
        choices=RSA_KEY_SIZES,
        default=device.DEFAULT_KEY_SIZE,
        help="default: %(default)s",
    )
    dev_init.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="CSR_FILE",
        help="the request for the site CA (PEM)",
    )
    dev_init.add_argument(
        "--force", action="store_true", help="make a new key although the device is provisioned or enrolling"
    )

    enroll_group = groups.add_parser("enroll", help="enrollment").add_subparsers(dest="action", required=True)
    imp = enroll_group.add_parser("import", parents=common, help="install the certificate the CA signed")
    imp.set_defaults(handler=commands.enroll_import)
    imp.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory")
    imp.add_argument(
        "certificate", type=Path, metavar="CERT_FILE", help="as `ca sign` wrote it (PEM chain or DER)"
    )
    imp.add_argument("--ca", type=Path, metavar="CA_CERT", help="the CA certificate, if CERT_FILE lacks it")
    imp.add_argument("--application-uri", metavar="URI", help="default: the one in this device's pending CSR")
    est_cli.add_parsers(groups, enroll_group, common)
    add_user_commands(groups, common)
    from . import image, sign_cli, trust_cli

    sign_cli.register(groups, common, ca_group)
    trust_cli.register(groups, common)
    image.register(groups, common, device_group)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    reporter = Reporter(json_output=args.json, assume_yes=args.yes)
    command = " ".join(part for part in (args.group, getattr(args, "action", None)) if part)
    handler: Handler = args.handler
    try:
        message, details = handler(args, reporter)
    except ProvisioningError as exc:
        reporter.error(command, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        reporter.error(command, ProvisioningError("interrupted"))
        return EXIT_FAILED
    reporter.result(command, message, details)
    return EXIT_OK
