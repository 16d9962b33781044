"""An installed agent carries what it needs: bundled models, their cards, the demo config, the commands,
and the service's unit, which `edge-provision image` seeds an image with as `install-service` writes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from edge_agent.service.install import SNIPPETS, UNIT

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "edge_agent/demo/demo.yaml"
DEMO_URI = "urn:example:edge-agent:pump-17"
ENROLL_UNIT = UNIT.with_name("edge-agent-enroll.service")
# Building, installing and running the installed commands take longer than a test's default allowance on a
# busy machine; the time says nothing about the code under test.
SLOW = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(directory), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = directory.glob("edge_agent-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh environment holding the wheel, and not the checkout.

    Its dependencies come from this environment's site-packages through a path file: a line of a path
    file is only added to sys.path, so this environment's editable install of the checkout (a path file
    itself) stays out.
    """
    environment = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True)
    python = environment / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site_packages = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site_packages / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    found = run(
        python, "-c", "import edge_agent, provisioning; print(edge_agent.__file__, provisioning.__file__)"
    )
    assert all(Path(module).is_relative_to(site_packages) for module in found.split()), found
    return python.parent


def run(program: Path, *args: str | Path, cwd: Path | None = None) -> str:
    """``program`` as a technician runs it: away from the checkout, which it must not import."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    result = subprocess.run(
        [str(program), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd or program.parent,
        env=environment,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def under(root: Path, path: Path) -> Path:
    return root / path.relative_to("/")


@pytest.fixture(scope="module")
def seeded(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image root seeded by the installed `edge-provision image` with a demo config and no --unit."""
    work = tmp_path_factory.mktemp("seeded")
    root = work / "rootfs"
    (root / "etc").mkdir(parents=True)
    config = shutil.copyfile(DEMO_CONFIG, work / "agent.yaml")
    run(
        installed / "edge-provision", "image", "--root", root, "--config", config,
        "--application-uri", DEMO_URI, "--dns", "pump17.plant3.acme.example", cwd=work,
    )  # fmt: skip
    return root


@SLOW
def test_the_wheel_carries_the_models_the_demo_config_and_the_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        commands = archive.read(entry_points).decode()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    for packaged in (
        "models/pump_anomaly.tflite",
        "models/pump_anomaly.card.yaml",
        "edge_agent/demo/demo.yaml",
        "edge_agent/opcua/ns0_keep_micro.json",
        "edge_agent/opcua/ns0_keep_standard.json",
        "edge_agent/opcua/ns0_items_micro.pickle",
        "edge_agent/__main__.py",
        "drivers/modbus/source.py",
    ):
        assert packaged in names, packaged
    assert not any(name.startswith("tests/") for name in names)
    assert "edge-agent = edge_agent.cli:main" in commands
    assert "edge-provision = provisioning.cli:main" in commands
    assert "Requires-Python: >=3.11" in metadata
    assert 'tflite-runtime<2.15,>=2.14; python_version < "3.12"' in metadata


@SLOW
def test_an_installed_image_gets_the_unit_and_snippets_install_service_writes(
    installed: Path, seeded: Path, tmp_path: Path
) -> None:
    service_root = tmp_path / "service-root"
    run(installed / "edge-agent", "install-service", "--root", service_root, cwd=tmp_path)

    for path in (UNIT, *(path for path, _ in SNIPPETS)):
        assert under(seeded, path).read_bytes() == under(service_root, path).read_bytes(), path
    unit = under(seeded, UNIT).read_text()
    assert f"ExecStart={installed / 'edge-agent'} run /etc/edge-agent/config.yaml" in unit.splitlines()
    enroll = under(seeded, ENROLL_UNIT).read_text()
    assert f"ExecStart={installed / 'edge-provision'} device first-boot" in enroll
    assert os.readlink(under(seeded, UNIT.parent / "multi-user.target.wants" / UNIT.name)) == str(UNIT)


@SLOW
def test_systemd_accepts_the_units_of_an_installed_image(seeded: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (make test installs it)")
    # verify checks that ExecStart's program exists: both name the installed environment's commands.
    result = subprocess.run(
        [analyze, "verify", under(seeded, UNIT), under(seeded, ENROLL_UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
