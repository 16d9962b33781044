"""`edge-provision user ...` as a technician runs it: users, roles and passwords in the agent's users file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from edge_agent.identity.users import Role, UserFile, UserStore

from .steps import mode, needs_openssl, openssl, provision, rsa_key

PASSWORD = "correct horse"
ASSET = "asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}\n"


def add(users: Path, name: str, role: str, password: str = PASSWORD, *extra: str | Path) -> None:
    result = provision(
        "user", "add", name, "--role", role, "--users", users, "--password-stdin", *extra, stdin=password
    )
    assert result.returncode == 0, result.stderr


def logs_in(users: Path, name: str, password: str) -> bool:
    return UserStore.load(users).authenticate_password(name, password) is not None


def listed(users: Path) -> list[dict[str, object]]:
    result = provision("--json", "user", "list", "--users", users)
    assert result.returncode == 0, result.stderr
    found: list[dict[str, object]] = json.loads(result.stdout)["users"]
    return found


@pytest.fixture
def users(tmp_path: Path) -> Path:
    return tmp_path / "users.json"


def test_an_added_user_logs_in_with_the_password_and_role_given(users: Path) -> None:
    add(users, "alice", "Operator", PASSWORD + "\n")

    account = UserFile.read(users).get("alice")

    assert account is not None
    assert account.role is Role.OPERATOR
    assert logs_in(users, "alice", PASSWORD)
    assert mode(users) == 0o600


def test_list_shows_names_roles_and_certificates_never_hashes(users: Path) -> None:
    add(users, "alice", "Operator")
    add(users, "bob", "Observer")

    text = provision("user", "list", "--users", users)
    found = listed(users)

    assert [(user["name"], user["role"]) for user in found] == [("alice", "Operator"), ("bob", "Observer")]
    assert all(user["certificates_sha256"] == [] for user in found)
    assert "alice" in text.stdout and "Observer" in text.stdout
    assert "scrypt" not in text.stdout + json.dumps(found)


def test_adding_an_existing_user_is_refused_unless_forced(users: Path) -> None:
    add(users, "alice", "Operator")

    again = provision(
        "user",
        "add",
        "alice",
        "--role",
        "Engineer",
        "--users",
        users,
        "--password-stdin",
        stdin="other password",
    )
    forced = provision(
        "user",
        "add",
        "alice",
        "--role",
        "Engineer",
        "--users",
        users,
        "--password-stdin",
        "--force",
        stdin="other password",
    )

    assert again.returncode == 1
    assert "already" in again.stderr
    assert forced.returncode == 0, forced.stderr
    assert [user["role"] for user in listed(users)] == ["Engineer"]
    assert logs_in(users, "alice", "other password")


@pytest.mark.parametrize("password", ["", "\n", "seven77\n"], ids=["nothing", "empty line", "7 characters"])
def test_an_empty_or_short_password_is_a_usage_error_and_changes_nothing(users: Path, password: str) -> None:
    result = provision(
        "user", "add", "alice", "--role", "Operator", "--users", users, "--password-stdin", stdin=password
    )

    assert result.returncode == 2
    assert "password" in result.stderr
    assert not users.exists()


def test_without_a_terminal_a_password_must_be_given_another_way(users: Path) -> None:
    result = provision("user", "add", "alice", "--role", "Operator", "--users", users)

    assert result.returncode == 2
    assert "--password-stdin" in result.stderr


def test_a_password_file_holds_the_password_on_one_line(users: Path, tmp_path: Path) -> None:
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n")

    result = provision(
        "user", "add", "alice", "--role", "Operator", "--users", users, "--password-file", secret
    )

    assert result.returncode == 0, result.stderr
    assert logs_in(users, "alice", PASSWORD)


def test_passwd_replaces_the_password(users: Path) -> None:
    add(users, "alice", "Operator")

    result = provision("user", "passwd", "alice", "--users", users, "--password-stdin", stdin="new password")

    assert result.returncode == 0, result.stderr
    assert logs_in(users, "alice", "new password")
    assert not logs_in(users, "alice", PASSWORD)


def test_remove_takes_the_user_away(users: Path) -> None:
    add(users, "alice", "Operator")
    add(users, "bob", "Observer")

    result = provision("user", "remove", "alice", "--users", users)

    assert result.returncode == 0, result.stderr
    assert [user["name"] for user in listed(users)] == ["bob"]
    assert not logs_in(users, "alice", PASSWORD)


@pytest.mark.parametrize("action", [["passwd", "--password-stdin"], ["remove"]])
def test_changing_a_user_that_does_not_exist_is_refused(users: Path, action: list[str]) -> None:
    add(users, "alice", "Operator")
    before = users.read_bytes()

    result = provision("user", action[0], "mallory", "--users", users, *action[1:], stdin=PASSWORD)

    assert result.returncode == 1
    assert "no user 'mallory'" in result.stderr
    assert users.read_bytes() == before


def test_an_invalid_name_or_role_is_a_usage_error(users: Path) -> None:
    bad_name = provision(
        "user", "add", "a" * 65, "--role", "Operator", "--users", users, "--password-stdin", stdin=PASSWORD
    )
    bad_role = provision(
        "user", "add", "alice", "--role", "Admin", "--users", users, "--password-stdin", stdin=PASSWORD
    )

    assert (bad_name.returncode, bad_role.returncode) == (2, 2)
    assert not users.exists()


def test_the_config_names_the_users_file(tmp_path: Path) -> None:
    config = tmp_path / "site" / "config.yaml"
    config.parent.mkdir()
    config.write_text(ASSET + "opcua: {users: users.json}\n")

    result = provision(
        "user", "add", "alice", "--role", "Observer", "--config", config, "--password-stdin", stdin=PASSWORD
    )

    assert result.returncode == 0, result.stderr
    assert logs_in(tmp_path / "site" / "users.json", "alice", PASSWORD)


def test_a_config_without_a_users_file_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(ASSET)

    result = provision("user", "list", "--config", config)

    assert result.returncode == 2
    assert "opcua.users" in result.stderr


def test_listing_a_missing_file_names_it(users: Path) -> None:
    result = provision("user", "list", "--users", users)

    assert result.returncode == 2
    assert f"{users}: the users file does not exist" in result.stderr


def test_a_file_opened_up_to_others_is_0600_again_after_a_change(users: Path) -> None:
    add(users, "alice", "Operator")
    os.chmod(users, 0o644)

    add(users, "bob", "Observer")

    assert mode(users) == 0o600


@needs_openssl
def test_a_user_certificate_is_listed_by_its_sha256_fingerprint(users: Path, tmp_path: Path) -> None:
    certificate = tmp_path / "alice.pem"
    request = tmp_path / "alice.key"
    request.write_bytes(
        rsa_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    made = openssl(
        "req", "-new", "-x509", "-key", request, "-subj", "/CN=alice", "-days", "30", "-out", certificate
    )
    assert made.returncode == 0, made.stderr
    fingerprint = openssl("x509", "-in", certificate, "-noout", "-fingerprint", "-sha256").stdout

    add(users, "alice", "Engineer", PASSWORD, "--certificate", certificate)

    expected = fingerprint.strip().split("=", 1)[1].replace(":", "")
    assert [user["certificates_sha256"] for user in listed(users)] == [[expected]]
