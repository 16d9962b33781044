"""Who may connect to the OPC UA server and what each session may do.

asyncua's defaults are open: every security policy including None, any user name with any password,
"admin" with any password as an administrator, no permission checks. Everything here replaces one of
those defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from asyncua import ua
from asyncua.crypto.permission_rules import PermissionRuleset, User, UserRole

if TYPE_CHECKING:
    from asyncua.server.internal_server import InternalServer

log = logging.getLogger(__name__)

# Only SignAndEncrypt is offered: Sign alone would send values and passwords in the clear.
SECURE_POLICIES: dict[str, ua.SecurityPolicyType] = {
    "Basic256Sha256": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    "Aes128Sha256RsaOaep": ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    "Aes256Sha256RsaPss": ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
}


def secure_policy_types(names: Sequence[str]) -> list[ua.SecurityPolicyType]:
    """The asyncua policy types for the configured policy names, in the configured order."""
    unknown = [name for name in names if name not in SECURE_POLICIES]
    if unknown:
        known = ", ".join(SECURE_POLICIES)
        raise ValueError(f"unknown OPC UA security policy {', '.join(unknown)} (known: {known})")
    return [SECURE_POLICIES[name] for name in dict.fromkeys(names)]


class UserTokenCertificate(bytes):
    """The DER certificate of an X509 identity token.

    asyncua hands the user manager a certificate both for X509 logins (the user's certificate) and
    for anonymous ones (the client application's certificate); this type tells them apart.
    """


class UserDirectory(Protocol):
    """Where users and their roles come from: the seam for the user store.

    Return the User for valid credentials, None for anything else (unknown user, wrong password,
    unknown certificate). Never return UserRole.Admin: asyncua lets an Admin write any attribute of
    any node, past every access level, so the user manager refuses to hand that role to a client.
    """

    def authenticate_password(self, username: str, password: str) -> User | None: ...

    def authenticate_certificate(self, certificate: bytes) -> User | None: ...


class AgentUserManager:
    """Decides who a session's user is at ActivateSession (asyncua's UserManager interface).

    Anonymous sessions are admitted only when the configuration opts in. User name and X509 logins
    go to the UserDirectory; without one, every such login is refused (BadUserAccessDenied).
    """

    def __init__(self, *, anonymous: bool, directory: UserDirectory | None = None) -> None:
        self._anonymous = anonymous
        self._directory = directory

    def get_user(
        self,
        iserver: InternalServer,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is not None:
            user = (
                self._directory.authenticate_password(username, password or "") if self._directory else None
            )
            return self._admitted(user, f"user name {username!r}")
        if isinstance(certificate, UserTokenCertificate):
            user = self._directory.authenticate_certificate(bytes(certificate)) if self._directory else None
            return self._admitted(user, "a user certificate")
        if not self._anonymous:
            log.info("refused an anonymous session: anonymous access is not enabled")
            return None
        return User(role=UserRole.Anonymous)

    def _admitted(self, user: User | None, what: str) -> User | None:
        if user is None:
            reason = "unknown credentials" if self._directory else "no user store is configured"
            log.warning("refused a login with %s: %s", what, reason)
            return None
        if user.role is UserRole.Admin:
            log.warning(
                "user %s gets the User role: remote sessions never get asyncua's Admin role", user.name
            )
            return User(role=UserRole.User, name=user.name)
        return user


def _request_ids(*object_ids: int) -> frozenset[ua.NodeId]:
    return frozenset(ua.NodeId(object_id) for object_id in object_ids)


# What a read-only session needs: browse, read, subscribe, read history.
READ_SERVICES = _request_ids(
    ua.ObjectIds.ReadRequest_Encoding_DefaultBinary,
    ua.ObjectIds.BrowseRequest_Encoding_DefaultBinary,
    ua.ObjectIds.BrowseNextRequest_Encoding_DefaultBinary,
    ua.ObjectIds.TranslateBrowsePathsToNodeIdsRequest_Encoding_DefaultBinary,
    ua.ObjectIds.RegisterNodesRequest_Encoding_DefaultBinary,
    ua.ObjectIds.UnregisterNodesRequest_Encoding_DefaultBinary,
    ua.ObjectIds.CreateSubscriptionRequest_Encoding_DefaultBinary,
    ua.ObjectIds.ModifySubscriptionRequest_Encoding_DefaultBinary,
    ua.ObjectIds.DeleteSubscriptionsRequest_Encoding_DefaultBinary,
    ua.ObjectIds.TransferSubscriptionsRequest_Encoding_DefaultBinary,
    ua.ObjectIds.SetPublishingModeRequest_Encoding_DefaultBinary,
    ua.ObjectIds.PublishRequest_Encoding_DefaultBinary,
    ua.ObjectIds.RepublishRequest_Encoding_DefaultBinary,
    ua.ObjectIds.CreateMonitoredItemsRequest_Encoding_DefaultBinary,
    ua.ObjectIds.ModifyMonitoredItemsRequest_Encoding_DefaultBinary,
    ua.ObjectIds.DeleteMonitoredItemsRequest_Encoding_DefaultBinary,
    ua.ObjectIds.SetMonitoringModeRequest_Encoding_DefaultBinary,
    ua.ObjectIds.SetTriggeringRequest_Encoding_DefaultBinary,
    ua.ObjectIds.HistoryReadRequest_Encoding_DefaultBinary,
    ua.ObjectIds.CloseSessionRequest_Encoding_DefaultBinary,
    ua.ObjectIds.CloseSecureChannelRequest_Encoding_DefaultBinary,
)
# An authenticated user may also write values (each node's AccessLevel still decides) and call methods.
USER_SERVICES = READ_SERVICES | _request_ids(
    ua.ObjectIds.WriteRequest_Encoding_DefaultBinary,
    ua.ObjectIds.CallRequest_Encoding_DefaultBinary,
)


class AgentPermissionRuleset(PermissionRuleset):
    """Which services each role may call on a channel that carries sessions: a secured one.

    Anonymous sessions only read. No remote session may change the address space (AddNodes,
    DeleteNodes, AddReferences, DeleteReferences) or register servers: the node set is built from
    the configuration, and this server is no discovery server.
    """

    _allowed: dict[UserRole, frozenset[ua.NodeId]] = {
        UserRole.Anonymous: READ_SERVICES,
        UserRole.User: USER_SERVICES,
        UserRole.Admin: USER_SERVICES,
    }

    def check_validity(self, user: User | None, action_type_id: ua.NodeId, body: Any) -> bool:
        role = user.role if user is not None else UserRole.Anonymous
        return action_type_id in self._allowed.get(role, frozenset())


class UnsecuredReadRuleset(AgentPermissionRuleset):
    """For the None channel of the loopback demo: sessions that only read, whoever logged in.

    Nothing on that channel is signed, so a write or a method call could come from anyone on the
    path and be altered on the way, whatever user the session claims.
    """

    _allowed: dict[UserRole, frozenset[ua.NodeId]] = dict.fromkeys(UserRole, READ_SERVICES)


class DiscoveryOnlyRuleset(PermissionRuleset):
    """For unsecured channels when the None policy is not offered: no session service at all.

    Clients open such a channel to call GetEndpoints and FindServers (which never reach a ruleset);
    CreateSession is refused on it (see sessions.AgentUaProcessor), and whatever else they try is too.
    """

    def check_validity(self, user: User | None, action_type_id: ua.NodeId, body: Any) -> bool:
        return False
