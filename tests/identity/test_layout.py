"""The PKI directory store on disk."""

from __future__ import annotations

import stat
from pathlib import Path

from edge_agent.identity import PkiLayout


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_creates_the_directory_store(tmp_path: Path) -> None:
    layout = PkiLayout(tmp_path / "pki")

    layout.ensure()

    created = sorted(str(path.relative_to(layout.root)) for path in layout.root.rglob("*") if path.is_dir())
    assert created == [
        "issuers",
        "issuers/certs",
        "issuers/crl",
        "own",
        "private",
        "rejected",
        "trusted",
        "trusted/certs",
        "trusted/crl",
    ]


def test_private_directory_is_only_for_the_owner(tmp_path: Path) -> None:
    layout = PkiLayout(tmp_path / "pki")

    layout.ensure()

    assert mode(layout.private_dir) == 0o700


def test_private_directory_others_could_enter_is_tightened(tmp_path: Path) -> None:
    layout = PkiLayout(tmp_path / "pki")
    layout.private_dir.mkdir(parents=True)
    layout.private_dir.chmod(0o755)

    layout.ensure()

    assert mode(layout.private_dir) == 0o700
