"""Who may connect to the OPC UA server and what each session may do.

asyncua's defaults are open: every security policy including None, any user name with any password,
"admin" with any password as an administrator, no permission checks. Everything here replaces one of
those defaults.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from asyncua import ua
from asyncua.crypto.permission_rules import PermissionRuleset, User, UserRole

from ..audit import audit
from .caller import Caller, serving
from .rights import roles_of, who

log = logging.getLogger(__name__)

# Only SignAndEncrypt is offered: Sign alone would send values and passwords in the clear.
SECURE_POLICIES: dict[str, ua.SecurityPolicyType] = {
    "Basic256Sha256": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    "Aes128Sha256RsaOaep": ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
    "Aes256Sha256RsaPss": ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
}


SIGN_ONLY_POLICIES: dict[str, ua.SecurityPolicyType] = {
    "Basic256Sha256": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "Aes128Sha256RsaOaep": ua.SecurityPolicyType.Aes128Sha256RsaOaep_Sign,
    "Aes256Sha256RsaPss": ua.SecurityPolicyType.Aes256Sha256RsaPss_Sign,
}


def secure_policy_types(names: Sequence[str], *, sign_only: bool = False) -> list[ua.SecurityPolicyType]:
    """The asyncua policy types for the configured policy names, in the configured order.

    SignAndEncrypt for each; with ``sign_only`` (an explicit opt-in) each also with Sign alone, after them.
    """
    unknown = [name for name in names if name not in SECURE_POLICIES]
    if unknown:
        known = ", ".join(SECURE_POLICIES)
        raise ValueError(f"unknown OPC UA security policy {', '.join(unknown)} (known: {known})")
    unique = list(dict.fromkeys(names))
    types = [SECURE_POLICIES[name] for name in unique]
    if sign_only:
        types += [SIGN_ONLY_POLICIES[name] for name in unique]
    return types


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


# Consecutive failed logins of one user name before it is locked out, and for how long: the lockout
# doubles with each further one, up to MAX_LOCKOUT_S, and a successful login ends the count.
LOCKOUT_AFTER = 5
LOCKOUT_S = 60.0
MAX_LOCKOUT_S = 900.0
# A failed login is answered this much later per failure so far, up to MAX_FAILURE_DELAY_S.
FAILURE_DELAY_S = 0.25
MAX_FAILURE_DELAY_S = 2.0


class LoginGuard:
    """Counts failed logins per user name; locks a name out after LOCKOUT_AFTER failures in a row."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, int] = {}
        self._lockouts: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}

    def locked_for(self, name: str) -> float:
        """Seconds the name stays locked out; 0 if it is not."""
        return max(0.0, self._locked_until.get(name, 0.0) - self._clock())

    def failed(self, name: str) -> float:
        """Count a failure; returns how long to wait before answering it."""
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        if failures >= LOCKOUT_AFTER:
            lockouts = self._lockouts.get(name, 0)
            self._lockouts[name] = lockouts + 1
            duration = min(LOCKOUT_S * 2**lockouts, MAX_LOCKOUT_S)
            self._locked_until[name] = self._clock() + duration
            self._failures[name] = 0
            log.warning("user name %r locked out for %.0f s after %d failed logins", name, duration, failures)
        return min(FAILURE_DELAY_S * failures, MAX_FAILURE_DELAY_S)

    def succeeded(self, name: str) -> None:
        self._failures.pop(name, None)
        self._lockouts.pop(name, None)
        self._locked_until.pop(name, None)


# Why a login is refused, as the log and the audit trail say it.
WRONG_CREDENTIALS = "unknown user or wrong password"
NO_USER_STORE = "no user store is configured"
UNKNOWN_CERTIFICATE = "unknown or unusable user certificate"


def locked_out(seconds: float) -> str:
    return f"locked out for {seconds:.0f} s"


class AgentUserManager:
    """Decides who a session's user is at ActivateSession (asyncua's UserManager interface).

    Anonymous sessions are admitted only when the configuration opts in. User name and X509 logins
    go to the UserDirectory; without one, every such login is refused (BadUserAccessDenied).

    asyncua asks for the user synchronously, on the event loop, and a password hash takes 100 ms or
    more by design: ``prepare`` checks a password in a thread first (the connection's processor calls
    it before asyncua activates the session), waits a little after a failure, and keeps the answer for
    ``get_user``. A user name locked out by the LoginGuard is refused without looking at the password.
    Each refused login is logged once, with its reason.
    """

    def __init__(
        self, *, anonymous: bool, directory: UserDirectory | None = None, guard: LoginGuard | None = None
    ) -> None:
        self._anonymous = anonymous
        self._directory = directory
        self.guard = guard if guard is not None else LoginGuard()
        self._prepared: dict[tuple[str, str], tuple[User | None, str]] = {}

    async def prepare(self, username: str, password: str, *, peer: object) -> None:
        """Check a user name and password off the event loop, before ActivateSession asks for them."""
        self._prepared[(username, password)] = await self._check_password(username, password, peer)

    async def _check_password(self, username: str, password: str, peer: object) -> tuple[User | None, str]:
        """The user, or None and why not."""
        locked = self.guard.locked_for(username)
        if locked:
            reason = locked_out(locked)
            audit("login", user=username, peer=peer, result="BadUserAccessDenied", reason=reason)
            return None, reason
        directory = self._directory
        if directory is None:
            audit("login", user=username, peer=peer, result="BadUserAccessDenied", reason=NO_USER_STORE)
            return None, NO_USER_STORE
        user = await asyncio.to_thread(directory.authenticate_password, username, password)
        if user is None:
            delay = self.guard.failed(username)
            audit("login", user=username, peer=peer, result="BadUserAccessDenied", reason=WRONG_CREDENTIALS)
            await asyncio.sleep(delay)
            return None, WRONG_CREDENTIALS
        self.guard.succeeded(username)
        audit("login", user=username, peer=peer, result="Good", roles=",".join(sorted(roles_of(user))))
        return user, ""

    def get_user(
        self,
        iserver: object,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is not None:
            key = (username, password or "")
            what = f"user name {username!r}"
            if key in self._prepared:
                return self._admitted(*self._prepared.pop(key), what)
            locked = self.guard.locked_for(username)
            if locked:
                return self._admitted(None, locked_out(locked), what)
            if self._directory is None:
                return self._admitted(None, NO_USER_STORE, what)
            return self._admitted(self._directory.authenticate_password(*key), WRONG_CREDENTIALS, what)
        if isinstance(certificate, UserTokenCertificate):
            directory = self._directory
            user = directory.authenticate_certificate(bytes(certificate)) if directory else None
            reason = UNKNOWN_CERTIFICATE if directory else NO_USER_STORE
            audit(
                "login",
                user=getattr(user, "name", None) or "?",
                token="X509",
                result="Good" if user else "BadUserAccessDenied",
                **({} if user else {"reason": reason}),
            )
            return self._admitted(user, reason, "a user certificate")
        if not self._anonymous:
            log.info("refused an anonymous session: anonymous access is not enabled")
            return None
        return User(role=UserRole.Anonymous)

    def _admitted(self, user: User | None, reason: str, what: str) -> User | None:
        """``user``, as a session may have it; for None, log the one line saying why the login failed."""
        if user is None:
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
_WRITE = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)
_CALL = ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)


class AgentPermissionRuleset(PermissionRuleset):
    """Which services each session may call on a channel that carries sessions, by its Part 18 roles.

    Reading services are every role's. A Write needs the WRITE right (each node's AccessLevel still
    decides what is writable). A Call goes through: each method in it is judged on its own by the
    method service (method_calls.py). No remote session may change the address space (AddNodes,
    DeleteNodes, AddReferences, DeleteReferences) or register servers: the node set is built from the
    configuration, and this server is no discovery server.

    asyncua passes the user nowhere else, so every request's user is noted here as its caller
    (caller.py), for the method service and for reads of UserAccessLevel and UserExecutable.
    """

    read_only = False

    def check_validity(self, user: User | None, action_type_id: ua.NodeId, body: Any) -> bool:
        caller = Caller.of(user, read_only_channel=self.read_only)
        serving(caller)
        if action_type_id in READ_SERVICES:
            return True
        if self.read_only or action_type_id not in (_WRITE, _CALL):
            return False
        if action_type_id == _WRITE and not caller.may_write():
            audit("write", who=who(user), result="BadUserAccessDenied")
            return False
        return True


class UnsecuredReadRuleset(AgentPermissionRuleset):
    """For the None channel of the loopback demo: sessions that only read, whoever logged in.

    Nothing on that channel is signed, so a write or a method call could come from anyone on the
    path and be altered on the way, whatever user the session claims.
    """

    read_only = True


class DiscoveryOnlyRuleset(PermissionRuleset):
    """For unsecured channels when the None policy is not offered: no session service at all.

    Clients open such a channel to call GetEndpoints and FindServers (which never reach a ruleset);
    CreateSession is refused on it (see sessions.AgentUaProcessor), and whatever else they try is too.
    """

    def check_validity(self, user: User | None, action_type_id: ua.NodeId, body: Any) -> bool:
        return False
