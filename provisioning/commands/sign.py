"""`sign`: a detached CMS signature beside a config or model file, for the agent to check."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge_agent.identity import certificate_thumbprint

from .. import signing
from ..output import Reporter
from .result import Result, Subcommands
from .shared import add_command

# `sign --help` tells the whole way to signed files, of which signing is one step.
DESCRIPTION = """\
The signing commands: `ca issue-signer`, `sign` and `policy`.

    at the site CA:  edge-provision ca issue-signer --dir CA --name "Line 3 release" -o signer
    at release:      edge-provision sign config.yaml pump.tflite --key signer/signer.key.pem \\
                         --cert signer/signer.pem
    on the device:   edge-provision trust add ca.pem --signer --pki PKI
                     edge-provision policy require-signed on --pki PKI
"""


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `sign` command."""
    parser = add_command(
        groups,
        "sign",
        sign_command,
        common,
        "sign a config or model file: a detached CMS signature in FILE.sig",
        keep_layout=True,
        description=DESCRIPTION,
    )
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="the files to sign")
    parser.add_argument("--key", type=Path, required=True, help="the signer's key (PEM)")
    parser.add_argument(
        "--cert",
        type=Path,
        required=True,
        help="the signer's certificate (PEM, as `ca issue-signer` wrote it)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="SIG_FILE", help="default: FILE.sig, where the agent looks"
    )


def sign_command(args: argparse.Namespace, reporter: Reporter) -> Result:
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
