"""`user add|passwd|remove|list`: the people who may log in to the agent, and their roles.

The agent follows its users file: a change counts from the next login, without a restart.
Passwords come from a file, from standard input or, on a terminal, from a prompt (asked twice);
never from the command line, where every local user could read them in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from edge_agent.identity.users import (
    MIN_PASSWORD_LENGTH,
    InvalidUserName,
    Role,
    UserAccount,
    UserError,
    UserFile,
    UserFileError,
    WeakPassword,
    check_password,
    check_user_name,
)

from ..errors import InputError, ProvisioningError
from ..files import load_certificates, read_input
from ..output import Reporter
from .result import Result, Subcommands
from .shared import add_command, add_group


def register(groups: Subcommands, common: list[argparse.ArgumentParser]) -> None:
    """Add the `user` group."""
    where = argparse.ArgumentParser(add_help=False)
    source = where.add_mutually_exclusive_group(required=True)
    source.add_argument("--users", type=Path, metavar="FILE", help="the users file (opcua.users)")
    source.add_argument("--config", type=Path, help="the agent's config: its opcua.users names the file")
    password = argparse.ArgumentParser(add_help=False)
    given = password.add_mutually_exclusive_group()
    given.add_argument("--password-file", type=Path, metavar="FILE", help="read the password from FILE")
    given.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    user_group = add_group(groups, "user", "users and their roles")
    add = add_command(
        user_group,
        "add",
        user_add,
        [*common, where, password],
        "add a user (the password is asked twice on a terminal)",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=list(Role), help="an OPC UA Part 18 role")
    add.add_argument(
        "--certificate",
        action="append",
        default=[],
        type=Path,
        metavar="CERT_FILE",
        help="a user certificate (PEM or DER) that logs in as this user; repeatable",
    )
    add.add_argument(
        "--force", action="store_true", help="replace the user's role, password and certificates"
    )

    passwd = add_command(user_group, "passwd", user_passwd, [*common, where, password], "set a new password")
    passwd.add_argument("name", metavar="NAME")

    remove = add_command(user_group, "remove", user_remove, [*common, where], "remove a user")
    remove.add_argument("name", metavar="NAME")

    add_command(user_group, "list", user_list, [*common, where], "the users, their roles and certificates")


def user_add(args: argparse.Namespace, reporter: Reporter) -> Result:
    users = _open(args, missing_ok=True)
    name = _checked(check_user_name, args.name)
    exists = users.get(name) is not None
    if exists and not args.force:
        raise ProvisioningError(
            f"there is a user {name!r} already: --force replaces it, `user passwd` sets a new password"
        )
    certificates = [_certificate_der(path) for path in args.certificate]
    if exists and not reporter.confirm(f"Replace the user {name!r}?"):
        raise ProvisioningError("stopped; nothing changed")
    password = _password(args, name)
    account = _checked(
        users.add, name, Role(args.role), password, certificates_der=certificates, replace_existing=True
    )
    done = "replaced" if exists else "added"
    message = f"{done} the user {name!r} ({account.role}) in {users.path}; it counts from the next login"
    return _saved(users, account, message)


def user_passwd(args: argparse.Namespace, reporter: Reporter) -> Result:
    users = _open(args)
    name = _existing(users, args.name)
    account = _checked(users.set_password, name, _password(args, name))
    return _saved(
        users, account, f"set a new password for {name!r} in {users.path}; it counts from the next login"
    )


def user_remove(args: argparse.Namespace, reporter: Reporter) -> Result:
    users = _open(args)
    name = _existing(users, args.name)
    if not reporter.confirm(f"Remove the user {name!r}?"):
        raise ProvisioningError("stopped; nothing changed")
    account = users.remove(name)
    message = (
        f"removed the user {name!r} from {users.path}: no new login as {name!r}; "
        "sessions already open last until they close"
    )
    return _saved(users, account, message)


def user_list(args: argparse.Namespace, reporter: Reporter) -> Result:
    users = _open(args)
    accounts = users.users()
    counted = f"{len(accounts)} user{'s' * (len(accounts) != 1)}"
    if args.json:
        return counted, {
            "users_file": str(users.path),
            "users": [account.describe() for account in accounts],
        }
    lines = [f"{counted} in {users.path}"]
    width = max((len(account.name) for account in accounts), default=0)
    for account in accounts:
        line = f"  {account.name:<{width}}  {account.role:<13}  changed {account.changed:%Y-%m-%d %H:%M %Z}"
        lines.append(line)
        lines += [f"    certificate SHA-256 {thumbprint}" for thumbprint in account.certificates_sha256]
    return "\n".join(lines), {}


def users_file(args: argparse.Namespace) -> Path:
    """The users file: --users, or the opcua.users of --config."""
    if args.users is not None:
        return Path(args.users)
    from edge_agent.agent_config import load_config
    from edge_agent.config import ConfigError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    if config.opcua.users is None:
        raise InputError(f"{args.config} names no users file: set opcua.users, or give --users FILE")
    return Path(config.opcua.users)


def _open(args: argparse.Namespace, *, missing_ok: bool = False) -> UserFile:
    path = users_file(args)
    if missing_ok and not path.exists():
        return UserFile(path)
    try:
        # The agent refuses a file others may read; written back, it is 0600 again.
        return UserFile.read(path, strict_mode=False)
    except UserFileError as exc:
        raise InputError(str(exc)) from None


def _saved(users: UserFile, account: UserAccount, message: str) -> Result:
    """Write ``users`` back; the result of the change to ``account``."""
    try:
        users.write()
    except UserFileError as exc:
        raise InputError(str(exc)) from None
    return message, {"users_file": str(users.path), "user": account.describe()}


def _existing(users: UserFile, name: str) -> str:
    account = users.get(name)
    if account is None:
        raise ProvisioningError(f"there is no user {name!r} in {users.path}")
    return account.name


def _checked(action: Any, *args: Any, **kwargs: Any) -> Any:
    """``action(...)``, its refusals turned into the exit codes a script sees."""
    try:
        return action(*args, **kwargs)
    except (InvalidUserName, WeakPassword) as exc:
        raise InputError(str(exc)) from None
    except UserError as exc:  # a user that exists, or does not; a certificate that is someone else's
        raise ProvisioningError(str(exc)) from None


def _certificate_der(path: Path) -> bytes:
    return load_certificates(path, "user certificate")[0].public_bytes(serialization.Encoding.DER)


def _password(args: argparse.Namespace, name: str) -> str:
    if args.password_file is not None:
        password = _one_line(read_input(args.password_file, "password file"), str(args.password_file))
    elif args.password_stdin:
        password = _one_line(sys.stdin.buffer.read(), "standard input")
    elif sys.stdin.isatty():
        return _prompt(name)
    else:
        raise InputError("no password: give --password-file FILE or --password-stdin (no terminal to ask on)")
    _checked(check_password, password)
    return password


def _one_line(data: bytes, where: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"the password in {where} is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if "\n" in text or "\r" in text:
        raise InputError(f"{where} holds more than one line: the password is one line")
    if not text:
        raise InputError(f"{where} holds no password (at least {MIN_PASSWORD_LENGTH} characters)")
    return text


def _prompt(name: str) -> str:
    password = getpass.getpass(f"Password for {name}: ")
    _checked(check_password, password)
    if getpass.getpass("The same password again: ") != password:
        raise InputError("the two passwords differ; nothing changed")
    return password
