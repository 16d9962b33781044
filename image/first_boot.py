"""The image path: `edge-provision image` seeds a root as a technician seeds an SD card, the root boots
(systemd in the container), the device makes its key on first boot, and the agent serves what a secure
client on this machine reads."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psutil
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography import x509

from edge_agent.identity import PkiLayout
from edge_agent.opcua import NAMESPACE_URI
from tests.support.opcua import ClientIdentity, make_client_identity
from tests.support.ports import free_port

from .container import Container, inside
from .emulation import CPUINFO_IN_ROOT, EMULATED_CPU
from .record import Outcome, Record

AGENT = "/opt/edge-agent/bin/edge-agent"
APPLICATION_URI = "urn:example:edge-agent:arm64-gateway"
HOSTNAME = "arm64-gateway"
USER, PASSWORD = "technician", "correct horse battery staple"
T = TypeVar("T")
# What edge-agent-setup.service and edge-agent-enroll.service run (provisioning/image.py writes them).
SETUP_COMMANDS = (
    ["systemd-sysusers", "/etc/sysusers.d/edge-agent.conf"],
    ["systemd-tmpfiles", "--create", "/etc/tmpfiles.d/edge-agent.conf"],
)
FIRST_BOOT_COMMAND = [
    "/opt/edge-agent/bin/edge-provision", "device", "first-boot",
    "--marker", "/var/lib/edge-agent/enroll-on-first-boot",
]  # fmt: skip
DEVICE_PKI = "var/lib/edge-agent/pki"
# qemu's user-mode emulation cannot do two things of the hardened unit: set up an IPC namespace (the
# namespace's file descriptor passed over a socket comes back as EIO) and PrivateUsers' user namespace
# (the USER step fails with EINVAL). Turned off in the emulated root only, by this drop-in; a Pi runs the
# unit as it is. (Under emulation the unit's seccomp filters are not enforced either: qemu does not install
# a guest's filters.)
EMULATION_DROP_IN = """\
# Written by `make arm64-check` for qemu user-mode emulation only: qemu cannot set these up.
[Service]
PrivateIPC=no
PrivateUsers=no
"""

# Every service of the booted system runs under qemu: systemd hands them this environment.
EMULATION_SYSTEM_CONF = f"""\
# Written by `make arm64-check` for qemu user-mode emulation only (image/emulation.py says why).
[Manager]
DefaultEnvironment=QEMU_CPU={EMULATED_CPU}
"""

# The emulated /proc/cpuinfo (image/emulation.py says why), mounted before anything else starts.
CPUINFO_MOUNT = """\
# Written by `make arm64-check` for qemu user-mode emulation only.
[Unit]
Description=qemu user-mode emulation: an arm64 /proc/cpuinfo
DefaultDependencies=no
Before=sysinit.target

[Mount]
What=/{cpuinfo}
Where=/proc/cpuinfo
Type=none
Options=bind,ro

[Install]
WantedBy=sysinit.target
"""

GATEWAY_CONFIG = """\
asset:
  id: urn:example:aas:arm64-gateway
  global_asset_id: urn:example:asset:arm64-gateway
  nameplate:
    manufacturer_name: ACME Pumpen GmbH
    product_designation: Centrifugal pump CP-200 (arm64 check)
    serial_number: "ARM64-0001"
opcua:
  endpoint: opc.tcp://127.0.0.1:{opcua_port}
  application_uri: {application_uri}
  users: /etc/edge-agent/users.json
sources:
  - name: pump_plc
    driver: modbus
    transport: tcp
    host: 127.0.0.1
    port: {modbus_port}
    unit: 1
    poll: 250ms
    points:
      - {{ name: motor_temperature, kind: input, address: 0, type: float32, unit: degC }}
      - {{ name: vibration_rms, kind: input, address: 2, type: uint16, scale: 0.01, unit: mm/s }}
      - {{ name: discharge_pressure, kind: input, address: 3, type: uint16, scale: 0.01, unit: bar }}
      - {{ name: flow_rate, kind: input, address: 4, type: uint16, scale: 0.1, unit: m3/h }}
      - {{ name: motor_speed, kind: input, address: 5, type: uint16, unit: rpm }}
models:
  - name: pump_health
    file: pump_anomaly.tflite
    every: 250ms
    inputs:
      tags: [motor_temperature, vibration_rms, discharge_pressure, flow_rate, motor_speed]
      window: 16
    outputs:
      - {{ name: anomaly_score, index: 0 }}
"""


@dataclass
class Gateway:
    """What the technician brings: the device's config, its users, and a client that will read it."""

    config: Path
    users: Path
    client: ClientIdentity
    opcua_port: int
    modbus_port: int

    @property
    def url(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.opcua_port}"


def prepare(work: Path, record: Record) -> Gateway:
    work.mkdir(parents=True, exist_ok=True)
    opcua_port, modbus_port = free_port(), free_port()
    config = work / "config.yaml"
    config.write_text(
        GATEWAY_CONFIG.format(opcua_port=opcua_port, modbus_port=modbus_port, application_uri=APPLICATION_URI)
    )
    users, password = work / "users.json", work / "password"
    users.unlink(missing_ok=True)
    password.write_text(PASSWORD)
    record.run(
        [*_provision(), "user", "add", "--users", str(users), USER, "--role", "Operator",
         "--password-file", str(password)],
        log_name="image-seed",
    )  # fmt: skip
    client = make_client_identity(work / "client", "arm64-check-client", "urn:example:arm64-check:client")
    return Gateway(config, users, client, opcua_port, modbus_port)


def seed(root: Path, gateway: Gateway, record: Record) -> str:
    """`edge-provision image` into ``root``, as onto a mounted SD card; returns its notes."""
    output = record.run(
        [*_provision(), "--json", "image", "--root", str(root), "--config", str(gateway.config),
         "--users", str(gateway.users), "--application-uri", APPLICATION_URI, "--agent", AGENT],
        log_name="image-seed",
    )  # fmt: skip
    result = json.loads(output)
    (root / "etc/hostname").write_text(HOSTNAME + "\n")
    drop_in = root / "etc/systemd/system/edge-agent.service.d/qemu-user-emulation.conf"
    drop_in.parent.mkdir(parents=True, exist_ok=True)
    drop_in.write_text(EMULATION_DROP_IN)
    system_conf = root / "etc/systemd/system.conf.d/qemu-user-emulation.conf"
    system_conf.parent.mkdir(parents=True, exist_ok=True)
    system_conf.write_text(EMULATION_SYSTEM_CONF)
    mount = root / "etc/systemd/system/proc-cpuinfo.mount"
    mount.write_text(CPUINFO_MOUNT.format(cpuinfo=CPUINFO_IN_ROOT))
    wants = root / "etc/systemd/system/sysinit.target.wants/proc-cpuinfo.mount"
    wants.parent.mkdir(parents=True, exist_ok=True)
    wants.unlink(missing_ok=True)
    wants.symlink_to("/etc/systemd/system/proc-cpuinfo.mount")
    return f"{len(result['files'])} files written"


def boot_and_serve(
    root: Path, gateway: Gateway, record: Record, outcome: Outcome, timeout: float
) -> dict[str, float]:
    """Boot ``root``; times (s from boot) of the first-boot key, the agent serving, and a secure read."""
    layout = PkiLayout(root / DEVICE_PKI)
    marker = root / "var/lib/edge-agent/enroll-on-first-boot"
    times: dict[str, float] = {}
    with _simulated_pump(gateway, record), record.log_file("image-boot").open("wb") as console:
        started = time.monotonic()
        booted = Container(root).boot(console)
        try:
            init_pid = _wait(lambda: _init_pid(booted.pid), timeout, "the container's init to start")
            _wait(
                lambda: not marker.exists() and layout.pending_request.exists(), timeout, "the first-boot key"
            )
            times["key made"] = time.monotonic() - started
            key_note, uri, reading = _check_serving(
                root, gateway, record, started=started, times=times, timeout=timeout
            )
            status = inside(init_pid, ["systemctl", "show", "--property=StatusText", "--value", "edge-agent"])
            outcome.detail = (
                f"{key_note}; serves a certificate for {uri}; "
                f'status "{status.stdout.strip()}"; as {USER} over SignAndEncrypt: {reading}'
            )
            stopping = time.monotonic()
            inside(init_pid, ["systemctl", "poweroff"])
            booted.wait(timeout)
            times["power off"] = time.monotonic() - stopping
        finally:
            if booted.poll() is None:
                booted.kill()
                booted.wait()
    return times


def run_units_by_hand(
    root: Path, gateway: Gateway, record: Record, outcome: Outcome, timeout: float
) -> dict[str, float]:
    """For a system whose systemd cannot run under the emulation: what its units would run, in order, as they
    would run it (edge-agent-setup's commands as root, the enrollment's and the agent's as the agent's user
    with the unit's umask); then the same checks as after a boot. Times in s from the start."""
    container = Container(root)
    as_agent = ["setpriv", "--reuid=edge-agent", "--regid=edge-agent", "--init-groups", "--"]
    with_umask = ["sh", "-c", 'umask 077 && exec "$@"', "sh"]
    times: dict[str, float] = {}
    started = time.monotonic()
    with _simulated_pump(gateway, record):
        for command in SETUP_COMMANDS:
            record.run(container.command(command), log_name="image-by-hand")
        record.run(
            container.command([*with_umask, *as_agent, *FIRST_BOOT_COMMAND]),
            log_name="image-by-hand",
        )
        times["key made"] = time.monotonic() - started
        with record.log_file("image-agent").open("wb") as log:
            agent = subprocess.Popen(
                container.command(
                    [*with_umask, *as_agent, AGENT, "run", "/etc/edge-agent/config.yaml"],
                    kill_signal="SIGTERM",
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                key_note, uri, reading = _check_serving(
                    root, gateway, record, started=started, times=times, timeout=timeout
                )
            finally:
                stopping = time.monotonic()
                agent.terminate()
                agent.wait(60)
                times["stopped"] = time.monotonic() - stopping
        outcome.detail = (
            f"the units' commands run by hand; {key_note}; serves a certificate for {uri}; as {USER} over "
            f"SignAndEncrypt: {reading}; exit {agent.returncode}"
        )
    if agent.returncode != 0:
        raise RuntimeError(
            f"the agent exited {agent.returncode} when stopped; see {record.log_file('image-agent')}"
        )
    return times


def _check_serving(
    root: Path, gateway: Gateway, record: Record, *, started: float, times: dict[str, float], timeout: float
) -> tuple[str, str, str]:
    """The first-boot key, the served certificate, and a secure read by a client the technician trusts."""
    layout = PkiLayout(root / DEVICE_PKI)
    key_note = _key_ownership(root, layout)
    certificate = asyncio.run(_wait_for_endpoints(gateway.url, timeout))
    times["agent serving"] = time.monotonic() - started
    record.run(
        [*_provision(), "trust", "add", "--pki", str(layout.root), str(gateway.client.certificate_path)],
        log_name="image-trust",
    )
    reading = asyncio.run(_secure_read(gateway, timeout))
    times["secure read"] = time.monotonic() - started
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    (uri,) = names.get_values_for_type(x509.UniformResourceIdentifier)
    if uri != APPLICATION_URI:
        raise RuntimeError(f"the agent serves a certificate for {uri}, not {APPLICATION_URI}")
    return key_note, uri, reading


@contextmanager
def _simulated_pump(gateway: Gateway, record: Record) -> Iterator[None]:
    """The pump the gateway's config polls, a Modbus TCP device on this machine, while the block runs."""
    with record.log_file("image-simulator").open("w") as log:
        simulator = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.simulator", "--port", str(gateway.modbus_port), "--seed", "5"],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            yield
        finally:
            simulator.terminate()
            simulator.wait()


def _provision() -> list[str]:
    return [sys.executable, "-m", "provisioning"]


def _init_pid(nspawn_pid: int) -> int | None:
    """The container's PID 1 (qemu running systemd), once nspawn has started it."""
    try:
        children = psutil.Process(nspawn_pid).children()
    except psutil.NoSuchProcess:
        raise RuntimeError("systemd-nspawn exited before the container booted") from None
    return children[0].pid if children else None


def _wait(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.5)
    raise RuntimeError(f"waited {timeout:.0f} s for {what}")


def _key_ownership(root: Path, layout: PkiLayout) -> str:
    users = {
        line.split(":")[0]: int(line.split(":")[2]) for line in (root / "etc/passwd").read_text().splitlines()
    }
    key = next(path for path in (layout.pending_private_key, layout.private_key) if path.exists())
    stat = key.stat()
    if stat.st_uid != users.get("edge-agent") or stat.st_mode & 0o777 != 0o600:
        raise RuntimeError(f"{key} is {stat.st_mode & 0o777:o}, uid {stat.st_uid}: not 0600 and the agent's")
    request = x509.load_pem_x509_csr(layout.pending_request.read_bytes())
    names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if names.get_values_for_type(x509.UniformResourceIdentifier) != [APPLICATION_URI]:
        raise RuntimeError(f"{layout.pending_request} does not ask for {APPLICATION_URI}")
    return f"key {key.name} made on the device, 0600, user edge-agent; its request for {APPLICATION_URI}"


async def _wait_for_endpoints(url: str, within: float) -> x509.Certificate:
    deadline = time.monotonic() + within
    while True:
        try:
            endpoints = await Client(url, timeout=10).connect_and_get_server_endpoints()
            return x509.load_der_x509_certificate(endpoints[0].ServerCertificate)
        except (TimeoutError, OSError, ua.UaError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the agent did not answer on {url} within {within:.0f} s") from None
            await asyncio.sleep(1)


async def _secure_read(gateway: Gateway, within: float) -> str:
    identity = gateway.client
    client = Client(gateway.url, timeout=30)
    client.application_uri = identity.application_uri
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(identity.certificate_path),
        str(identity.key_path),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    client.set_user(USER)
    client.set_password(PASSWORD)
    deadline = time.monotonic() + within
    async with client:
        namespace = await client.get_namespace_index(NAMESPACE_URI)
        nodes = [client.get_node(ua.NodeId(tag, namespace)) for tag in ("motor_temperature", "anomaly_score")]
        while True:
            temperature, score = await client.read_attributes(nodes, ua.AttributeIds.Value)
            if temperature.StatusCode.is_good() and score.StatusCode.is_good():
                return (
                    f"motor_temperature {temperature.Value.Value:.1f} degC, "
                    f"anomaly_score {score.Value.Value:.3f}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"not Good within {within:.0f} s: motor_temperature {temperature.StatusCode.name}, "
                    f"anomaly_score {score.StatusCode.name}"
                )
            await asyncio.sleep(1)
