"""`enroll import|est`: the device gets its certificate, offline from a file or online from EST."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any

from edge_agent.identity import PkiLayout

from .. import enroll, est
from ..device import DeviceRequest, init_device, what_force_replaces
from ..errors import InputError, ProvisioningError
from ..files import load_certificates
from ..names import dns_name, ip_address
from ..opcua_profile import alt_names, application_uris
from ..output import Reporter
from ..subject import device_subject
from .result import Result, Subcommands
from .shared import (
    add_command,
    add_group,
    address_options,
    certificate_facts,
    est_password,
    key_size_option,
    own_host_name,
    password_options,
    pki_option,
    server_options,
    trust_anchors,
)

EST_EPILOG = """\
online enrollment, on the device:
  edge-provision enroll est --pki PKI --server https://est.plant3.example:8443 --ca-cert est-ca.pem \\
      --user pump17 --password-file pw.txt

The key is made on this device; only the request goes to the server. The server's TLS certificate must
verify against --ca-cert (or, with --explicit-ta, a CA in PKI/trusted/certs); http:// is refused."""


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `enroll` group."""
    enroll_group = add_group(groups, "enroll", "enrollment")
    imp = add_command(enroll_group, "import", enroll_import, common, "install the certificate the CA signed")
    imp.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory")
    imp.add_argument(
        "certificate", type=Path, metavar="CERT_FILE", help="as `ca sign` wrote it (PEM chain or DER)"
    )
    imp.add_argument("--ca", type=Path, metavar="CA_CERT", help="the CA certificate, if CERT_FILE lacks it")
    imp.add_argument("--application-uri", metavar="URI", help="default: the one in this device's pending CSR")

    online = add_command(
        enroll_group,
        "est",
        enroll_est,
        common,
        "enroll online with the site's EST server (RFC 7030)",
        keep_layout=True,
        epilog=EST_EPILOG,
    )
    pki_option(online)
    server_options(online, trust_required=True)
    online.add_argument("--user", required=True, metavar="NAME", help="the user name the server knows")
    password_options(online, required=True)
    online.add_argument(
        "--application-uri", metavar="URI", help="default: the one in this device's current certificate"
    )
    address_options(online)
    key_size_option(online)
    online.add_argument(
        "--force", action="store_true", help="enroll although the device is provisioned or enrolling"
    )


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
    return message, _enrolled_facts(layout, enrolled)


def enroll_est(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    server = est.EstServer.parse(args.server)
    anchors = trust_anchors(args, layout)
    auth = est.BasicAuth(args.user, est_password(args))
    application_uri = args.application_uri or _current_application_uri(layout)
    ips = [ip_address(text) for text in args.ip]
    dns = [dns_name(name) for name in args.dns]
    if not dns and not ips:
        # OPC UA Part 6 asks for the host's name in the certificate; the device's own is the default.
        dns = own_host_name()
    replaces = what_force_replaces(layout)
    if replaces and not args.force:
        raise ProvisioningError(
            f"refusing to enroll: the new key would replace {' and '.join(replaces)}. Give --force to "
            f"enroll anyway, or renew the certificate with `edge-provision renew --pki {layout.root}`"
        )
    if replaces and not reporter.confirm(f"The new key will replace {' and '.join(replaces)}. Go on?"):
        raise ProvisioningError("stopped; nothing changed")
    client = est.EstClient(server, trust_anchors=anchors, basic_auth=auth)

    def make_request() -> DeviceRequest:
        layout.ensure()
        return init_device(
            layout,
            application_uri=application_uri,
            subject=device_subject(None, socket.gethostname()),
            # The request is kept as the pending one only; there is no file for anyone to carry.
            csr_file=layout.pending_request,
            dns_names=dns,
            ip_addresses=ips,
            key_size=args.key_size,
            force=args.force,
        )

    enrolled = est.enroll(layout, client, make_request, application_uri=application_uri)
    message = (
        f"enrolled with {server.url}: installed the certificate as {layout.own_certificate}; restart the "
        f"agent to serve with it. Peers with certificates of the same CA are trusted through "
        f"{enrolled.trusted_ca}"
    )
    return message, {"server": server.url, **_enrolled_facts(layout, enrolled)}


def _enrolled_facts(layout: PkiLayout, enrolled: enroll.Enrolled) -> dict[str, Any]:
    return {
        "certificate": str(layout.own_certificate),
        **certificate_facts(enrolled.certificate),
        "trusted_ca": str(enrolled.trusted_ca),
        "issuers": [str(path) for path in enrolled.issuers],
        "replaced_self_signed": enrolled.replaced_self_signed,
    }


def _current_application_uri(layout: PkiLayout) -> str:
    if layout.own_certificate.exists():
        uris = application_uris(alt_names(load_certificates(layout.own_certificate)[0].extensions))
        if len(uris) == 1:
            return uris[0]
    raise InputError(
        f"{layout.own_certificate} names no application URI to enroll for: give --application-uri"
    )
