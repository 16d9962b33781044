"""The service's files as systemd reads them: a clean unit, a low exposure, the user and directories."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from edge_agent.service.install import bundled, exec_start_command, render_unit
from provisioning.image import plan_image, write_image

from .service import SYSTEMD, UNIT

MAX_EXPOSURE = 2.0


def systemd_tool(name: str) -> str:
    """The path of a systemd tool; its absence fails the test (`make test` installs systemd)."""
    path = shutil.which(name)
    assert path is not None, f"{name} is missing: install systemd (make test does, with apt-get)"
    return path


def exposure(unit: Path) -> float:
    result = subprocess.run(
        [systemd_tool("systemd-analyze"), "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


def test_the_unit_exposes_little(tmp_path: Path) -> None:
    assert exposure(UNIT) <= MAX_EXPOSURE


def test_the_installed_unit_exposes_as_little(tmp_path: Path) -> None:
    installed = tmp_path / "edge-agent.service"
    installed.write_bytes(render_unit(exec_start_command()))
    assert exposure(installed) <= MAX_EXPOSURE


def test_the_installed_unit_verifies_clean(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: the repository's unit names /opt/edge-agent, so
    # it is checked as install-service writes it, pointing at this installation.
    installed = tmp_path / "edge-agent.service"
    installed.write_bytes(render_unit(exec_start_command()))
    result = subprocess.run(
        [systemd_tool("systemd-analyze"), "verify", str(installed)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_unit_is_a_notify_service_with_a_watchdog_and_a_reload() -> None:
    settings = dict(
        line.split("=", 1)
        for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert settings["Type"] == "notify"
    assert settings["NotifyAccess"] == "main"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert settings["Restart"] == "on-failure"
    assert settings["WatchdogSec"]
    assert settings["User"] == "edge-agent"


@pytest.mark.parametrize(
    "name", ["edge-agent.service", "edge-agent.sysusers.conf", "edge-agent.tmpfiles.conf", "config.yaml"]
)
def test_the_package_ships_the_repository_files_unchanged(name: str) -> None:
    assert bundled(name) == (SYSTEMD / name).read_bytes()


def test_sysusers_makes_the_user_a_member_of_gpio_dialout_and_spi(tmp_path: Path) -> None:
    (tmp_path / "etc/sysusers.d").mkdir(parents=True)
    shutil.copy(SYSTEMD / "edge-agent.sysusers.conf", tmp_path / "etc/sysusers.d/edge-agent.conf")
    subprocess.run([systemd_tool("systemd-sysusers"), f"--root={tmp_path}"], check=True, capture_output=True)
    passwd = (tmp_path / "etc/passwd").read_text()
    assert re.search(r"^edge-agent:x:\d+:\d+:[^:]*:/var/lib/edge-agent:\S*nologin$", passwd, re.MULTILINE)
    groups = {
        line.split(":")[0]: line.split(":")[3] for line in (tmp_path / "etc/group").read_text().splitlines()
    }
    for group in ("gpio", "dialout", "spi"):
        assert "edge-agent" in groups[group].split(","), group


def test_tmpfiles_makes_the_directories_private_to_the_agent(tmp_path: Path) -> None:
    for directory, snippet in (("sysusers.d", "sysusers"), ("tmpfiles.d", "tmpfiles")):
        (tmp_path / "etc" / directory).mkdir(parents=True)
        shutil.copy(SYSTEMD / f"edge-agent.{snippet}.conf", tmp_path / "etc" / directory / "edge-agent.conf")
    subprocess.run([systemd_tool("systemd-sysusers"), f"--root={tmp_path}"], check=True, capture_output=True)
    subprocess.run(
        [systemd_tool("systemd-tmpfiles"), "--create", f"--root={tmp_path}"], check=True, capture_output=True
    )
    uid = next(
        int(line.split(":")[2])
        for line in (tmp_path / "etc/passwd").read_text().splitlines()
        if line.startswith("edge-agent:")
    )
    for path, mode in (
        ("var/lib/edge-agent", 0o750),
        ("var/lib/edge-agent/pki", 0o700),
        ("var/log/edge-agent", 0o750),
    ):
        found = (tmp_path / path).stat()
        assert (stat.S_IMODE(found.st_mode), found.st_uid) == (mode, uid), path


def test_the_units_an_image_is_seeded_with_verify_clean(tmp_path: Path) -> None:
    # As `edge-provision image` writes them for this installation (so that their programs exist here).
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    config = tmp_path / "agent.yaml"
    config.write_bytes(bundled("config.yaml"))
    write_image(plan_image(root, config, application_uri="urn:edge-agent:example:aas:CHANGE-ME"))
    units = sorted((root / "etc/systemd/system").glob("*.service"))
    assert [unit.name for unit in units] == [
        "edge-agent-enroll.service",
        "edge-agent-setup.service",
        "edge-agent.service",
    ]

    result = subprocess.run(
        [systemd_tool("systemd-analyze"), "verify", *map(str, units)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
