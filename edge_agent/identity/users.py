"""The people who may log in to the agent's OPC UA server, their roles, and the file that keeps them.

The users file is JSON: it is written by `edge-provision user ...` and read by the agent, never meant
to be edited by hand, and JSON gives every value exactly one reading (in YAML, a user called
``2024-01-01`` or ``1e3`` would be a date or a number), with a parser in the standard library::

    {
      "version": 1,
      "users": [
        {
          "name": "alice",
          "role": "Operator",
          "password_hash": "scrypt$ln=15,r=8,p=1$<salt>$<hash>",
          "certificates_sha256": ["<SHA-256 of a user certificate's DER, hex>"],
          "created": "2025-11-25T17:20:00+00:00",
          "changed": "2025-11-25T17:20:00+00:00"
        }
      ]
    }

It is written atomically with mode 0600. The agent refuses to start with a file that other accounts
may read or that its group may write: the hashes would be open to offline guessing, and a writable
file would let anyone give themselves a role. A group-readable file (0640) is how an agent reads a
file root owns, as it reads its config; it is used, with a warning if the agent owns it itself.

Roles are the well-known roles of OPC UA Part 18. asyncua knows only Anonymous, User and Admin, so
an Observer's session gets asyncua's Anonymous role (the agent's permission rules let it browse,
read, subscribe and read history, nothing else) and every other role gets User; nobody gets Admin.
The Part 18 role stays on the session's user (AgentUser.roles) for finer rights per method and node.

asyncua is imported only where a session's user is made: edge-provision reads and writes this file,
and the identity package is shared with it, without loading the OPC UA stack.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509

from .layout import PRIVATE_FILE_MODE, write_atomically

if TYPE_CHECKING:
    from asyncua.crypto.permission_rules import UserRole

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_NAME_LENGTH = 64
MIN_PASSWORD_LENGTH = 8
# Group read is allowed; any other bit beyond the owner's is refused.
GROUP_READ = 0o040
TOO_OPEN = 0o037


class Role(StrEnum):
    """The well-known roles of OPC UA Part 18 that the agent hands out, one per user."""

    OBSERVER = "Observer"
    """Browses, reads, subscribes and reads history; writes nothing and calls no method."""
    OPERATOR = "Operator"
    """Also writes writable tags and calls methods."""
    ENGINEER = "Engineer"
    """For now as an Operator; will also configure the agent."""
    SECURITY_ADMIN = "SecurityAdmin"
    """For now as an Operator; will also manage trust lists and users."""

    @property
    def read_only(self) -> bool:
        return self is Role.OBSERVER


# --- passwords ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's work factors: N = 2**ln, block size r, parallelism p.

    The default (N = 2**15, r = 8, p = 1) takes 32 MiB and about 120 ms on a 2 GHz x86 core, a few
    times that on a Raspberry Pi: twice the "interactive login" cost the scrypt paper proposes. The
    higher costs OWASP suggests (N = 2**17: 128 MiB) would let a few simultaneous logins exhaust a
    small device's memory and hold up its event loop for most of a second each.
    """

    ln: int = 15
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if not (1 <= self.ln <= 20 and 1 <= self.r <= 32 and 1 <= self.p <= 16):
            raise ValueError(f"scrypt cost out of bounds: ln={self.ln}, r={self.r}, p={self.p}")
        if self.memory > 2**28:
            raise ValueError(f"scrypt cost needs {self.memory >> 20} MiB, more than 256 MiB")

    @property
    def memory(self) -> int:
        """The bytes one hash needs."""
        return 128 * self.r * (1 << self.ln)

    def derive(self, password: str, salt: bytes, length: int) -> bytes:
        return hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt,
            n=2**self.ln,
            r=self.r,
            p=self.p,
            # OpenSSL's own limit (32 MiB) is exactly the default cost's need, and too little with overhead.
            maxmem=2 * self.memory + 2**20,
            dklen=length,
        )


DEFAULT_COST = ScryptCost()
SALT_BYTES = 16
HASH_BYTES = 32
_PHC = re.compile(r"scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A salted scrypt hash, written in the PHC string format: ``scrypt$ln=15,r=8,p=1$salt$hash``.

    The costs travel with each hash, so that raising the default later leaves existing ones valid.
    """

    cost: ScryptCost
    salt: bytes
    digest: bytes

    @classmethod
    def of(cls, password: str, cost: ScryptCost = DEFAULT_COST) -> PasswordHash:
        salt = secrets.token_bytes(SALT_BYTES)
        return cls(cost, salt, cost.derive(password, salt, HASH_BYTES))

    @classmethod
    def parse(cls, text: str) -> PasswordHash:
        """ValueError, with what is wrong, unless ``text`` is a scrypt hash this module can check."""
        match = _PHC.fullmatch(text)
        if match is None:
            raise ValueError("is not a hash of the form scrypt$ln=N,r=N,p=N$SALT$HASH")
        ln, r, p = (int(group) for group in match.group(1, 2, 3))
        cost = ScryptCost(ln, r, p)
        salt, digest = _unb64(match.group(4)), _unb64(match.group(5))
        if len(salt) < 8 or not 16 <= len(digest) <= 64:
            raise ValueError("has a salt shorter than 8 bytes or a hash not 16 to 64 bytes long")
        return cls(cost, salt, digest)

    def matches(self, password: str) -> bool:
        """Whether ``password`` is the one hashed; the comparison takes the same time wherever they differ."""
        return hmac.compare_digest(self.cost.derive(password, self.salt, len(self.digest)), self.digest)

    def __str__(self) -> str:
        cost = self.cost
        return f"scrypt$ln={cost.ln},r={cost.r},p={cost.p}${_b64(self.salt)}${_b64(self.digest)}"


def _b64(data: bytes) -> str:
    # The PHC format's B64: the standard alphabet without padding.
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        raise ValueError("has a salt or hash that is not base64") from None


# --- names, passwords and certificates users give ------------------------------------------------------


class UserError(ValueError):
    """A change of the users that cannot be made."""


class InvalidUserName(UserError):
    pass


class WeakPassword(UserError):
    pass


class UserExists(UserError):
    pass


class UnknownUser(UserError):
    pass


class CertificateTaken(UserError):
    pass


def check_user_name(name: str) -> str:
    """The name in its canonical form (Unicode NFC); InvalidUserName if it cannot be a user's name.

    1 to 64 characters, no control or invisible formatting characters, no space at either end: a
    name must look the same in a log, a terminal and a client's login dialog.
    """
    canonical = unicodedata.normalize("NFC", name)
    if not 1 <= len(canonical) <= MAX_NAME_LENGTH:
        raise InvalidUserName(f"a user name has 1 to {MAX_NAME_LENGTH} characters (got {len(canonical)})")
    if any(unicodedata.category(char).startswith("C") for char in canonical):
        raise InvalidUserName(f"the user name {canonical!r} holds a control or formatting character")
    if canonical != canonical.strip():
        raise InvalidUserName(f"the user name {canonical!r} starts or ends with a space")
    return canonical


def check_password(password: str) -> None:
    """WeakPassword if ``password`` is too short to be one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_PASSWORD_LENGTH} characters")


def certificate_sha256(der: bytes) -> str:
    """How the users file names a user certificate: the SHA-256 of its DER, upper-case hex."""
    return hashlib.sha256(der).hexdigest().upper()


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- the file ----------------------------------------------------------------------------------------


class UserFileError(Exception):
    """The users file cannot be used; the message names the file and says why."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class UserAccount:
    """One user as the file keeps them."""

    name: str
    role: Role
    password: PasswordHash = field(repr=False)
    certificates_sha256: tuple[str, ...] = ()
    created: datetime = field(default_factory=_now)
    changed: datetime = field(default_factory=_now)

    def describe(self) -> dict[str, Any]:
        """What may be shown about the user: everything but the password hash."""
        return {
            "name": self.name,
            "role": str(self.role),
            "certificates_sha256": list(self.certificates_sha256),
            "created": self.created.isoformat(),
            "changed": self.changed.isoformat(),
        }


@dataclass
class UserFile:
    """The users file's content, to read, change and write back (what edge-provision does)."""

    path: Path
    accounts: dict[str, UserAccount] = field(default_factory=dict)
    mode: int | None = None
    """The file's permission bits when it was read; None for a file not written yet."""
    owner: tuple[int, int] | None = None
    """The file's user and group ids when it was read."""

    @classmethod
    def read(cls, path: Path, *, strict_mode: bool = True) -> UserFile:
        """The file's users; UserFileError if it is missing, unreadable or not a valid users file.

        With ``strict_mode`` (the agent's way), a file others may read or its group may write is
        refused too.
        """
        try:
            with path.open("rb") as file:
                status = os.fstat(file.fileno())
                if not stat.S_ISREG(status.st_mode):
                    raise UserFileError(path, "is not a regular file")
                data = file.read()
        except FileNotFoundError:
            raise UserFileError(path, "the users file does not exist") from None
        except IsADirectoryError:
            raise UserFileError(path, "is a directory, not a users file") from None
        except OSError as exc:
            raise UserFileError(path, f"the users file cannot be read: {exc.strerror}") from None
        mode = stat.S_IMODE(status.st_mode)
        if strict_mode and mode & TOO_OPEN:
            raise UserFileError(
                path,
                f"the users file has mode {mode:04o}: others may read its password hashes or change it; "
                f"make it 0600 (chmod 600 {path})",
            )
        return cls(path, _parse(path, data), mode, (status.st_uid, status.st_gid))

    def users(self) -> list[UserAccount]:
        return list(self.accounts.values())

    def get(self, name: str) -> UserAccount | None:
        return self.accounts.get(unicodedata.normalize("NFC", name))

    def add(
        self,
        name: str,
        role: Role,
        password: str,
        *,
        certificates_der: Iterable[bytes] = (),
        replace_existing: bool = False,
        cost: ScryptCost = DEFAULT_COST,
    ) -> UserAccount:
        """Add a user (or, with ``replace_existing``, set everything of one: role, password, certificates)."""
        name = check_user_name(name)
        check_password(password)
        old = self.accounts.get(name)
        if old is not None and not replace_existing:
            raise UserExists(f"there is a user {name!r} already")
        thumbprints = tuple(dict.fromkeys(certificate_sha256(der) for der in certificates_der))
        for thumbprint in thumbprints:
            owner = self._certificate_owner(thumbprint)
            if owner is not None and owner != name:
                raise CertificateTaken(f"the certificate {thumbprint} is {owner!r}'s already")
        now = _now()
        account = UserAccount(
            name,
            role,
            PasswordHash.of(password, cost),
            thumbprints,
            created=old.created if old is not None else now,
            changed=now,
        )
        self.accounts[name] = account
        return account

    def set_password(self, name: str, password: str, *, cost: ScryptCost = DEFAULT_COST) -> UserAccount:
        old = self._existing(name)
        check_password(password)
        account = replace(old, password=PasswordHash.of(password, cost), changed=_now())
        self.accounts[old.name] = account
        return account

    def remove(self, name: str) -> UserAccount:
        old = self._existing(name)
        del self.accounts[old.name]
        return old

    def write(self) -> None:
        """Replace the file with this content; UserFileError if it cannot be written.

        The new file has mode 0600, or 0640 if the old one had (an agent that reads it through its
        group), and, when the writer may give it, the old file's owner: a technician's `sudo` must
        not take the file away from the agent.
        """
        mode = PRIVATE_FILE_MODE | (GROUP_READ if self.mode == PRIVATE_FILE_MODE | GROUP_READ else 0)
        try:
            write_atomically(self.path, self.to_bytes(), mode)
        except OSError as exc:
            raise UserFileError(self.path, f"cannot write the users file: {exc.strerror}") from None
        if self.owner is not None and self.owner != _owner(self.path):
            try:
                os.chown(self.path, *self.owner)
            except PermissionError:
                uid, gid = self.owner
                log.warning("could not give %s back to user id %d, group id %d", self.path, uid, gid)
        self.mode, self.owner = mode, _owner(self.path)

    def to_bytes(self) -> bytes:
        users = [
            {
                "name": account.name,
                "role": str(account.role),
                "password_hash": str(account.password),
                "certificates_sha256": list(account.certificates_sha256),
                "created": account.created.isoformat(),
                "changed": account.changed.isoformat(),
            }
            for account in self.accounts.values()
        ]
        text = json.dumps({"version": FORMAT_VERSION, "users": users}, indent=2, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    def _existing(self, name: str) -> UserAccount:
        account = self.get(name)
        if account is None:
            raise UnknownUser(f"there is no user {name!r}")
        return account

    def _certificate_owner(self, thumbprint: str) -> str | None:
        return next((a.name for a in self.accounts.values() if thumbprint in a.certificates_sha256), None)


def _owner(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_uid, status.st_gid


_USER_KEYS = {"name", "role", "password_hash", "certificates_sha256", "created", "changed"}
_THUMBPRINT = re.compile(r"[0-9A-Fa-f]{64}")


def _parse(path: Path, data: bytes) -> dict[str, UserAccount]:
    try:
        document = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError:
        raise UserFileError(path, "the users file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise UserFileError(path, f"{where}: not valid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise UserFileError(path, str(exc)) from None
    if not isinstance(document, dict) or set(document) != {"version", "users"}:
        raise UserFileError(path, 'a users file is one object with the keys "version" and "users"')
    if document["version"] != FORMAT_VERSION:
        raise UserFileError(
            path, f"version {document['version']!r} is not one this agent reads (it reads {FORMAT_VERSION})"
        )
    if not isinstance(document["users"], list):
        raise UserFileError(path, '"users" is not a list')
    accounts: dict[str, UserAccount] = {}
    owners: dict[str, str] = {}
    for index, entry in enumerate(document["users"]):
        try:
            account = _account(entry)
        except (TypeError, ValueError) as exc:
            raise UserFileError(path, f"users[{index}]: {exc}") from None
        if account.name in accounts:
            raise UserFileError(path, f"users[{index}]: the user {account.name!r} is listed twice")
        for thumbprint in account.certificates_sha256:
            if thumbprint in owners:
                raise UserFileError(
                    path,
                    f"users[{index}]: the certificate {thumbprint} is {owners[thumbprint]!r}'s already",
                )
            owners[thumbprint] = account.name
        accounts[account.name] = account
    return accounts


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"the key {duplicates[0]!r} appears twice in one object")
    return dict(pairs)


def _account(entry: Any) -> UserAccount:
    if not isinstance(entry, dict):
        raise TypeError("a user is an object")
    missing, unknown = _USER_KEYS - set(entry), set(entry) - _USER_KEYS
    if missing or unknown:
        problems = [f"missing {', '.join(sorted(missing))}"] if missing else []
        problems += [f"unknown key {', '.join(sorted(unknown))}"] if unknown else []
        raise ValueError("; ".join(problems))
    name = _text(entry, "name")
    if check_user_name(name) != name:
        raise ValueError(f"the user name {name!r} is not in Unicode NFC form")
    try:
        role = Role(_text(entry, "role"))
    except ValueError:
        raise ValueError(f"role {entry['role']!r} is not one of {', '.join(Role)}") from None
    try:
        password = PasswordHash.parse(_text(entry, "password_hash"))
    except ValueError as exc:
        raise ValueError(f"password_hash {exc}") from None
    certificates = entry["certificates_sha256"]
    if not isinstance(certificates, list) or not all(
        isinstance(item, str) and _THUMBPRINT.fullmatch(item) for item in certificates
    ):
        raise ValueError("certificates_sha256 is not a list of SHA-256 thumbprints (64 hex digits)")
    return UserAccount(
        name,
        role,
        password,
        tuple(dict.fromkeys(item.upper() for item in certificates)),
        created=_time(entry, "created"),
        changed=_time(entry, "changed"),
    )


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def _time(entry: dict[str, Any], key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(_text(entry, key))
    except ValueError:
        raise ValueError(f"{key} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{key} has no time zone")
    return moment


# --- the agent's side: who a session's user is -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentUser:
    """A session's user, shaped like asyncua's User (``role``, ``name``), with its Part 18 roles.

    asyncua reads nothing of a user but these two attributes, so this stands in for its User
    without importing asyncua at module level (see the module's docstring).
    """

    role: UserRole
    """asyncua's role: Anonymous (read only) for an Observer, User otherwise."""
    name: str
    roles: frozenset[Role]
    """The Part 18 roles granted to the session."""


def session_user(account: UserAccount) -> AgentUser:
    from asyncua.crypto.permission_rules import UserRole

    role = UserRole.Anonymous if account.role.read_only else UserRole.User
    return AgentUser(role=role, name=account.name, roles=frozenset({account.role}))


class UserStore:
    """The agent's user directory (edge_agent.opcua.UserDirectory): the users file, followed as it changes.

    A change by `edge-provision user ...` counts from the next login; sessions already open keep
    their user. If the file turns unusable (removed, broken, opened up to others), every login is
    refused, with an error in the log, until it is fixed: an older copy might still admit a removed user.
    Safe to call from several threads.
    """

    def __init__(self, path: Path, *, cost: ScryptCost = DEFAULT_COST) -> None:
        """Use load(): it tells at once whether the file can be used."""
        self._path = path
        self._cost = cost
        self._lock = threading.Lock()
        self._signature: tuple[int, ...] | None = None
        self._accounts: dict[str, UserAccount] = {}
        self._by_certificate: dict[str, str] = {}

    @classmethod
    def load(cls, path: Path, *, cost: ScryptCost = DEFAULT_COST) -> UserStore:
        """The store of the file at ``path``; UserFileError, naming the file, if it cannot be used.

        ``cost`` is what an unknown user's login is made to cost, like a known one's.
        """
        store = cls(path, cost=cost)
        store._signature = _signature(path)
        store._use(UserFile.read(path))
        return store

    @property
    def path(self) -> Path:
        return self._path

    def users(self) -> list[UserAccount]:
        """The users as the file holds them now; none while it is unusable."""
        accounts, _ = self._current()
        return list(accounts.values())

    def signature(self) -> tuple[int, ...] | None:
        """What changes whenever the users file does: a cache of logins is good while it stays the same."""
        return _signature(self._path)

    def authenticate_password(self, username: str, password: str) -> AgentUser | None:
        accounts, _ = self._current()
        account = accounts.get(unicodedata.normalize("NFC", username))
        if account is None:
            # As costly as checking a password: the answer's timing tells no one which names exist.
            PasswordHash.of(password, self._cost)
            return None
        return session_user(account) if account.password.matches(password) else None

    def authenticate_certificate(self, certificate: bytes) -> AgentUser | None:
        accounts, by_certificate = self._current()
        name = by_certificate.get(certificate_sha256(certificate))
        account = accounts.get(name) if name is not None else None
        if account is None:
            return None
        problem = _validity_problem(certificate)
        if problem is not None:
            log.warning("refused the certificate of user %r: %s", account.name, problem)
            return None
        return session_user(account)

    def _current(self) -> tuple[dict[str, UserAccount], dict[str, str]]:
        """The users by name and by certificate, re-read first if the file has changed."""
        with self._lock:
            signature = _signature(self._path)
            if signature != self._signature:
                self._signature = signature
                self._reread()
            return self._accounts, self._by_certificate

    def _reread(self) -> None:
        try:
            users = UserFile.read(self._path)
        except UserFileError as exc:
            self._accounts, self._by_certificate = {}, {}
            log.error("every user login is refused until the users file is fixed: %s", exc)
            return
        self._use(users)
        log.info("read %d users from %s", len(users.accounts), self._path)

    def _use(self, users: UserFile) -> None:
        _warn_if_group_readable(users)
        self._accounts = users.accounts
        self._by_certificate = {
            thumbprint: account.name
            for account in users.accounts.values()
            for thumbprint in account.certificates_sha256
        }


def _signature(path: Path) -> tuple[int, ...] | None:
    """What changes whenever the file is replaced, edited or has its mode changed."""
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _warn_if_group_readable(users: UserFile) -> None:
    # Group read is how an agent reads a file root owns (root:edge-agent 0640, like its config);
    # an agent that owns the file needs no group to read it.
    owned = users.owner is not None and users.owner[0] == os.geteuid()
    if owned and users.mode is not None and users.mode & GROUP_READ:
        log.warning(
            "the users file %s is readable by its group (mode %04o), which the agent, its owner, does "
            "not need: every member may try to guess passwords from its hashes; make it 0600",
            users.path,
            users.mode,
        )


def _validity_problem(der: bytes) -> str | None:
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        return "it cannot be parsed"
    now = datetime.now(UTC)
    if now < certificate.not_valid_before_utc:
        return f"it is not valid before {certificate.not_valid_before_utc.isoformat()}"
    if now >= certificate.not_valid_after_utc:
        return f"it expired on {certificate.not_valid_after_utc.isoformat()}"
    return None
