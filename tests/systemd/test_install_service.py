"""`edge-agent install-service --root DIR`: everything in place, once; nothing touched on a dry run."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from edge_agent.service.install import bundled

from .service import REPOSITORY


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", "install-service", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def tree(root: Path) -> dict[str, tuple[int, int, int, bytes | None]]:
    """Every path under ``root`` with its mode, owner, group and (for files) content."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if path.is_file() else None
        found[str(path.relative_to(root))] = (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, content)
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_root_gets_the_unit_snippets_config_and_directories(tmp_path: Path) -> None:
    result = install(tmp_path)
    assert result.returncode == 0, result.stderr
    unit = (tmp_path / "etc/systemd/system/edge-agent.service").read_text()
    assert "ExecStart=" in unit and "run /etc/edge-agent/config.yaml" in unit
    assert (tmp_path / "etc/sysusers.d/edge-agent.conf").read_bytes() == bundled("edge-agent.sysusers.conf")
    assert (tmp_path / "etc/tmpfiles.d/edge-agent.conf").read_bytes() == bundled("edge-agent.tmpfiles.conf")
    config = tmp_path / "etc/edge-agent/config.yaml"
    assert (config.read_bytes(), mode(config)) == (bundled("config.yaml"), 0o640)
    for path, expected in (
        ("etc/edge-agent", 0o755),
        ("var/lib/edge-agent", 0o750),
        ("var/lib/edge-agent/pki", 0o700),
        ("var/log/edge-agent", 0o750),
    ):
        assert mode(tmp_path / path) == expected, path


def test_the_installed_default_config_is_valid(tmp_path: Path) -> None:
    install(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "edge_agent", "check", str(tmp_path / "etc/edge-agent/config.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_unit_starts_this_installation_of_the_agent(tmp_path: Path) -> None:
    install(tmp_path)
    unit = (tmp_path / "etc/systemd/system/edge-agent.service").read_text()
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    program = exec_start.removeprefix("ExecStart=").split()[0]
    assert Path(program).parent == Path(sys.executable).parent
    assert os.access(program, os.X_OK)


def test_a_second_run_changes_nothing_and_says_so(tmp_path: Path) -> None:
    install(tmp_path)
    before = tree(tmp_path)
    result = install(tmp_path)
    assert result.returncode == 0, result.stderr
    assert tree(tmp_path) == before
    assert "nothing to change" in result.stdout


def test_a_dry_run_lists_every_action_and_changes_nothing(tmp_path: Path) -> None:
    result = install(tmp_path, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
    for path in (
        "etc/systemd/system/edge-agent.service",
        "etc/sysusers.d/edge-agent.conf",
        "etc/tmpfiles.d/edge-agent.conf",
        "etc/edge-agent/config.yaml",
        "var/lib/edge-agent/pki",
        "var/log/edge-agent",
    ):
        assert str(tmp_path / path) in result.stdout, path


def test_an_existing_config_is_never_overwritten(tmp_path: Path) -> None:
    config = tmp_path / "etc/edge-agent/config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("# the plant's own config\n")
    mine = tmp_path / "mine.yaml"
    mine.write_bytes(bundled("config.yaml"))
    result = install(tmp_path, "--config", str(mine))
    assert result.returncode == 0, result.stderr
    assert config.read_text() == "# the plant's own config\n"
    assert "never overwritten" in result.stdout


def test_a_given_config_is_installed_when_there_is_none(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(bundled("config.yaml").decode().replace("CHANGE-ME", "pump-17"))
    root = tmp_path / "root"
    result = install(root, "--config", str(mine))
    assert result.returncode == 0, result.stderr
    assert (root / "etc/edge-agent/config.yaml").read_bytes() == mine.read_bytes()


def test_an_invalid_config_is_refused_before_anything_is_installed(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(bundled("config.yaml").decode().replace("sources: []", "sources: 7"))
    root = tmp_path / "root"
    result = install(root, "--config", str(mine))
    assert result.returncode == 2
    assert "mine.yaml:" in result.stderr
    assert not root.exists()


def test_directories_belong_to_the_service_user_when_the_root_has_it(tmp_path: Path) -> None:
    # The user as systemd-sysusers would have made it (here with this test's own ids, which it may chown to).
    uid, gid = os.getuid(), os.getgid()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(f"edge-agent:x:{uid}:{gid}::/var/lib/edge-agent:/usr/sbin/nologin\n")
    (tmp_path / "etc/group").write_text(f"edge-agent:x:{gid}:\n")
    result = install(tmp_path)
    assert result.returncode == 0, result.stderr
    for path in ("var/lib/edge-agent", "var/lib/edge-agent/pki", "var/log/edge-agent"):
        found = (tmp_path / path).stat()
        assert (found.st_uid, found.st_gid) == (uid, gid), path
    assert (tmp_path / "etc/edge-agent/config.yaml").stat().st_gid == gid
    assert "nothing to change" in install(tmp_path).stdout


def test_the_wheel_carries_the_service_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(REPOSITORY)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("edge_agent-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for name in ("edge-agent.service", "edge-agent.sysusers.conf", "edge-agent.tmpfiles.conf", "config.yaml"):
        assert f"edge_agent/service/{name}" in names, name
