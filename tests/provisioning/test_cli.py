"""The command as scripts use it: exit codes, --json, and the help that documents them."""

from __future__ import annotations

import json
from pathlib import Path

from .steps import CA_NAME, provision


def test_help_documents_the_exit_codes() -> None:
    result = provision("--help")

    assert result.returncode == 0
    for line in (
        "0  done",
        "1  the operation was refused",
        "2  usage or input error",
        "3  verification failed",
    ):
        assert line in result.stdout


def test_json_may_follow_the_subcommand(tmp_path: Path) -> None:
    result = provision(
        "ca", "init", "--dir", tmp_path / "ca", "--name", CA_NAME, "--key-type", "rsa2048", "--json"
    )

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert (outcome["ok"], outcome["command"], outcome["subject"]) == (True, "ca init", f"CN={CA_NAME}")


def test_a_failure_is_one_json_object_with_its_exit_code(tmp_path: Path) -> None:
    result = provision(
        "--json", "ca", "sign", "--dir", tmp_path / "no-ca", tmp_path / "x.csr", "-o", tmp_path / "x.pem"
    )

    assert result.returncode == 2
    outcome = json.loads(result.stdout)
    assert (outcome["ok"], outcome["exit_code"]) == (False, 2)
    assert "is no CA directory" in outcome["error"]


def test_an_unknown_option_is_a_usage_error() -> None:
    result = provision("ca", "init", "--dir", "ca", "--name", CA_NAME, "--key-type", "dsa1024")

    assert result.returncode == 2
    assert "invalid choice: 'dsa1024'" in result.stderr
