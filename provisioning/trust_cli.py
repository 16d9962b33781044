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
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from edge_agent.identity import PkiLayout, certificate_thumbprint
from edge_agent.identity.certificates import is_ca

from .errors import InputError, ProvisioningError
from .files import is_pem, load_certificates, write_public
from .opcua_profile import alt_names, application_uris
from .output import Reporter

Result = tuple[str, dict[str, Any]]

_SUFFIXES = (".der", ".pem", ".crt", ".cer")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}")


def places(layout: PkiLayout) -> dict[str, Path]:
    """Where trusted certificates live, by the word `trust list` shows for each."""
    return {"trusted": layout.trusted_certs, "issuer": layout.issuer_certs, "signer": layout.signers}


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of a trust directory, and the certificate in it (None if it holds none)."""

    place: str
    path: Path
    certificate: x509.Certificate | None
    problem: str = ""

    @property
    def thumbprint(self) -> str:
        return certificate_thumbprint(self.certificate) if self.certificate is not None else ""

    def facts(self, now: datetime) -> dict[str, Any]:
        if self.certificate is None:
            return {"where": self.place, "file": str(self.path), "problem": self.problem}
        certificate = self.certificate
        uris = application_uris(alt_names(certificate.extensions))
        return {
            "where": self.place,
            "subject": certificate.subject.rfc4514_string(),
            "thumbprint": self.thumbprint,
            "not_after": certificate.not_valid_after_utc.isoformat(),
            "expired": certificate.not_valid_after_utc < now,
            "ca": is_ca(certificate),
            "application_uri": uris[0] if uris else None,
            "file": str(self.path),
        }


def entries(directory: Path, place: str) -> list[Entry]:
    try:
        paths = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIXES)
    except FileNotFoundError:
        return []
    found = []
    for path in paths:
        try:
            data = path.read_bytes()
            certificate = (
                x509.load_pem_x509_certificates(data)[0]
                if is_pem(data)
                else x509.load_der_x509_certificate(data)
            )
        except (OSError, ValueError) as exc:
            found.append(Entry(place, path, None, f"not a certificate: {exc}"))
            continue
        found.append(Entry(place, path, certificate))
    return found


@dataclass(frozen=True, slots=True)
class Added:
    path: Path
    already: bool
    unrejected: list[Path]
    """Copies of the same certificate that were in rejected/ and are gone now."""


def add(layout: PkiLayout, certificate: x509.Certificate, place: str = "trusted") -> Added:
    """Copy ``certificate`` as DER into the directory of ``place``; nothing is written if it is there."""
    problem = _unfit(certificate, place)
    if problem:
        raise InputError(problem)
    directory = places(layout)[place]
    layout.ensure()
    directory.mkdir(mode=0o755, exist_ok=True)
    thumbprint = certificate_thumbprint(certificate)
    existing = [entry.path for entry in entries(directory, place) if entry.thumbprint == thumbprint]
    if existing:
        path, already = existing[0], True
    else:
        path, already = directory / f"{_file_stem(certificate)}.der", False
        write_public(path, certificate.public_bytes(serialization.Encoding.DER))
    unrejected = []
    if place == "trusted":
        for entry in entries(layout.rejected, "rejected"):
            if entry.thumbprint == thumbprint:
                entry.path.unlink(missing_ok=True)
                unrejected.append(entry.path)
    return Added(path, already, unrejected)


def remove(layout: PkiLayout, thumbprint: str) -> list[Entry]:
    """Remove the certificate with ``thumbprint`` from every trust directory; the entries removed."""
    removed = [
        entry
        for place, directory in places(layout).items()
        for entry in entries(directory, place)
        if entry.thumbprint == thumbprint
    ]
    for entry in removed:
        entry.path.unlink(missing_ok=True)
    return removed


def find(layout: PkiLayout, thumbprint: str) -> list[Entry]:
    return [
        entry
        for place, directory in places(layout).items()
        for entry in entries(directory, place)
        if entry.thumbprint == thumbprint
    ]


def parse_thumbprint(text: str) -> str:
    digits = text.strip().replace(":", "").replace(" ", "").upper()
    if not _THUMBPRINT.fullmatch(digits):
        raise InputError(
            f"{text!r} is neither a certificate file nor a thumbprint (40 hex digits, as `trust list` shows)"
        )
    return digits


def _unfit(certificate: x509.Certificate, place: str) -> str | None:
    subject = certificate.subject.rfc4514_string()
    if place == "issuer" and not is_ca(certificate):
        return f"{subject} is not a CA (no basicConstraints cA=TRUE); an issuer must be one"
    if place == "signer" and not (is_ca(certificate) or _signs_code(certificate)):
        return (
            f"{subject} is neither a CA nor a signing certificate (extendedKeyUsage codeSigning): "
            "no signature could chain up to it"
        )
    return None


def _signs_code(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CODE_SIGNING in usage


def _file_stem(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else "certificate"
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", common_name).strip("._") or "certificate"
    return f"{safe[:64]}_{certificate_thumbprint(certificate)}"


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
    added = add(layout, certificate, place)
    subject = certificate.subject.rfc4514_string()
    verb = "was already in" if added.already else "added to"
    message = f"{subject} {verb} {added.path.parent}"
    if added.unrejected:
        message += f"; removed its copy from {layout.rejected}"
    facts = Entry(place, added.path, certificate).facts(datetime.now(UTC))
    return message, {
        **facts,
        "already": added.already,
        "unrejected": [str(p) for p in added.unrejected],
        "notes": notes,
    }


def add_crl(layout: PkiLayout, crl: x509.CertificateRevocationList, *, issuer: bool = False) -> Path:
    """Put ``crl`` (DER) in trusted/crl, or issuers/crl; it replaces the CRL of the same CA kept there."""
    directory = layout.issuer_crl if issuer else layout.trusted_crl
    layout.ensure()
    directory.mkdir(mode=0o755, exist_ok=True)
    name = crl.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name[0].value) if name else "ca").strip("_") or "ca"
    path = directory / f"{stem}.crl"
    write_public(path, crl.public_bytes(serialization.Encoding.DER))
    return path


def trust_add_crl(args: argparse.Namespace, reporter: Reporter) -> Result:
    data = Path(args.crl).read_bytes()
    try:
        crl = x509.load_pem_x509_crl(data) if is_pem(data) else x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise InputError(f"{args.crl} is not a CRL: {exc}") from None
    path = add_crl(PkiLayout(args.pki), crl, issuer=args.issuer)
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
    rows = [entry.facts(now) for place, d in places(layout).items() for entry in entries(d, place)]
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
        thumbprint = parse_thumbprint(args.target)
    found = find(layout, thumbprint)
    if not found:
        raise InputError(f"no certificate with thumbprint {thumbprint} in {layout.root} (see `trust list`)")
    certificate = found[0].certificate
    assert certificate is not None
    where = ", ".join(str(entry.path.parent) for entry in found)
    if not reporter.confirm(f"Stop trusting {certificate.subject.rfc4514_string()} ({where})?"):
        raise ProvisioningError("nothing removed")
    removed = remove(layout, thumbprint)
    return f"removed {certificate.subject.rfc4514_string()} from {where}", {
        "thumbprint": thumbprint,
        "removed": [str(entry.path) for entry in removed],
    }


def trust_reject_list(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    rejected = entries(layout.rejected, "rejected")
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
    thumbprint = parse_thumbprint(args.accept)
    matches = [entry for entry in rejected if entry.thumbprint == thumbprint]
    if not matches:
        raise InputError(f"no refused certificate has the thumbprint {thumbprint} (see `trust reject-list`)")
    certificate = matches[0].certificate
    assert certificate is not None
    added = add(layout, certificate, "trusted")
    message = f"now trusted: {certificate.subject.rfc4514_string()} ({added.path}); it may connect at once"
    return message, Entry("trusted", added.path, certificate).facts(datetime.now(UTC))


def register(groups: Any, common: list[argparse.ArgumentParser]) -> None:
    """Add the `trust` commands to the parser's command groups."""
    trust = groups.add_parser(
        "trust", help="whom the agent trusts: OPC UA clients, CAs, signers", description=__doc__
    ).add_subparsers(dest="action", required=True)

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        parser = trust.add_parser(name, parents=common, help=help_text)
        parser.set_defaults(handler=handler)
        parser.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory (opcua.pki)")
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
