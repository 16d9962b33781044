"""`image --root DIR`: seed a mounted Raspberry Pi OS root file system, and `device first-boot` on it.

What the image gets (paths as on the device; every run writes the same, so running it again is harmless):

    /etc/edge-agent/config.yaml        the config (0644), with config.yaml.sig if CONFIG has one
    /etc/edge-agent/<model files>      models the config finds beside itself, with their cards and .sig
    <opcua.users>                      the user file, if --users (0600)
    /var/lib/edge-agent/enroll-on-first-boot   the enrollment parameters (JSON): no key
    /etc/systemd/system/edge-agent-enroll.service   runs `edge-provision device first-boot` once
    /etc/systemd/system/edge-agent-setup.service    makes the agent's user and directories at boot
    /etc/systemd/system/edge-agent.service          the unit `edge-agent install-service` writes, or --unit
    /etc/sysusers.d, /etc/tmpfiles.d   the agent's user and directories (with --unit: those beside it, if any)
    ...multi-user.target.wants/        the links `systemctl enable` would make

No key is made here: a key made on the technician's machine would have existed outside the device. The
device makes its own on first boot (`device first-boot`, started by edge-agent-enroll.service while the
marker is there, as the agent's user) and leaves its CSR in <pki>/own/request.csr for the site CA, as
`device init` does; until the certificate is imported, the agent serves with a self-signed one. The PKI
directories are not made here either: made on the device, they belong to the agent's user.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from edge_agent.identity import PkiLayout
from edge_agent.identity.layout import PRIVATE_FILE_MODE, PUBLIC_FILE_MODE
from edge_agent.identity.signatures import signature_file
from edge_agent.service import install as service

from . import device
from .agent_config import load_agent_config
from .errors import InputError, ProvisioningError
from .files import read_input, write_private, write_public
from .names import dns_name, ip_address, uri
from .opcua_profile import RSA_KEY_SIZES
from .subject import device_subject

if TYPE_CHECKING:
    from edge_agent.agent_config import AgentConfig

DEVICE_CONFIG = PurePosixPath("/etc/edge-agent/config.yaml")
DEVICE_PKI = PurePosixPath("/var/lib/edge-agent/pki")
FIRST_BOOT_MARKER = PurePosixPath("/var/lib/edge-agent/enroll-on-first-boot")
AGENT_UNIT_PATH = PurePosixPath(service.UNIT)
UNIT_DIR = AGENT_UNIT_PATH.parent
WANTS_DIR = UNIT_DIR / "multi-user.target.wants"
AGENT_UNIT = AGENT_UNIT_PATH.name
ENROLL_UNIT = "edge-agent-enroll.service"
MARKER_VERSION = 1

# The enrollment runs as the agent does, so that the key it makes is the agent's from the start.
_SHARED_SETTINGS = ("User", "Group", "StateDirectory", "StateDirectoryMode", "UMask")

ENROLL_UNIT_TEXT = """\
[Unit]
Description=edge-agent: make this device's key and certificate request (first boot only)
ConditionPathExists={marker}
After=local-fs.target {setup_unit}
Before={agent_unit}

[Service]
Type=oneshot
ExecStart={command} device first-boot --marker {marker}
{settings}
[Install]
WantedBy=multi-user.target
"""

# The agent's user and files, made at every boot before the agent (and the enrollment) start: the user
# is not in the image, and systemd-sysusers.service runs at boot only when /etc needs an update
# (ConditionNeedsUpdate=/etc), which a flashed image's first boot need not be. It cannot be an
# ExecStartPre=+ of the units that run as that user: systemd looks the user up for every command.
SETUP_UNIT = "edge-agent-setup.service"
SETUP_UNIT_TEXT = """\
[Unit]
Description=edge-agent: the agent's user and directories (its sysusers.d and tmpfiles.d snippets)
After=local-fs.target systemd-sysusers.service systemd-tmpfiles-setup.service
Before={enroll_unit} {agent_unit}

[Service]
Type=oneshot
ExecStart=systemd-sysusers {sysusers}
ExecStart=systemd-tmpfiles --create {tmpfiles}

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True, slots=True)
class Step:
    """One thing the image gets: a file with its mode, or a symlink."""

    device_path: PurePosixPath
    what: str
    data: bytes | None = None
    mode: int = PUBLIC_FILE_MODE
    link_to: PurePosixPath | None = None

    def describe(self) -> str:
        if self.link_to is not None:
            return f"{self.device_path} -> {self.link_to} ({self.what})"
        return f"{self.device_path} ({self.mode:o}, {self.what})"


@dataclass(frozen=True, slots=True)
class ImagePlan:
    root: Path
    steps: list[Step]
    notes: list[str]


def plan_image(
    root: Path,
    config_file: Path,
    *,
    application_uri: str,
    users_file: Path | None = None,
    dns_names: list[str] | None = None,
    ip_addresses: list[str] | None = None,
    key_size: int = device.DEFAULT_KEY_SIZE,
    unit_file: Path | None = None,
    provision_command: str | None = None,
    agent: PurePosixPath | None = None,
) -> ImagePlan:
    """What ``image`` writes into ``root``; InputError for a root, config or option that cannot be used."""
    _check_root(root)
    application_uri = uri(application_uri)
    if key_size not in RSA_KEY_SIZES:
        raise InputError(f"--key-size must be one of {', '.join(map(str, RSA_KEY_SIZES))} (got {key_size})")
    dns = [dns_name(name) for name in dns_names or []]
    ips = [str(ip_address(text)) for text in ip_addresses or []]
    config = load_agent_config(config_file, application_uri)
    raw = _raw_opcua(config_file)
    steps = [Step(DEVICE_CONFIG, "the config", read_input(config_file, "config"))]
    notes: list[str] = []
    config_signature = signature_file(config_file)
    if config_signature.is_file():
        steps.append(Step(_sig(DEVICE_CONFIG), "the config's signature", config_signature.read_bytes()))
    steps += _model_steps(config, config_file)
    pki = DEVICE_PKI if raw.get("pki") is None else _device_path(raw["pki"])
    if users_file is not None:
        if raw.get("users") is None:
            raise InputError(
                f"{config_file} names no opcua.users, so the agent would not read {users_file}: add "
                "`users: /etc/edge-agent/users.json` under opcua"
            )
        users = _device_path(raw["users"])
        steps.append(
            Step(users, "the users and roles", read_input(users_file, "users file"), PRIVATE_FILE_MODE)
        )
    if agent is not None and unit_file is not None:
        raise InputError("give --agent or --unit, not both: --unit names the whole unit, ExecStart included")
    if agent is not None and (not agent.is_absolute() or agent.name != "edge-agent"):
        raise InputError(f"--agent {agent}: give the absolute path of edge-agent on the device")
    command = [str(agent)] if agent is not None else service.exec_start_command()
    if unit_file is None:
        notes.append(_installation_note(command, as_here=agent is None))
    agent_unit, snippets = _agent_files(unit_file, command)
    existing = device.what_force_replaces(PkiLayout(_under(root, pki)))
    if existing:
        notes.append(f"no first-boot enrollment: the image already has {' and '.join(existing)}")
    else:
        marker = {
            "version": MARKER_VERSION,
            "pki": str(pki),
            "config": str(DEVICE_CONFIG),
            "application_uri": application_uri,
            "dns": dns,
            "ip": ips,
            "key_size": key_size,
        }
        text = json.dumps(marker, indent=2) + "\n"
        steps.append(Step(FIRST_BOOT_MARKER, "what to enroll with at first boot", text.encode()))
        steps += _unit_steps(
            ENROLL_UNIT, _enroll_unit(agent_unit, provision_command), "makes the key at first boot"
        )
    setup = SETUP_UNIT_TEXT.format(
        enroll_unit=ENROLL_UNIT, agent_unit=AGENT_UNIT, sysusers=service.SYSUSERS, tmpfiles=service.TMPFILES
    )
    steps += _unit_steps(SETUP_UNIT, setup.encode(), "makes the agent's user and directories")
    steps += _unit_steps(AGENT_UNIT, agent_unit, "runs the agent")
    steps += [Step(path, f"{path.parent.name} for the agent", content) for path, content in snippets]
    return ImagePlan(root, steps, notes)


def write_image(plan: ImagePlan) -> None:
    for step in plan.steps:
        path = _under(plan.root, step.device_path)
        _make_parents(plan.root, path)
        if step.link_to is not None:
            _link(path, step.link_to)
            continue
        assert step.data is not None  # a step is a file or a link
        if step.mode == PRIVATE_FILE_MODE:
            write_private(path, step.data)
        else:
            write_public(path, step.data)


def _agent_files(
    unit_file: Path | None, command: list[str]
) -> tuple[bytes, list[tuple[PurePosixPath, bytes]]]:
    """The agent's unit and its sysusers.d and tmpfiles.d snippets, as `install-service` writes them for
    an installation started by ``command``; or the --unit file, with the snippets beside it where it has
    them, else the bundled ones (the agent's user and directories are needed whichever unit runs it)."""
    if unit_file is None:
        files = service.service_files(command)
        unit = files.pop(service.UNIT)
        return unit, [(PurePosixPath(path), content) for path, content in files.items()]
    found = []
    for path, name in service.SNIPPETS:
        beside = unit_file.with_name(name)
        content = read_input(beside, name) if beside.is_file() else service.bundled(name)
        found.append((PurePosixPath(path), content))
    return read_input(unit_file, "unit file"), found


def _installation_note(command: list[str], *, as_here: bool) -> str:
    """The device must have the agent where the unit (and the enrollment) start it."""
    if as_here:
        note = (
            f"{AGENT_UNIT} starts {shlex.join(command)}, as here: install edge-agent there on the device too"
        )
    else:
        note = f"{AGENT_UNIT} starts {shlex.join(command)}: install edge-agent there on the device"
    hidden = service.hidden_from_service(Path(command[0]))
    if hidden is not None:
        note += f"; but not under {hidden}, which the service cannot see (give --unit)"
    return note


def _enroll_unit(agent_unit: bytes, provision_command: str | None) -> bytes:
    """The first-boot unit: edge-provision from beside the agent's ExecStart, and the agent's user."""
    command, settings = None, []
    for line in agent_unit.decode("utf-8", "replace").splitlines():
        key, equals, value = line.strip().partition("=")
        if not equals:
            continue
        if key == "ExecStart" and command is None:
            command = _provision_command(value)
        elif key in _SHARED_SETTINGS:
            settings.append(f"{key}={value}")
    text = ENROLL_UNIT_TEXT.format(
        marker=FIRST_BOOT_MARKER,
        agent_unit=AGENT_UNIT,
        setup_unit=SETUP_UNIT,
        command=provision_command or command or "edge-provision",
        settings="".join(f"{setting}\n" for setting in settings),
    )
    return text.encode()


def _provision_command(exec_start: str) -> str | None:
    """edge-provision as the installation ``exec_start`` runs the agent from has it, if it says."""
    try:
        words = shlex.split(exec_start)
    except ValueError:
        return None
    if not words:
        return None
    program = PurePosixPath(words[0].lstrip("-@:+!"))
    if not program.is_absolute():
        return None
    if program.name == "edge-agent":
        return str(program.with_name("edge-provision"))
    # install-service's unit for an installation without the edge-agent script: its Python, as a module.
    if words[1:3] == ["-m", "edge_agent"]:
        return shlex.join([str(program), "-m", "provisioning"])
    return None


def _unit_steps(name: str, text: bytes, what: str) -> list[Step]:
    return [
        Step(UNIT_DIR / name, f"systemd unit that {what}", text),
        Step(WANTS_DIR / name, "enabled", link_to=UNIT_DIR / name),
    ]


def _model_steps(config: AgentConfig, config_file: Path) -> list[Step]:
    """The model files the config finds beside itself (bundled ones come with the agent), with their cards
    and signatures."""
    from edge_agent.config import BUNDLED_MODELS, resolve_model_file
    from edge_agent.config.model_files import card_path

    config_dir = config_file.absolute().parent
    steps = []
    for model in config.models:
        found = resolve_model_file(model, config_dir).absolute()
        if found.is_relative_to(BUNDLED_MODELS):
            continue
        if Path(model.file).is_absolute():
            target = PurePosixPath(model.file)
        elif found.is_relative_to(config_dir):
            target = DEVICE_CONFIG.parent / PurePosixPath(found.relative_to(config_dir).as_posix())
        else:
            raise InputError(f"model {model.name}: {found} is outside {config_dir}; give it an absolute path")
        for source, device_path, what in (
            (found, target, f"model {model.name}"),
            (card_path(found), target.with_name(card_path(found).name), f"card of {model.name}"),
        ):
            if not source.is_file():
                continue
            steps.append(Step(device_path, what, source.read_bytes()))
            if signature_file(source).is_file():
                steps.append(
                    Step(_sig(device_path), f"signature of the {what}", signature_file(source).read_bytes())
                )
    return steps


def _sig(path: PurePosixPath) -> PurePosixPath:
    return path.with_name(path.name + ".sig")


def _check_root(root: Path) -> None:
    if not root.is_dir():
        raise InputError(f"--root {root} is not a directory: mount the image's root file system there")
    if root.resolve() == Path("/"):
        raise InputError("--root / would seed this machine; give the mount point of the image's root")
    if not (root / "etc").is_dir():
        raise InputError(f"--root {root} holds no etc/: it does not look like a root file system")


def _raw_opcua(config_file: Path) -> dict[str, Any]:
    """The opcua section as written: its paths are resolved here as the device will resolve them."""
    data = YAML(typ="safe").load(read_input(config_file, "config").decode("utf-8"))
    opcua = data.get("opcua") if isinstance(data, dict) else None
    return opcua if isinstance(opcua, dict) else {}


def _device_path(value: Any) -> PurePosixPath:
    """A path of the config as the agent resolves it on the device: relative to the config's directory."""
    path = PurePosixPath(str(value))
    return path if path.is_absolute() else DEVICE_CONFIG.parent / path


def _under(root: Path, device_path: PurePosixPath) -> Path:
    return root / device_path.relative_to("/")


def _make_parents(root: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # An absolute symlink in the image (etc/foo -> /etc/bar) would lead to the technician's own files.
    if not path.parent.resolve().is_relative_to(root.resolve()):
        raise ProvisioningError(
            f"{path.parent} leads out of {root} (through a symlink); nothing more written"
        )


def _link(path: Path, target: PurePosixPath) -> None:
    if path.is_symlink() and os.readlink(path) == str(target):
        return
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    os.replace(temporary, path)


@dataclass(frozen=True, slots=True)
class FirstBoot:
    """What `device first-boot` did: nothing if the device has an identity already, else a request."""

    layout: PkiLayout
    existing: list[str]
    """The identity the device has already (as `device.what_force_replaces` tells it)."""
    made: device.DeviceRequest | None
    notes: list[str]


def first_boot(marker: Path, root: Path | None = None) -> FirstBoot:
    """Make the key and request the absolute path ``marker`` asks for, and remove it; the marker's paths are
    under ``root`` (default: /, this device)."""
    marker_path = marker if root is None else _under(root, PurePosixPath(str(marker)))
    parameters = _read_marker(marker_path)
    base = Path("/") if root is None else root
    layout = PkiLayout(_under(base, PurePosixPath(parameters["pki"])))
    existing = device.what_force_replaces(layout)
    if existing:
        marker_path.unlink(missing_ok=True)
        return FirstBoot(layout, existing, None, [])
    nameplate, notes = None, []
    config_file = _under(base, PurePosixPath(parameters["config"]))
    try:
        nameplate = load_agent_config(config_file, parameters["application_uri"]).asset.nameplate
    except InputError as exc:
        # The request is made all the same: its subject only names the machine, the CA checks the rest.
        notes.append(f"the subject names the host, not the nameplate: {exc}")
    hostname = socket.gethostname()
    dns = list(parameters["dns"])
    ips = [ip_address(text) for text in parameters["ip"]]
    if not dns and not ips:
        dns = [dns_name(hostname)]
    layout.ensure()
    made = device.init_device(
        layout,
        application_uri=parameters["application_uri"],
        subject=device_subject(nameplate, hostname),
        csr_file=layout.pending_request,
        dns_names=dns,
        ip_addresses=ips,
        key_size=parameters["key_size"],
    )
    marker_path.unlink(missing_ok=True)
    return FirstBoot(layout, [], made, notes)


def _read_marker(path: Path) -> dict[str, Any]:
    try:
        parameters: dict[str, Any] = json.loads(read_input(path, "first-boot marker"))
        if parameters.get("version") != MARKER_VERSION:
            raise ValueError(f"version {parameters.get('version')!r}, expected {MARKER_VERSION}")
        for key, kind in (("pki", str), ("config", str), ("application_uri", str), ("key_size", int)):
            if not isinstance(parameters.get(key), kind):
                raise ValueError(f"{key} is missing or not a {kind.__name__}")
        for key in ("dns", "ip"):
            if not isinstance(parameters.get(key), list):
                raise ValueError(f"{key} is missing or not a list")
    except (ValueError, AttributeError) as exc:
        raise InputError(
            f"{path} is not a first-boot marker written by `edge-provision image`: {exc}"
        ) from None
    return parameters
