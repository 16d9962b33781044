"""Each subcommand: command line values in, a call of the module that does the work, a result out."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from edge_agent.identity import PkiLayout, certificate_thumbprint

from . import ca, device, enroll, issue, revocation
from .ca_store import SiteCa
from .errors import InputError, ProvisioningError
from .files import check_output, load_certificates, load_request, write_public
from .name_constraints import PermittedNames
from .names import dns_name, ip_address
from .opcua_profile import alt_names, application_uris
from .output import Reporter
from .serials import format_serial, parse_serial
from .subject import device_subject

Result = tuple[str, dict[str, Any]]


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
        **_certificate_facts(site_ca.certificate),
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
        **_certificate_facts(certificate),
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


def device_init(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    nameplate = None
    if args.config is not None:
        config = _load_config(args)
        nameplate = config.asset.nameplate
    ips = [ip_address(text) for text in args.ip]
    dns = list(args.dns)
    if not dns and not ips:
        # OPC UA Part 6 asks for the host's name in the certificate; the device's own is the default.
        dns = _own_host_name()
    replaces = device.what_force_replaces(layout)
    if (
        replaces
        and args.force
        and not reporter.confirm(f"The new key will replace {' and '.join(replaces)} at import. Go on?")
    ):
        raise ProvisioningError("stopped; nothing changed")
    made = device.init_device(
        layout,
        application_uri=args.application_uri,
        subject=device_subject(nameplate, socket.gethostname()),
        csr_file=args.output,
        dns_names=dns,
        ip_addresses=ips,
        key_size=args.key_size,
        force=args.force,
    )
    names = alt_names(made.request.extensions)
    message = (
        f"wrote the request {args.output}: have the site CA sign it (`edge-provision ca sign`), then import "
        "the certificate here with `edge-provision enroll import`; the new key stays on this device"
    )
    return message, {
        "csr_file": str(args.output),
        "subject": made.request.subject.rfc4514_string(),
        "application_uri": application_uris(names)[0],
        "dns": [name.value for name in names if isinstance(name, x509.DNSName)],
        "ip": [str(name.value) for name in names if isinstance(name, x509.IPAddress)],
        "key_size": args.key_size,
        "key_file": str(made.key_path),
        "public_key_sha256": made.public_key_sha256,
        "replaces_at_import": made.replaces,
    }


def enroll_import(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    certificates = load_certificates(args.certificate)
    ca_certificate = load_certificates(args.ca, "CA certificate")[0] if args.ca else None
    enrolled = enroll.import_certificate(
        layout, certificates, ca=ca_certificate, application_uri=args.application_uri
    )
    message = (
        f"installed the certificate as {layout.own_certificate}; restart the agent to serve with it. Peers "
        f"with certificates of the same CA are trusted through {enrolled.trusted_ca}"
    )
    return message, {
        "certificate": str(layout.own_certificate),
        **_certificate_facts(enrolled.certificate),
        "trusted_ca": str(enrolled.trusted_ca),
        "issuers": [str(path) for path in enrolled.issuers],
        "replaced_self_signed": enrolled.replaced_self_signed,
    }


def _certificate_facts(certificate: x509.Certificate) -> dict[str, Any]:
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


def _load_config(args: argparse.Namespace) -> Any:
    from edge_agent.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    configured = config.opcua.application_uri
    if configured is not None and configured != args.application_uri:
        raise InputError(
            f"--application-uri {args.application_uri!r} is not the application URI of {args.config} "
            f"({configured!r}); the agent would refuse a certificate for it"
        )
    return config


def _own_host_name() -> list[str]:
    try:
        return [dns_name(socket.gethostname())]
    except InputError:
        return []
