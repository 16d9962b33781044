"""The signing commands: `ca issue-signer`, `sign` and `policy`.

    at the site CA:  edge-provision ca issue-signer --dir CA --name "Line 3 release" -o signer
    at release:      edge-provision sign config.yaml pump.tflite --key signer/signer.key.pem \\
                         --cert signer/signer.pem
    on the device:   edge-provision trust add ca.pem --signer --pki PKI
                     edge-provision policy require-signed on --pki PKI
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edge_agent.identity import PkiLayout, certificate_thumbprint
from edge_agent.identity.signatures import PKI_ENVIRONMENT, provisioned_pki

from . import signing
from .arguments import positive
from .ca_store import SiteCa
from .output import Reporter
from .serials import format_serial

Result = tuple[str, dict[str, Any]]


def ca_issue_signer(args: argparse.Namespace, reporter: Reporter) -> Result:
    site_ca = SiteCa.load(args.dir)
    issued = signing.issue_signer(
        site_ca, args.name, args.output, key_type=args.key_type, valid_days=args.valid_days
    )
    files, certificate = issued.files, issued.certificate
    message = (
        f"made the signer {args.name!r} in {files.directory}: sign with `edge-provision sign FILE --key "
        f"{files.key} --cert {files.certificate}`; {files.key} belongs to the signer alone"
    )
    return message, {
        "key_file": str(files.key),
        "certificate_file": str(files.certificate),
        "subject": certificate.subject.rfc4514_string(),
        "serial": format_serial(certificate.serial_number),
        "not_after": certificate.not_valid_after_utc.isoformat(),
        "thumbprint": certificate_thumbprint(certificate),
        "key_type": args.key_type,
        "notes": issued.notes,
    }


def sign(args: argparse.Namespace, reporter: Reporter) -> Result:
    signer = signing.load_signer(args.key, args.cert)
    signed = signing.sign_files(args.files, signer, args.output)
    names = ", ".join(str(item.signature) for item in signed)
    certificate = signer.certificate
    return f"signed as {certificate.subject.rfc4514_string()}: wrote {names}", {
        "signatures": [
            {"file": str(item.file), "signature": str(item.signature), "sha256": item.sha256}
            for item in signed
        ],
        "signer": certificate.subject.rfc4514_string(),
        "signer_thumbprint": certificate_thumbprint(certificate),
        "signer_not_after": certificate.not_valid_after_utc.isoformat(),
    }


def policy_require_signed(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    on = args.state == "on"
    policy = signing.require_signed(layout, on)
    if on:
        message = (
            f"signed configs and models are required now ({policy.marker}): the agent refuses a file "
            "without a valid FILE.sig from the next start or reload"
        )
    else:
        message = f"signatures are no longer required ({policy.marker} removed)"
    return message, {**_policy_facts(policy), "notes": _where_the_agent_looks(layout)}


def _where_the_agent_looks(layout: PkiLayout) -> list[str]:
    provisioned = provisioned_pki()
    if layout.root.absolute() == provisioned.root.absolute():
        return []
    return [
        f"the agent on this machine reads the policy from {provisioned.root}, unless its environment "
        f"sets {PKI_ENVIRONMENT}={layout.root.absolute()}"
    ]


def policy_show(args: argparse.Namespace, reporter: Reporter) -> Result:
    policy = signing.signing_policy(PkiLayout(args.pki))
    state = "required" if policy.required else "not required"
    return f"signed configs and models: {state}", _policy_facts(policy)


def _policy_facts(policy: signing.SigningPolicy) -> dict[str, Any]:
    return {
        "require_signed": policy.required,
        "marker": str(policy.marker),
        "signers": [
            f"{certificate.subject.rfc4514_string()} ({certificate_thumbprint(certificate)})"
            for certificate in policy.signers
        ],
    }


def register(groups: Any, common: list[argparse.ArgumentParser], ca_group: Any) -> None:
    """Add `ca issue-signer`, `sign` and `policy` to the parser."""
    issue = ca_group.add_parser(
        "issue-signer",
        parents=common,
        help="make a key and code-signing certificate for signing configs and models",
        description="The key is made here, beside the CA; hand the directory to the signer.",
    )
    issue.set_defaults(handler=ca_issue_signer)
    issue.add_argument("--dir", type=Path, required=True, help="the CA directory")
    issue.add_argument("--name", required=True, help='who signs, e.g. "Line 3 release"')
    issue.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="DIR",
        help="made 0700: signer.key.pem (0600) and signer.pem (the certificate and the CA's)",
    )
    issue.add_argument(
        "--key-type",
        choices=signing.SIGNER_KEY_TYPES,
        default=signing.DEFAULT_SIGNER_KEY_TYPE,
        help="default: %(default)s",
    )
    issue.add_argument(
        "--valid-days",
        type=positive,
        default=signing.DEFAULT_SIGNER_VALID_DAYS,
        help="default: %(default)s, at most the CA's; the agent refuses signatures of an expired signer",
    )

    sign_parser = groups.add_parser(
        "sign",
        parents=common,
        help="sign a config or model file: a detached CMS signature in FILE.sig",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sign_parser.set_defaults(handler=sign)
    sign_parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="the files to sign")
    sign_parser.add_argument("--key", type=Path, required=True, help="the signer's key (PEM)")
    sign_parser.add_argument(
        "--cert",
        type=Path,
        required=True,
        help="the signer's certificate (PEM, as `ca issue-signer` wrote it)",
    )
    sign_parser.add_argument(
        "-o", "--output", type=Path, metavar="SIG_FILE", help="default: FILE.sig, where the agent looks"
    )

    policy = groups.add_parser("policy", help="what the agent demands of its files").add_subparsers(
        dest="action", required=True
    )
    require = policy.add_parser(
        "require-signed", parents=common, help="require signed configs and models (on) or not (off)"
    )
    require.set_defaults(handler=policy_require_signed)
    require.add_argument("state", choices=["on", "off"])
    require.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory")
    show = policy.add_parser("show", parents=common, help="whether signatures are required, and by whom")
    show.set_defaults(handler=policy_show)
    show.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory")
