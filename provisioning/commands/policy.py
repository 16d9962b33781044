"""`policy require-signed|show`: whether the agent demands signed configs and models."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edge_agent.identity import PkiLayout, certificate_thumbprint
from edge_agent.identity.signatures import PKI_ENVIRONMENT, provisioned_pki

from .. import signing
from ..output import Reporter
from .result import Result, Subcommands
from .shared import add_command, add_group


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `policy` group."""
    policy = add_group(groups, "policy", "what the agent demands of its files")
    require = add_command(
        policy,
        "require-signed",
        policy_require_signed,
        common,
        "require signed configs and models (on) or not (off)",
    )
    require.add_argument("state", choices=["on", "off"])
    require.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory")
    show = add_command(policy, "show", policy_show, common, "whether signatures are required, and by whom")
    show.add_argument("--pki", type=Path, required=True, help="the agent's PKI directory")


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


def policy_show(args: argparse.Namespace, reporter: Reporter) -> Result:
    policy = signing.signing_policy(PkiLayout(args.pki))
    state = "required" if policy.required else "not required"
    return f"signed configs and models: {state}", _policy_facts(policy)


def _where_the_agent_looks(layout: PkiLayout) -> list[str]:
    provisioned = provisioned_pki()
    if layout.root.absolute() == provisioned.root.absolute():
        return []
    return [
        f"the agent on this machine reads the policy from {provisioned.root}, unless its environment "
        f"sets {PKI_ENVIRONMENT}={layout.root.absolute()}"
    ]


def _policy_facts(policy: signing.SigningPolicy) -> dict[str, Any]:
    return {
        "require_signed": policy.required,
        "marker": str(policy.marker),
        "signers": [
            f"{certificate.subject.rfc4514_string()} ({certificate_thumbprint(certificate)})"
            for certificate in policy.signers
        ],
    }
