"""`trust`: whom the agent trusts, kept in its PKI directory store.

    trust add CERT [--issuer | --signer]   copy a certificate (PEM or DER) in as DER
    trust list                             trusted peers and CAs, issuers, signers
    trust remove THUMBPRINT|CERT           take a certificate out wherever it is
    trust reject-list [--accept THUMBPRINT]  refused clients; --accept trusts one

A plain `add` goes to trusted/certs (an OPC UA client, or a CA whose clients are trusted), --issuer to
issuers/certs (a CA that only helps build a chain), --signer to signers/ (a CA or signer trusted to sign
configs and models). The running agent reads trusted/ and issuers/ again when a client connects after
they changed, and signers/ whenever it loads a config or a model: no restart is needed.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from edge_agent.identity import PkiLayout, certificate_thumbprint

from .. import trust
from ..errors import InputError, ProvisioningError
from ..files import is_pem, load_certificates
from ..output import Reporter
from .result import Handler, Result, Subcommands
from .shared import add_command, add_group, pki_option


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `trust` group."""
    trust_group = add_group(
        groups, "trust", "whom the agent trusts: OPC UA clients, CAs, signers", description=__doc__
    )

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        parser = add_command(trust_group, name, handler, common, help_text)
        pki_option(parser)
        return parser

    add_parser = command("add", trust_add, "trust a certificate (PEM or DER; stored as DER)")
    add_parser.add_argument("certificate", type=Path, metavar="CERT_FILE", help="one certificate")
    kind = add_parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--issuer", action="store_true", help="a CA that only helps build chains (issuers/certs)"
    )
    kind.add_argument("--signer", action="store_true", help="trusted to sign configs and models (signers/)")
    crl_parser = command(
        "add-crl",
        trust_add_crl,
        "install a CA's revocation list (clients of a CA need its CRL to be trusted)",
    )
    crl_parser.add_argument("crl", type=Path, metavar="CRL_FILE", help="as `edge-provision ca crl` writes it")
    crl_parser.add_argument("--issuer", action="store_true", help="the CRL of an issuer CA (issuers/crl)")
    command("list", trust_list, "show trusted certificates: subject, thumbprint, expiry, where")
    remove_parser = command("remove", trust_remove, "stop trusting a certificate")
    remove_parser.add_argument("target", metavar="THUMBPRINT|CERT_FILE", help="as `trust list` shows it")
    reject = command("reject-list", trust_reject_list, "show the client certificates the agent refused")
    reject.add_argument("--accept", metavar="THUMBPRINT", help="trust this refused certificate")


def _first_certificate(path: Path) -> tuple[x509.Certificate, list[str]]:
    """The first certificate of ``path`` (the peer's or signer's own in a chain file), and a note on the rest:
    trusting a chain file whole would trust its CA, and with it everything the CA ever issued."""
    certificates = load_certificates(path)
    notes = []
    if len(certificates) > 1:
        notes.append(
            f"took the first of the {len(certificates)} certificates in {path}; add a CA from its own file"
        )
    return certificates[0], notes


def _table(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        if "problem" in row:
            lines.append(f"  {row['where']:<8} {row['file']}: {row['problem']}")
            continue
        expiry = row["not_after"][:10] + (" EXPIRED" if row["expired"] else "")
        lines.append(f"  {row['where']:<8} {row['thumbprint']}  until {expiry}  {row['subject']}")
    return "\n".join(lines)


def _listing(args: argparse.Namespace, message: str, rows: list[dict[str, Any]], **extra: Any) -> Result:
    # Text: a table in the message. JSON: the same as objects.
    if args.json:
        return message, {**extra, "certificates": rows}
    table = _table(rows)
    return (f"{message}\n{table}" if table else message), extra


def trust_add(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    certificate, notes = _first_certificate(args.certificate)
    place = "issuer" if args.issuer else "signer" if args.signer else "trusted"
    added = trust.add(layout, certificate, place)
    subject = certificate.subject.rfc4514_string()
    verb = "was already in" if added.already else "added to"
    message = f"{subject} {verb} {added.path.parent}"
    if added.unrejected:
        message += f"; removed its copy from {layout.rejected}"
    facts = trust.Entry(place, added.path, certificate).facts(datetime.now(UTC))
    return message, {
        **facts,
        "already": added.already,
        "unrejected": [str(p) for p in added.unrejected],
        "notes": notes,
    }


def trust_add_crl(args: argparse.Namespace, reporter: Reporter) -> Result:
    data = Path(args.crl).read_bytes()
    try:
        crl = x509.load_pem_x509_crl(data) if is_pem(data) else x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise InputError(f"{args.crl} is not a CRL: {exc}") from None
    path = trust.add_crl(PkiLayout(args.pki), crl, issuer=args.issuer)
    issuer = crl.issuer.rfc4514_string()
    return f"the CRL of {issuer} is in {path}", {
        "path": str(path),
        "issuer": issuer,
        "revoked": len(crl),
        "next_update": crl.next_update_utc.isoformat() if crl.next_update_utc else None,
    }


def trust_list(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    now = datetime.now(UTC)
    rows = [
        entry.facts(now) for place, d in trust.places(layout).items() for entry in trust.entries(d, place)
    ]
    required = layout.require_signed_marker.exists()
    message = f"{len(rows)} certificates in {layout.root}; signed configs and models required: "
    message += "yes" if required else "no"
    return _listing(args, message, rows, require_signed=required)


def trust_remove(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    target = Path(args.target)
    if target.is_file():
        thumbprint = certificate_thumbprint(_first_certificate(target)[0])
    else:
        thumbprint = trust.parse_thumbprint(args.target)
    found = trust.find(layout, thumbprint)
    if not found:
        raise InputError(f"no certificate with thumbprint {thumbprint} in {layout.root} (see `trust list`)")
    certificate = found[0].certificate
    assert certificate is not None
    where = ", ".join(str(entry.path.parent) for entry in found)
    if not reporter.confirm(f"Stop trusting {certificate.subject.rfc4514_string()} ({where})?"):
        raise ProvisioningError("nothing removed")
    removed = trust.remove(layout, thumbprint)
    return f"removed {certificate.subject.rfc4514_string()} from {where}", {
        "thumbprint": thumbprint,
        "removed": [str(entry.path) for entry in removed],
    }


def trust_reject_list(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    rejected = trust.entries(layout.rejected, "rejected")
    if args.accept is None:
        now = datetime.now(UTC)
        rows = []
        for entry in rejected:
            row = entry.facts(now)
            row["rejected_at"] = datetime.fromtimestamp(entry.path.stat().st_mtime, UTC).isoformat(
                timespec="seconds"
            )
            rows.append(row)
        message = f"{len(rows)} refused certificates in {layout.rejected}"
        if rows:
            message += "; trust one with `trust reject-list --accept THUMBPRINT`"
        return _listing(args, message, rows)
    thumbprint = trust.parse_thumbprint(args.accept)
    matches = [entry for entry in rejected if entry.thumbprint == thumbprint]
    if not matches:
        raise InputError(f"no refused certificate has the thumbprint {thumbprint} (see `trust reject-list`)")
    certificate = matches[0].certificate
    assert certificate is not None
    added = trust.add(layout, certificate, "trusted")
    message = f"now trusted: {certificate.subject.rfc4514_string()} ({added.path}); it may connect at once"
    return message, trust.Entry("trusted", added.path, certificate).facts(datetime.now(UTC))
