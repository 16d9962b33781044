"""`image`: seed a mounted root file system with the config and what the device enrolls with."""

from __future__ import annotations

import argparse
from pathlib import Path, PurePosixPath

from .. import image
from ..output import Reporter
from .result import Result, Subcommands
from .shared import add_command, address_options, key_size_option


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `image` command."""
    parser = add_command(
        groups,
        "image",
        image_command,
        common,
        "seed a mounted Raspberry Pi OS root file system with the config and identity",
        keep_layout=True,
        description=image.__doc__,
    )
    parser.add_argument("--root", type=Path, required=True, metavar="DIR", help="the image's root, mounted")
    parser.add_argument("--config", type=Path, required=True, help="the agent's config for this device")
    parser.add_argument("--users", type=Path, help="the user file (the config's opcua.users names its place)")
    parser.add_argument("--application-uri", required=True, metavar="URI", help="the agent's application URI")
    address_options(parser, dns_help="a host name (default: the device's)")
    key_size_option(parser)
    parser.add_argument(
        "--agent",
        type=PurePosixPath,
        metavar="PATH",
        help="where edge-agent is installed on the device, e.g. /opt/edge-agent/bin/edge-agent (default: "
        "where this machine has it); the unit is the one `edge-agent install-service` writes for it",
    )
    parser.add_argument(
        "--unit",
        type=Path,
        help="the agent's systemd unit (default: the one `edge-agent install-service` writes, starting "
        "this installation's edge-agent)",
    )
    parser.add_argument(
        "--provision-command",
        metavar="PATH",
        help="how the device runs edge-provision at first boot (default: beside the unit's edge-agent)",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be written; write nothing")


def image_command(args: argparse.Namespace, reporter: Reporter) -> Result:
    plan = image.plan_image(
        args.root,
        args.config,
        application_uri=args.application_uri,
        users_file=args.users,
        dns_names=args.dns,
        ip_addresses=args.ip,
        key_size=args.key_size,
        unit_file=args.unit,
        provision_command=args.provision_command,
        agent=args.agent,
    )
    listed = [step.describe() for step in plan.steps]
    if args.dry_run:
        message = f"would write into {plan.root}"
    else:
        image.write_image(plan)
        message = (
            f"seeded {plan.root}: on first boot the device makes its key and leaves its request in "
            "<pki>/own/request.csr for `edge-provision ca sign`"
        )
    if args.json:
        return message, {"files": listed, "notes": plan.notes}
    return message + ":" + "".join(f"\n  {line}" for line in listed), {"notes": plan.notes}
