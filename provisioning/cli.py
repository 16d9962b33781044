"""The `edge-provision` command: site CA, device identity and enrollment, users, trust, signing, images."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .commands import ca, device, enroll, image, policy, renew, sign, trust, user
from .commands.result import Handler, Register
from .errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_VERIFICATION, ProvisioningError
from .output import Reporter

# In the order `--help` lists them.
GROUPS: tuple[Register, ...] = (
    ca.register,
    device.register,
    enroll.register,
    renew.register,
    user.register,
    sign.register,
    policy.register,
    trust.register,
    image.register,
)

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


def _global_options(*, inherited: bool) -> argparse.ArgumentParser:
    # Also accepted after a subcommand; there they only override what was given before it.
    default = argparse.SUPPRESS if inherited else False
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--json", action="store_true", default=default, help="print one JSON result object")
    options.add_argument(
        "--yes", "-y", action="store_true", default=default, help="do not ask before replacing or revoking"
    )
    return options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-provision",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_global_options(inherited=False)],
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    common = [_global_options(inherited=True)]
    for register in GROUPS:
        register(groups, common)
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
