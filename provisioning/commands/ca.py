"""`ca init|sign|revoke|crl|issue-signer`: the site CA, at the site."""

from __future__ import annotations

import argparse
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_agent.identity import certificate_thumbprint

from .. import ca, issue, revocation, signing
from ..ca_store import SiteCa
from ..errors import ProvisioningError
from ..files import check_output, load_certificates, load_request, write_public
from ..name_constraints import PermittedNames
from ..output import Reporter
from ..serials import format_serial, parse_serial
from .result import Result, Subcommands
from .shared import add_command, add_group, certificate_facts, positive

# The CA's name constraints, a repeatable option each kind: (option, metavar, help).
_PERMITTED_NAMES = (
    (
        "--permitted-dns",
        "DOMAIN",
        "sign only DNS names in DOMAIN (and under it); a NameConstraint; repeatable",
    ),
    ("--permitted-ip", "CIDR", "sign only addresses in CIDR; repeatable"),
    (
        "--permitted-uri",
        "PREFIX",
        "sign only application URIs under PREFIX (urn:acme:plant3); the CA's policy, enforced at "
        "signing, as verifiers do not support URI constraints on URNs; repeatable",
    ),
)


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `ca` group."""
    ca_group = add_group(groups, "ca", "the site CA")

    init = add_command(ca_group, "init", ca_init, common, "make a site CA (refuses to overwrite one)")
    init.add_argument("--dir", type=Path, required=True, help="the CA directory (made 0700)")
    init.add_argument("--name", required=True, help='the CA\'s common name, e.g. "ACME Plant 3 CA"')
    for option, metavar, help_text in _PERMITTED_NAMES:
        init.add_argument(option, action="append", default=[], metavar=metavar, help=help_text)
    init.add_argument(
        "--key-type", choices=list(ca.KEY_TYPES), default=ca.DEFAULT_KEY_TYPE, help="default: %(default)s"
    )
    _valid_days_option(init, ca.DEFAULT_VALID_DAYS)

    sign = add_command(
        ca_group, "sign", ca_sign, common, "sign a device's CSR as an OPC UA application certificate"
    )
    _ca_dir_option(sign)
    sign.add_argument("csr", type=Path, metavar="CSR_FILE", help="the request (PEM or DER)")
    sign.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="CERT_FILE",
        help="the device and CA certificates (PEM)",
    )
    _valid_days_option(sign, issue.DEFAULT_VALID_DAYS, ", at most the CA's")
    sign.add_argument("--der", action="store_true", help="write the device certificate alone, as DER")

    revoke = add_command(ca_group, "revoke", ca_revoke, common, "revoke a certificate this CA issued")
    _ca_dir_option(revoke)
    revoke.add_argument(
        "target", type=Path, metavar="SERIAL|CERT_FILE", help="a serial in hex, or the certificate"
    )
    revoke.add_argument(
        "--reason", choices=list(revocation.REASONS), default="unspecified", help="default: %(default)s"
    )

    crl = add_command(ca_group, "crl", ca_crl, common, "write a CRL with every revoked certificate")
    _ca_dir_option(crl)
    crl.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the CRL (PEM)")
    crl.add_argument(
        "--next-update-days",
        type=positive,
        default=revocation.DEFAULT_NEXT_UPDATE_DAYS,
        help="when peers should expect the next CRL (default: %(default)s)",
    )
    crl.add_argument("--der", action="store_true", help="write DER instead of PEM")

    signer = add_command(
        ca_group,
        "issue-signer",
        ca_issue_signer,
        common,
        "make a key and code-signing certificate for signing configs and models",
        description="The key is made here, beside the CA; hand the directory to the signer.",
    )
    _ca_dir_option(signer)
    signer.add_argument("--name", required=True, help='who signs, e.g. "Line 3 release"')
    signer.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="DIR",
        help="made 0700: signer.key.pem (0600) and signer.pem (the certificate and the CA's)",
    )
    signer.add_argument(
        "--key-type",
        choices=signing.SIGNER_KEY_TYPES,
        default=signing.DEFAULT_SIGNER_KEY_TYPE,
        help="default: %(default)s",
    )
    _valid_days_option(
        signer,
        signing.DEFAULT_SIGNER_VALID_DAYS,
        ", at most the CA's; the agent refuses signatures of an expired signer",
    )


def _ca_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, required=True, help="the CA directory")


def _valid_days_option(parser: argparse.ArgumentParser, default: int, limits: str = "") -> None:
    parser.add_argument("--valid-days", type=positive, default=default, help=f"default: %(default)s{limits}")


def ca_init(args: argparse.Namespace, reporter: Reporter) -> Result:
    permitted = PermittedNames.parse(args.permitted_dns, args.permitted_ip, args.permitted_uri)
    site_ca = ca.init_ca(
        args.dir, name=args.name, key_type=args.key_type, valid_days=args.valid_days, permitted=permitted
    )
    files = site_ca.directory
    message = (
        f"made the site CA {args.name!r} in {files.root}: give {files.certificate} to every device and "
        f"peer; {files.key} never leaves this directory"
    )
    return message, {
        "certificate": str(files.certificate),
        **certificate_facts(site_ca.certificate),
        "key_type": args.key_type,
        "permitted_names": permitted.describe(),
    }


def ca_sign(args: argparse.Namespace, reporter: Reporter) -> Result:
    site_ca = SiteCa.load(args.dir)
    request = load_request(args.csr)
    check_output(args.output)
    issued = issue.sign_request(site_ca, request, valid_days=args.valid_days)
    certificate = issued.certificate
    if args.der:
        data = certificate.public_bytes(serialization.Encoding.DER)
        written = f"the certificate (DER; the CA certificate is {site_ca.directory.certificate})"
    else:
        chain = (certificate, site_ca.certificate)
        data = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
        written = "the certificate and the CA certificate"
    write_public(args.output, data)
    return f"signed {args.csr}: wrote {written} to {args.output}", {
        "certificate_file": str(args.output),
        **certificate_facts(certificate),
        "notes": issued.notes,
    }


def ca_revoke(args: argparse.Namespace, reporter: Reporter) -> Result:
    site_ca = SiteCa.load(args.dir)
    target: int | x509.Certificate = (
        load_certificates(args.target)[0] if args.target.exists() else parse_serial(str(args.target))
    )
    shown = format_serial(target if isinstance(target, int) else target.serial_number)
    if not reporter.confirm(f"Revoke the certificate with serial {shown}? This cannot be undone."):
        raise ProvisioningError("nothing revoked")
    revoked = revocation.revoke(site_ca, target, reason=args.reason)
    record = revoked.record
    if revoked.already:
        message = f"serial {record.serial} was already revoked on {record.revoked_at} ({record.reason})"
    else:
        message = (
            f"revoked serial {record.serial}: make a CRL with `edge-provision ca crl` and copy it into "
            "pki/trusted/crl of every peer"
        )
    return message, {
        "serial": record.serial,
        "subject": record.subject,
        "application_uri": record.application_uri,
        "reason": record.reason,
        "revoked_at": record.revoked_at,
        "already_revoked": revoked.already,
    }


def ca_crl(args: argparse.Namespace, reporter: Reporter) -> Result:
    site_ca = SiteCa.load(args.dir)
    check_output(args.output)
    crl = revocation.build_crl(site_ca, next_update_days=args.next_update_days)
    encoding = serialization.Encoding.DER if args.der else serialization.Encoding.PEM
    write_public(args.output, crl.public_bytes(encoding))
    serials = [format_serial(entry.serial_number) for entry in crl]
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    return f"wrote CRL number {number} with {len(serials)} revoked certificates to {args.output}", {
        "crl_file": str(args.output),
        "crl_number": number,
        "revoked_serials": serials,
        "next_update": crl.next_update_utc.isoformat() if crl.next_update_utc else None,
    }


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
