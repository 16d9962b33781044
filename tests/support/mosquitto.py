"""A real MQTT broker for the Sparkplug tests: Debian's mosquitto on free loopback ports, with a site CA.

The certificates come from the project's own provisioning code (`edge-provision ca init`, `ca sign`,
`device init` and `enroll import` as functions), so that the agent connects with a PKI store laid out
exactly as on a device. One broker has two listeners: a plain one anyone may use, and a mutual-TLS one
that wants a client certificate of the site CA and takes its common name as the user name.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from edge_agent.identity import PkiLayout
from provisioning.ca import init_ca
from provisioning.ca_store import SiteCa
from provisioning.device import build_request, init_device
from provisioning.enroll import import_certificate
from provisioning.files import private_key_pem, write_private, write_public
from provisioning.issue import sign_request
from tests.support.ports import free_port

# Debian puts the broker in /usr/sbin, which a normal user's PATH often lacks.
MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
INSTALL_HINT = "mosquitto is not installed: `make mosquitto-tools` installs Debian's package"
BROKER_URI = "urn:edge-agent-tests:mqtt-broker"
AGENT_URI = "urn:edge-agent-tests:pump-skid-7"
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_ADDRESSES = (ipaddress.IPv4Address("127.0.0.1"),)
# Generous: a loaded CI machine may take long to start a process; a healthy one takes milliseconds.
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Credentials:
    """A certificate and its key as PEM files, the form mosquitto and OpenSSL read."""

    certificate: Path
    key: Path


def make_site_ca(directory: Path, name: str = "Test Site CA") -> SiteCa:
    """`edge-provision ca init` in ``directory``; its certificate is ``directory / "ca.pem"``."""
    return init_ca(directory, name=name, key_type="rsa2048")


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def issue_credentials(
    ca: SiteCa,
    directory: Path,
    *,
    common_name: str,
    application_uri: str,
    dns: tuple[str, ...] = (),
    ips: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = (),
) -> Credentials:
    """A key and a certificate of ``ca`` for it (`ca sign` on a request), written to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = _rsa_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issued = sign_request(ca, build_request(key, subject, application_uri, dns, ips))
    credentials = Credentials(directory / f"{common_name}.pem", directory / f"{common_name}.key.pem")
    write_public(credentials.certificate, issued.certificate.public_bytes(serialization.Encoding.PEM))
    write_private(credentials.key, private_key_pem(key))
    return credentials


def issue_broker_credentials(ca: SiteCa, directory: Path) -> Credentials:
    """The broker's certificate: names 127.0.0.1 and localhost, so a client checking the host accepts it."""
    return issue_credentials(
        ca,
        directory,
        common_name="mqtt-broker",
        application_uri=BROKER_URI,
        dns=LOOPBACK_NAMES,
        ips=LOOPBACK_ADDRESSES,
    )


def enroll_agent(ca: SiteCa, pki_root: Path, common_name: str = "pump-skid-7") -> PkiLayout:
    """A device PKI store enrolled offline with ``ca``: own/cert.der, private/key.pem, and the CA in
    trusted/certs, as `device init`, `ca sign` and `enroll import` leave it."""
    layout = PkiLayout(pki_root)
    pki_root.parent.mkdir(parents=True, exist_ok=True)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    request = init_device(
        layout,
        application_uri=AGENT_URI,
        subject=subject,
        csr_file=pki_root.parent / f"{common_name}.csr",
        key_size=2048,
    )
    issued = sign_request(ca, request.request)
    import_certificate(layout, [issued.certificate], ca=ca.certificate)
    return layout


@dataclass(frozen=True, slots=True)
class Site:
    """A site CA, the broker's credentials from it, and an agent's PKI store enrolled with it."""

    root: Path
    ca: SiteCa
    broker: Credentials
    agent_pki: PkiLayout

    @property
    def ca_file(self) -> Path:
        return self.ca.directory.certificate


def make_site(root: Path, name: str = "Test Site CA") -> Site:
    """A site in ``root``: ca/ (the CA directory), broker/ (its credentials) and agent/pki."""
    ca = make_site_ca(root / "ca", name)
    broker = issue_broker_credentials(ca, root / "broker")
    agent_pki = enroll_agent(ca, root / "agent" / "pki")
    return Site(root, ca, broker, agent_pki)


class Mosquitto:
    """mosquitto on two loopback ports of its own, run as the current user, configured in ``directory``.

    ``client_ca`` is the CA file client certificates must chain to on the TLS listener; ``server`` the
    certificate and key that listener presents. The ports stay the same across ``restart()``, as a broker
    that comes back after an outage does.
    """

    def __init__(self, directory: Path, *, client_ca: Path, server: Credentials) -> None:
        if MOSQUITTO is None:
            raise RuntimeError(INSTALL_HINT)
        self.executable = MOSQUITTO
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.plain_port = free_port()
        self.tls_port = free_port()
        self.log_file = directory / "mosquitto.log"
        # Messages from before the log file is open (a bad config line) go to stderr.
        self.stderr_file = directory / "mosquitto.stderr"
        self.config_file = directory / "mosquitto.conf"
        self.config_file.write_text(self._config(client_ca, server))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def plain_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.plain_port}"

    @property
    def tls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _config(self, client_ca: Path, server: Credentials) -> str:
        # As root, mosquitto would switch to the user `mosquitto`, who cannot read the test's 0700
        # tmp_path; naming the current user keeps it as it is. As anyone else the setting is ignored.
        user = pwd.getpwuid(os.geteuid()).pw_name
        return "\n".join(
            [
                f"user {user}",
                "per_listener_settings true",
                "persistence false",
                f"log_dest file {self.log_file}",
                "log_type all",
                "log_timestamp true",
                "log_timestamp_format %Y-%m-%dT%H:%M:%S",
                "connection_messages true",
                "",
                f"listener {self.plain_port} 127.0.0.1",
                "allow_anonymous true",
                "",
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {client_ca}",
                f"certfile {server.certificate}",
                f"keyfile {server.key}",
                "require_certificate true",
                "use_identity_as_username true",
                "",
            ]
        )

    def start(self) -> None:
        """Start the broker and return once both ports accept connections."""
        if self.running:
            raise RuntimeError("mosquitto is running already")
        with self.stderr_file.open("ab") as stderr:
            self._process = subprocess.Popen(
                [self.executable, "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self._wait_until_accepting()

    def _wait_until_accepting(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = {self.plain_port, self.tls_port}
        while waiting:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self._process.returncode}:\n{self._output()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"mosquitto did not listen within {START_TIMEOUT_S} s:\n{self._output()}")
            waiting = {port for port in waiting if not _accepts(port)}
            if waiting:
                time.sleep(0.02)

    def _output(self) -> str:
        return self.stderr_file.read_text(errors="replace") + self.log()

    def log(self) -> str:
        """What the broker has logged so far (every packet: log_type all)."""
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stop the broker as an administrator would (SIGTERM): clients see their connection closed."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """Kill the broker (SIGKILL), as a crash or a power cut would."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Stop the broker if it runs and start it again on the same ports."""
        self.stop()
        self.start()

    def _end(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


BrokerFactory = Callable[..., Mosquitto]
"""``start(client_ca=..., server=...)``: a started Mosquitto (the `start_broker` fixture)."""


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False
