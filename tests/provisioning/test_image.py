"""`image --root`: what a seeded root file system holds, and the device's first boot on it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from cryptography import x509

from edge_agent.config import BUNDLED_MODELS
from edge_agent.identity import PkiLayout
from edge_agent.service import install
from edge_agent.service.install import SNIPPETS, UNIT, bundled, exec_start_command, service_files
from provisioning.image import plan_image

from .steps import APP_URI, mode, provision, snapshot

CONFIG = f"""\
asset:
  id: urn:example:aas:pump-17
  global_asset_id: urn:example:asset:pump-17
  nameplate:
    manufacturer_name: ACME Pumpen GmbH
    product_designation: Centrifugal pump CP-200
    serial_number: "CP200-4711"
opcua:
  application_uri: {APP_URI}
  users: /etc/edge-agent/users.yaml
"""
MODEL_SECTIONS = """\
sources:
  - name: panel
    driver: gpio
    pin_factory: mock
    points:
      - { name: c1, kind: counter, pin: GPIO5 }
      - { name: c2, kind: counter, pin: GPIO6 }
      - { name: c3, kind: counter, pin: GPIO13 }
models:
  - name: pump
    file: pump.tflite
    inputs: { tags: [c1, c1_rate, c2, c2_rate, c3], window: 16 }
    outputs:
      - { name: pump_score, index: 0 }
"""
UNIT_TEXT = (
    b"[Unit]\nDescription=edge-agent\n\n[Service]\nExecStart=edge-agent run /etc/edge-agent/config.yaml\n"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root file system as a mounted Pi OS image has it, reduced to what matters here."""
    image = tmp_path / "rootfs"
    (image / "etc" / "systemd" / "system").mkdir(parents=True)
    return image


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    config, users, unit = tmp_path / "agent.yaml", tmp_path / "users.yaml", tmp_path / "edge-agent.service"
    config.write_text(CONFIG, encoding="utf-8")
    users.write_text("users: {}\n", encoding="utf-8")
    unit.write_bytes(UNIT_TEXT)
    return {"config": config, "users": users, "unit": unit}


def seed(root: Path, inputs: dict[str, Path], *extra: str) -> dict:
    result = provision(
        "--json", "image", "--root", root, "--config", inputs["config"], "--users", inputs["users"],
        "--application-uri", APP_URI, "--dns", "pump17.plant3.acme.example", "--unit", inputs["unit"], *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_image_gets_the_config_and_the_users_with_their_modes(
    root: Path, inputs: dict[str, Path]
) -> None:
    seed(root, inputs)

    assert (root / "etc/edge-agent/config.yaml").read_text(encoding="utf-8") == CONFIG
    assert mode(root / "etc/edge-agent/config.yaml") == 0o644
    assert (root / "etc/edge-agent/users.yaml").read_text(encoding="utf-8") == "users: {}\n"
    assert mode(root / "etc/edge-agent/users.yaml") == 0o600


def test_no_key_is_made_on_the_technicians_machine_only_the_first_boot_marker(
    root: Path, inputs: dict[str, Path]
) -> None:
    seed(root, inputs)

    marker = json.loads((root / "var/lib/edge-agent/enroll-on-first-boot").read_text())
    keys = [path for path in root.rglob("*") if path.is_file() and b"PRIVATE KEY" in path.read_bytes()]

    assert keys == []
    assert not (root / "var/lib/edge-agent/pki").exists()  # made on the device, by the agent's user
    assert marker == {
        "version": 1,
        "pki": "/var/lib/edge-agent/pki",
        "config": "/etc/edge-agent/config.yaml",
        "application_uri": APP_URI,
        "dns": ["pump17.plant3.acme.example"],
        "ip": [],
        "key_size": 2048,
    }


def test_the_agent_and_the_enrollment_units_are_installed_and_enabled(
    root: Path, inputs: dict[str, Path]
) -> None:
    seed(root, inputs)
    units = root / "etc/systemd/system"

    assert (units / "edge-agent.service").read_bytes() == UNIT_TEXT
    enroll = (units / "edge-agent-enroll.service").read_text()
    assert "ConditionPathExists=/var/lib/edge-agent/enroll-on-first-boot" in enroll
    assert "ExecStart=edge-provision device first-boot" in enroll
    assert "After=local-fs.target edge-agent-setup.service" in enroll
    setup = (units / "edge-agent-setup.service").read_text()
    assert "Before=edge-agent-enroll.service edge-agent.service" in setup
    assert "ExecStart=systemd-sysusers /etc/sysusers.d/edge-agent.conf\n" in setup
    assert "ExecStart=systemd-tmpfiles --create /etc/tmpfiles.d/edge-agent.conf\n" in setup
    names = ("edge-agent.service", "edge-agent-enroll.service", "edge-agent-setup.service")
    assert {name: os.readlink(units / "multi-user.target.wants" / name) for name in names} == {
        name: f"/etc/systemd/system/{name}" for name in names
    }


def test_the_enrollment_runs_as_the_agent_with_edge_provision_from_beside_it(
    root: Path, inputs: dict[str, Path]
) -> None:
    inputs["unit"].write_text(
        "[Service]\nExecStart=/opt/edge-agent/bin/edge-agent run /etc/edge-agent/config.yaml\n"
        "User=edge-agent\nGroup=edge-agent\nStateDirectory=edge-agent\nProtectSystem=strict\n",
        encoding="utf-8",
    )
    inputs["unit"].with_name("edge-agent.sysusers.conf").write_text("u edge-agent -\n", encoding="utf-8")

    seed(root, inputs)

    enroll = (root / "etc/systemd/system/edge-agent-enroll.service").read_text()
    service = enroll.split("[Service]\n")[1].split("\n\n")[0].splitlines()
    assert service == [
        "Type=oneshot",
        "ExecStart=/opt/edge-agent/bin/edge-provision device first-boot "
        "--marker /var/lib/edge-agent/enroll-on-first-boot",
        "User=edge-agent",
        "Group=edge-agent",
        "StateDirectory=edge-agent",
    ]
    assert (root / "etc/sysusers.d/edge-agent.conf").read_text() == "u edge-agent -\n"


def test_seeding_twice_leaves_the_same_tree(root: Path, inputs: dict[str, Path]) -> None:
    seed(root, inputs)
    first = snapshot(root)

    seed(root, inputs)

    assert snapshot(root) == first


def test_a_dry_run_lists_every_file_and_writes_nothing(root: Path, inputs: dict[str, Path]) -> None:
    result = provision(
        "image", "--root", root, "--config", inputs["config"], "--users", inputs["users"],
        "--application-uri", APP_URI, "--unit", inputs["unit"], "--dry-run",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert snapshot(root) == {}
    for path in (
        "/etc/edge-agent/config.yaml (644",
        "/etc/edge-agent/users.yaml (600",
        "/var/lib/edge-agent/enroll-on-first-boot",
        "multi-user.target.wants/edge-agent.service -> /etc/systemd/system/edge-agent.service",
    ):
        assert path in result.stdout


def test_the_config_signature_travels_with_the_config(root: Path, inputs: dict[str, Path]) -> None:
    signature = inputs["config"].with_name("agent.yaml.sig")
    signature.write_bytes(b"a detached signature")

    seed(root, inputs)

    assert (root / "etc/edge-agent/config.yaml.sig").read_bytes() == b"a detached signature"


def test_users_without_opcua_users_in_the_config_are_refused(root: Path, inputs: dict[str, Path]) -> None:
    inputs["config"].write_text(CONFIG.replace("  users: /etc/edge-agent/users.yaml\n", ""), encoding="utf-8")

    result = provision(
        "image", "--root", root, "--config", inputs["config"], "--users", inputs["users"],
        "--application-uri", APP_URI,
    )  # fmt: skip

    assert result.returncode == 2
    assert "names no opcua.users" in result.stderr
    assert snapshot(root) == {}


def test_a_root_that_is_no_root_file_system_is_refused(tmp_path: Path, inputs: dict[str, Path]) -> None:
    result = provision(
        "image", "--root", tmp_path / "empty", "--config", inputs["config"], "--application-uri", APP_URI
    )

    assert result.returncode == 2
    assert "is not a directory" in result.stderr


def test_first_boot_makes_the_key_and_request_on_the_device_once(root: Path, inputs: dict[str, Path]) -> None:
    seed(root, inputs)
    pki = PkiLayout(root / "var/lib/edge-agent/pki")
    marker = root / "var/lib/edge-agent/enroll-on-first-boot"

    booted = provision("--json", "device", "first-boot", "--root", root)
    again = provision("device", "first-boot", "--root", root)

    assert booted.returncode == 0, booted.stderr
    assert (mode(pki.private_dir), mode(pki.pending_private_key)) == (0o700, 0o600)
    request = x509.load_pem_x509_csr(pki.pending_request.read_bytes())
    names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == [APP_URI]
    assert names.get_values_for_type(x509.DNSName) == ["pump17.plant3.acme.example"]
    assert "ACME Pumpen GmbH" in request.subject.rfc4514_string()
    assert not marker.exists()
    assert again.returncode == 2 and "does not exist" in again.stderr


def test_seeding_an_image_that_has_an_identity_writes_no_first_boot_marker(
    root: Path, inputs: dict[str, Path]
) -> None:
    seed(root, inputs)
    booted = provision("device", "first-boot", "--root", root)
    assert booted.returncode == 0, booted.stderr

    seeded = seed(root, inputs)

    assert not (root / "var/lib/edge-agent/enroll-on-first-boot").exists()
    assert any("no first-boot enrollment" in note for note in seeded["notes"])


def test_models_beside_the_config_travel_with_their_signatures(root: Path, inputs: dict[str, Path]) -> None:
    directory = inputs["config"].parent
    shutil.copyfile(BUNDLED_MODELS / "pump_anomaly.tflite", directory / "pump.tflite")
    (directory / "pump.tflite.sig").write_bytes(b"a detached signature")
    inputs["config"].write_text(CONFIG + MODEL_SECTIONS, encoding="utf-8")

    seed(root, inputs)

    assert (root / "etc/edge-agent/pump.tflite").read_bytes() == (directory / "pump.tflite").read_bytes()
    assert (root / "etc/edge-agent/pump.tflite.sig").read_bytes() == b"a detached signature"


def under(root: Path, path: Path) -> Path:
    return root / path.relative_to("/")


def test_without_unit_the_image_gets_what_install_service_writes_for_this_installation(
    root: Path, inputs: dict[str, Path]
) -> None:
    result = provision(
        "--json", "image", "--root", root, "--config", inputs["config"], "--application-uri", APP_URI
    )

    assert result.returncode == 0, result.stderr
    for path, content in service_files(exec_start_command()).items():
        assert under(root, path).read_bytes() == content, path
    enroll = (root / "etc/systemd/system/edge-agent-enroll.service").read_text()
    assert f"ExecStart={Path(exec_start_command()[0]).with_name('edge-provision')} device" in enroll
    assert os.readlink(root / "etc/systemd/system/multi-user.target.wants/edge-agent.service") == str(UNIT)
    (note,) = json.loads(result.stdout)["notes"]
    assert f"starts {exec_start_command()[0]}" in note


def test_a_unit_without_snippets_beside_it_gets_the_bundled_ones(root: Path, inputs: dict[str, Path]) -> None:
    seed(root, inputs)

    assert under(root, UNIT).read_bytes() == UNIT_TEXT
    for path, name in SNIPPETS:
        assert under(root, path).read_bytes() == bundled(name), path


def test_an_installation_under_home_is_named_in_the_notes_as_one_the_service_cannot_start(
    root: Path, inputs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(install, "exec_start_command", lambda: ["/home/tech/venv/bin/edge-agent"])

    plan = plan_image(root, inputs["config"], application_uri=APP_URI)

    files = {str(step.device_path): step.data or b"" for step in plan.steps}
    unit = files["/etc/systemd/system/edge-agent.service"]
    enroll = files["/etc/systemd/system/edge-agent-enroll.service"]
    assert b"ExecStart=/home/tech/venv/bin/edge-agent run /etc/edge-agent/config.yaml\n" in unit
    assert b"ExecStart=/home/tech/venv/bin/edge-provision device first-boot" in enroll
    assert plan.notes == [
        "edge-agent.service starts /home/tech/venv/bin/edge-agent, as here: install edge-agent there on the "
        "device too; but not under /home, which the service cannot see (give --unit)"
    ]


def test_an_agent_run_as_a_python_module_is_enrolled_by_edge_provision_as_one(
    root: Path, inputs: dict[str, Path]
) -> None:
    inputs["unit"].write_text(
        "[Service]\nExecStart=/opt/edge-agent/bin/python3 -m edge_agent run /etc/edge-agent/config.yaml\n",
        encoding="utf-8",
    )

    seed(root, inputs)

    enroll = (root / "etc/systemd/system/edge-agent-enroll.service").read_text()
    assert "ExecStart=/opt/edge-agent/bin/python3 -m provisioning device first-boot --marker " in enroll


def test_agent_names_where_the_device_has_edge_agent_as_a_technicians_laptop_does_not(
    root: Path, inputs: dict[str, Path]
) -> None:
    result = provision(
        "--json", "image", "--root", root, "--config", inputs["config"], "--application-uri", APP_URI,
        "--agent", "/opt/edge-agent/bin/edge-agent",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    for path, content in service_files(["/opt/edge-agent/bin/edge-agent"]).items():
        assert under(root, path).read_bytes() == content, path
    enroll = (root / "etc/systemd/system/edge-agent-enroll.service").read_text()
    assert "ExecStart=/opt/edge-agent/bin/edge-provision device first-boot" in enroll
    assert json.loads(result.stdout)["notes"] == [
        "edge-agent.service starts /opt/edge-agent/bin/edge-agent: install edge-agent there on the device"
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--agent", "bin/edge-agent"], "give the absolute path of edge-agent on the device"),
        (["--agent", "/opt/edge-agent/bin/python3"], "give the absolute path of edge-agent on the device"),
        (["--agent", "/opt/edge-agent/bin/edge-agent", "--unit", "UNIT"], "give --agent or --unit, not both"),
    ],
)
def test_an_agent_path_that_cannot_be_used_is_refused(
    root: Path, inputs: dict[str, Path], extra: list[str], message: str
) -> None:
    extra = [str(inputs["unit"]) if word == "UNIT" else word for word in extra]
    result = provision(
        "image", "--root", root, "--config", inputs["config"], "--application-uri", APP_URI, *extra
    )

    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (root / "etc/edge-agent").exists()


def test_a_uri_other_than_the_one_the_agent_derives_from_its_asset_id_is_refused(
    root: Path, inputs: dict[str, Path]
) -> None:
    # Without opcua.application_uri the agent serves urn:edge-agent:<asset id>; a certificate enrolled for
    # another URI would be refused when it is imported, long after the image was flashed.
    inputs["config"].write_text(CONFIG.replace(f"  application_uri: {APP_URI}\n", ""), encoding="utf-8")

    refused = provision("image", "--root", root, "--config", inputs["config"], "--application-uri", APP_URI)
    derived = "urn:edge-agent:example:aas:pump-17"
    accepted = provision("image", "--root", root, "--config", inputs["config"], "--application-uri", derived)

    assert refused.returncode == 2
    assert f"('{derived}', derived from asset.id: set opcua.application_uri)" in refused.stderr
    assert accepted.returncode == 0, accepted.stderr
