"""The users file: what it keeps, how it keeps passwords, and whom the agent's user store admits."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asyncua.crypto.permission_rules import UserRole
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from edge_agent.identity.users import (
    DEFAULT_COST,
    InvalidUserName,
    PasswordHash,
    Role,
    ScryptCost,
    UserExists,
    UserFile,
    UserFileError,
    UserStore,
    WeakPassword,
    certificate_sha256,
)

# Hashes that take microseconds: the format and the checks are the same at any cost.
CHEAP = ScryptCost(ln=4, r=8, p=1)
PASSWORD = "correct horse"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def user_certificate(*, expired: bool = False) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "alice")])
    now = datetime.now(UTC)
    start = now - timedelta(days=30 if expired else 1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now - timedelta(days=1) if expired else now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def users_file(
    tmp_path: Path, *accounts: tuple[str, Role], certificates: dict[str, bytes] | None = None
) -> Path:
    users = UserFile(tmp_path / "users.json")
    for name, role in accounts:
        der = (certificates or {}).get(name)
        users.add(name, role, PASSWORD, certificates_der=[der] if der else [], cost=CHEAP)
    users.write()
    return users.path


def store_of(path: Path) -> UserStore:
    return UserStore.load(path, cost=CHEAP)


# --- the file -------------------------------------------------------------------------------------


def test_what_is_written_is_read_back(tmp_path: Path) -> None:
    certificate = user_certificate()
    written = UserFile(tmp_path / "users.json")
    written.add("alice", Role.OPERATOR, PASSWORD, certificates_der=[certificate], cost=CHEAP)
    written.add("Jürgen", Role.OBSERVER, "another password", cost=CHEAP)
    written.write()

    read = UserFile.read(written.path)

    assert read.users() == written.users()
    assert [user.certificates_sha256 for user in read.users()] == [(certificate_sha256(certificate),), ()]


def test_the_file_is_only_for_its_owner(tmp_path: Path) -> None:
    path = users_file(tmp_path, ("alice", Role.OPERATOR))

    assert mode(path) == 0o600


def test_the_file_is_versioned_json_without_passwords(tmp_path: Path) -> None:
    path = users_file(tmp_path, ("alice", Role.OPERATOR))

    document = json.loads(path.read_text())

    assert document["version"] == 1
    assert [(user["name"], user["role"]) for user in document["users"]] == [("alice", "Operator")]
    assert PASSWORD not in path.read_text()


def test_a_rewrite_keeps_a_group_readable_file_group_readable(tmp_path: Path) -> None:
    path = users_file(tmp_path, ("alice", Role.OPERATOR))
    os.chmod(path, 0o640)
    users = UserFile.read(path)

    users.add("bob", Role.OBSERVER, PASSWORD, cost=CHEAP)
    users.write()

    assert mode(path) == 0o640


def test_adding_a_user_twice_is_refused(tmp_path: Path) -> None:
    users = UserFile(tmp_path / "users.json")
    users.add("alice", Role.OPERATOR, PASSWORD, cost=CHEAP)

    with pytest.raises(UserExists):
        users.add("alice", Role.ENGINEER, PASSWORD, cost=CHEAP)


def test_replacing_a_user_keeps_when_it_was_created(tmp_path: Path) -> None:
    users = UserFile(tmp_path / "users.json")
    first = users.add("alice", Role.OPERATOR, PASSWORD, cost=CHEAP)

    second = users.add("alice", Role.ENGINEER, "new password", replace_existing=True, cost=CHEAP)

    assert (second.role, second.created) == (Role.ENGINEER, first.created)


@pytest.mark.parametrize(
    "name",
    ["", "a" * 65, "bell\x07", "new\nline", "zero\u200bwidth", " alice", "alice "],
    ids=["empty", "65 characters", "control", "line break", "invisible", "leading space", "trailing space"],
)
def test_a_user_name_that_cannot_be_shown_plainly_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidUserName):
        UserFile(tmp_path / "users.json").add(name, Role.OPERATOR, PASSWORD, cost=CHEAP)


@pytest.mark.parametrize("name", ["a", "a" * 64, "Jürgen Müller", "operator.2@plant3"])
def test_names_of_1_to_64_printable_characters_are_accepted(tmp_path: Path, name: str) -> None:
    account = UserFile(tmp_path / "users.json").add(name, Role.OPERATOR, PASSWORD, cost=CHEAP)

    assert account.name == name


@pytest.mark.parametrize("password", ["", "seven77"])
def test_a_password_shorter_than_8_characters_is_refused(tmp_path: Path, password: str) -> None:
    with pytest.raises(WeakPassword):
        UserFile(tmp_path / "users.json").add("alice", Role.OPERATOR, password, cost=CHEAP)


# --- passwords -------------------------------------------------------------------------------------


def test_a_password_is_kept_as_a_salted_scrypt_hash_in_phc_form() -> None:
    text = str(PasswordHash.of(PASSWORD))

    algorithm, costs, salt, digest = text.split("$")
    assert (algorithm, costs) == ("scrypt", "ln=15,r=8,p=1")
    assert len(base64.b64decode(salt + "==")) == 16
    assert len(base64.b64decode(digest + "=")) == 32


def test_the_default_cost_is_2_to_the_15_with_32_mib() -> None:
    assert (DEFAULT_COST.ln, DEFAULT_COST.r, DEFAULT_COST.p, DEFAULT_COST.memory) == (15, 8, 1, 32 * 2**20)


def test_the_same_password_hashes_differently_every_time() -> None:
    assert str(PasswordHash.of(PASSWORD, CHEAP)) != str(PasswordHash.of(PASSWORD, CHEAP))


def test_a_hash_matches_its_password_only() -> None:
    hashed = PasswordHash.parse(str(PasswordHash.of(PASSWORD, CHEAP)))

    assert hashed.matches(PASSWORD)
    assert not hashed.matches("correct horsE")
    assert not hashed.matches("")


# --- whom the store admits ---------------------------------------------------------------------------


def test_the_right_password_logs_in_with_the_users_role(tmp_path: Path) -> None:
    store = store_of(users_file(tmp_path, ("alice", Role.OPERATOR)))

    user = store.authenticate_password("alice", PASSWORD)

    assert user is not None
    assert (user.name, user.role, user.roles) == ("alice", UserRole.User, frozenset({Role.OPERATOR}))


@pytest.mark.parametrize(("name", "password"), [("alice", "wrong password"), ("mallory", PASSWORD)])
def test_a_wrong_password_or_an_unknown_user_is_refused(tmp_path: Path, name: str, password: str) -> None:
    store = store_of(users_file(tmp_path, ("alice", Role.OPERATOR)))

    assert store.authenticate_password(name, password) is None


@pytest.mark.parametrize("password", ["", "admin", PASSWORD])
def test_admin_is_no_backdoor(tmp_path: Path, password: str) -> None:
    store = store_of(users_file(tmp_path, ("alice", Role.SECURITY_ADMIN)))

    assert store.authenticate_password("admin", password) is None


def test_a_user_called_admin_is_a_user_like_any_other(tmp_path: Path) -> None:
    store = store_of(users_file(tmp_path, ("admin", Role.OBSERVER)))

    user = store.authenticate_password("admin", PASSWORD)

    assert user is not None
    assert (user.role, user.roles) == (UserRole.Anonymous, frozenset({Role.OBSERVER}))


@pytest.mark.parametrize(
    ("role", "session_role"),
    [
        (Role.OBSERVER, UserRole.Anonymous),
        (Role.OPERATOR, UserRole.User),
        (Role.ENGINEER, UserRole.User),
        (Role.SECURITY_ADMIN, UserRole.User),
    ],
)
def test_only_an_observer_gets_a_read_only_session_and_nobody_admin(
    tmp_path: Path, role: Role, session_role: UserRole
) -> None:
    store = store_of(users_file(tmp_path, ("alice", role)))

    user = store.authenticate_password("alice", PASSWORD)

    assert user is not None
    assert user.role is session_role


def test_a_registered_user_certificate_logs_in_as_its_user(tmp_path: Path) -> None:
    certificate = user_certificate()
    path = users_file(
        tmp_path, ("alice", Role.ENGINEER), ("bob", Role.OBSERVER), certificates={"alice": certificate}
    )

    user = store_of(path).authenticate_certificate(certificate)

    assert user is not None
    assert (user.name, user.roles) == ("alice", frozenset({Role.ENGINEER}))


def test_an_unregistered_or_expired_user_certificate_is_refused(tmp_path: Path) -> None:
    expired = user_certificate(expired=True)
    store = store_of(users_file(tmp_path, ("alice", Role.OPERATOR), certificates={"alice": expired}))

    assert store.authenticate_certificate(user_certificate()) is None
    assert store.authenticate_certificate(expired) is None


def test_a_change_of_the_file_counts_from_the_next_login(tmp_path: Path) -> None:
    path = users_file(tmp_path, ("alice", Role.OPERATOR))
    store = store_of(path)
    users = UserFile.read(path)
    users.remove("alice")
    users.add("bob", Role.OBSERVER, PASSWORD, cost=CHEAP)
    users.write()

    assert store.authenticate_password("alice", PASSWORD) is None
    assert store.authenticate_password("bob", PASSWORD) is not None


def test_a_file_broken_while_the_agent_runs_refuses_every_login(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = users_file(tmp_path, ("alice", Role.OPERATOR))
    store = store_of(path)
    path.write_text("{")

    with caplog.at_level(logging.ERROR):
        assert store.authenticate_password("alice", PASSWORD) is None

    assert str(path) in caplog.text


# --- files the agent refuses ---------------------------------------------------------------------------


@pytest.mark.parametrize("file_mode", [0o644, 0o604, 0o660, 0o666])
def test_a_file_others_may_read_or_its_group_may_change_is_refused(tmp_path: Path, file_mode: int) -> None:
    path = users_file(tmp_path, ("alice", Role.OPERATOR))
    os.chmod(path, file_mode)

    with pytest.raises(UserFileError, match=f"mode {file_mode:04o}"):
        store_of(path)


def test_a_group_readable_file_the_agent_owns_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = users_file(tmp_path, ("alice", Role.OPERATOR))
    os.chmod(path, 0o640)

    with caplog.at_level(logging.WARNING):
        store = store_of(path)

    assert store.authenticate_password("alice", PASSWORD) is not None
    assert "readable by its group" in caplog.text


def valid_entry() -> dict[str, object]:
    return {
        "name": "alice",
        "role": "Operator",
        "password_hash": str(PasswordHash.of(PASSWORD, CHEAP)),
        "certificates_sha256": [],
        "created": "2025-01-01T00:00:00+00:00",
        "changed": "2025-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "line 1 column 2: not valid JSON"),
        ('{"version": 2, "users": []}', "version 2"),
        ('{"version": 1}', '"version" and "users"'),
        ({**valid_entry(), "role": "Admin"}, "users[0]: role 'Admin' is not one of Observer, Operator"),
        ({**valid_entry(), "password_hash": "plain"}, "users[0]: password_hash is not a hash"),
        ({**valid_entry(), "password_hash": "scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaA"}, "scrypt cost"),
        ({**valid_entry(), "certificates_sha256": ["ab"]}, "users[0]: certificates_sha256"),
        ({**valid_entry(), "admin": True}, "users[0]: unknown key admin"),
        ({**valid_entry(), "name": "bell\x07"}, "users[0]: the user name"),
    ],
    ids=["not json", "version", "no users", "role", "hash", "cost", "thumbprint", "unknown key", "name"],
)
def test_a_file_that_is_not_a_valid_users_file_is_refused_with_the_reason(
    tmp_path: Path, content: str | dict[str, object], reason: str
) -> None:
    path = tmp_path / "users.json"
    text = content if isinstance(content, str) else json.dumps({"version": 1, "users": [content]})
    path.write_text(text)
    os.chmod(path, 0o600)

    with pytest.raises(UserFileError) as refused:
        store_of(path)

    assert str(refused.value).startswith(f"{path}: ")
    assert reason in str(refused.value)


def test_a_user_listed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"version": 1, "users": [valid_entry(), valid_entry()]}))
    os.chmod(path, 0o600)

    with pytest.raises(UserFileError, match="users\\[1\\]: the user 'alice' is listed twice"):
        store_of(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "users.json"

    with pytest.raises(UserFileError) as refused:
        store_of(path)

    assert str(refused.value) == f"{path}: the users file does not exist"


def test_the_password_hash_is_never_described(tmp_path: Path) -> None:
    account = UserFile(tmp_path / "users.json").add("alice", Role.OPERATOR, PASSWORD, cost=CHEAP)

    shown = json.dumps(account.describe()) + repr(account)

    assert "scrypt" not in shown
    assert str(account.password).split("$")[-1] not in shown
