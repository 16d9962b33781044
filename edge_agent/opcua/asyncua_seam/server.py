"""Building asyncua's Server with the agent's sessions, identity and unsecured-channel rules.

asyncua's Server takes its InternalServer, certificate and security policy factories only through its
constructor defaults, file-based loaders and a private list (seams S1-S3 of the package docstring).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.permission_rules import PermissionRuleset
from asyncua.crypto.security_policies import SecurityPolicyFactory, SecurityPolicyNone
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from .sessions import AgentInternalServer, AgentServer


def build_server(
    *,
    user_manager: Any,
    max_sessions: int,
    max_connections: int,
    ns0_keep: frozenset[ua.NodeId] | None = None,
    ns0_items: Path | None = None,
) -> Server:
    """An asyncua Server whose sessions follow sessions.py: capped, bound to their connection.

    ``ns0_keep``: the namespace-0 nodes its ``init`` loads (ns0.py); None: all of them. ``ns0_items``: a
    file holding those nodes' items (ns0.save_kept_items), loaded instead of running the generated code.
    """
    iserver = AgentInternalServer(user_manager=user_manager, max_sessions=max_sessions)
    iserver.max_connections = max_connections
    iserver.ns0_keep = ns0_keep
    iserver.ns0_items = ns0_items
    return AgentServer(iserver=iserver)


def activated_sessions(server: Server) -> int:
    """How many client sessions are activated now."""
    iserver = server.iserver
    return iserver.activated_sessions if isinstance(iserver, AgentInternalServer) else 0


def use_identity(server: Server, certificate: x509.Certificate, private_key: PrivateKeyTypes) -> None:
    """Serve with ``certificate`` and ``private_key`` as they are in memory.

    Server.load_certificate/load_private_key read files or encoded bytes; the key is already loaded and
    is not to be encoded again only to be parsed back.
    """
    server.iserver.certificate = certificate
    server.iserver.private_key = private_key


def set_unsecured_channel_ruleset(
    server: Server, certificate: x509.Certificate, private_key: PrivateKeyTypes, ruleset: PermissionRuleset
) -> None:
    """Give every unsecured channel ``ruleset``, whether or not a None endpoint is offered.

    asyncua opens an unsecured channel for any client that asks, None endpoint or not: clients need one
    for GetEndpoints. Such a channel otherwise carries no permission ruleset at all (or, with the None
    policy, the one of the secured channels), so this factory, found before the ones asyncua adds at
    start, gives it ``ruleset``. Call before ``server.start()``.
    """
    server._policies.append(
        SecurityPolicyFactory(
            SecurityPolicyNone,
            ua.MessageSecurityMode.None_,
            certificate,
            private_key,
            permission_ruleset=ruleset,
        )
    )
