"""`device init|first-boot`: the device makes its own key and the request for the site CA."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from cryptography import x509

from edge_agent.identity import PkiLayout

from .. import device, image
from ..agent_config import load_agent_config
from ..errors import InputError, ProvisioningError
from ..names import ip_address
from ..opcua_profile import alt_names, application_uris
from ..output import Reporter
from ..subject import device_subject
from .result import Result, Subcommands
from .shared import add_command, add_group, address_options, key_size_option, own_host_name, pki_option


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `device` group."""
    device_group = add_group(groups, "device", "this device's identity")
    init = add_command(device_group, "init", device_init, common, "make the device's key and CSR")
    pki_option(init)
    init.add_argument("--application-uri", required=True, metavar="URI", help="the agent's application URI")
    init.add_argument("--config", type=Path, help="the agent's config: its nameplate names the subject")
    address_options(init)
    key_size_option(init)
    init.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="CSR_FILE",
        help="the request for the site CA (PEM)",
    )
    init.add_argument(
        "--force", action="store_true", help="make a new key although the device is provisioned or enrolling"
    )

    boot = add_command(
        device_group,
        "first-boot",
        device_first_boot,
        common,
        "make the key and CSR `image` asked for (run once by edge-agent-enroll.service)",
    )
    boot.add_argument(
        "--marker", type=Path, default=Path(str(image.FIRST_BOOT_MARKER)), help="default: %(default)s"
    )
    boot.add_argument(
        "--root", type=Path, help="the root the marker's paths are under (default: /, this device)"
    )


def device_init(args: argparse.Namespace, reporter: Reporter) -> Result:
    layout = PkiLayout(args.pki)
    nameplate = None
    if args.config is not None:
        nameplate = load_agent_config(args.config, args.application_uri).asset.nameplate
    ips = [ip_address(text) for text in args.ip]
    dns = list(args.dns)
    if not dns and not ips:
        # OPC UA Part 6 asks for the host's name in the certificate; the device's own is the default.
        dns = own_host_name()
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


def device_first_boot(args: argparse.Namespace, reporter: Reporter) -> Result:
    if not args.marker.is_absolute():
        raise InputError(f"--marker must be an absolute path (got {args.marker})")
    booted = image.first_boot(args.marker, args.root)
    if booted.made is None:
        return f"nothing made: the device already has {' and '.join(booted.existing)}", {}
    request = booted.layout.pending_request
    message = (
        f"made this device's key and its request {request}: have the site CA sign it, "
        "then import the certificate with `edge-provision enroll import`"
    )
    return message, {
        "csr_file": str(request),
        "subject": booted.made.request.subject.rfc4514_string(),
        "public_key_sha256": booted.made.public_key_sha256,
        "notes": booted.notes,
    }
